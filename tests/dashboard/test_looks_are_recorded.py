"""Every auditor look at a person's records, or at a staff member's activity, is itself a
ledger entry (audit.view) written before anything is shown, naming the viewer's actor
pseudonym, what was looked at and why; the resident sees it in the portal as a look-up."""

from __future__ import annotations

import pytest
from django.db import DatabaseError
from django.test import Client

from agencies.events import actor_pseudonym
from audit.entries import subject_pseudonym
from audit.models import LedgerEntry, LedgerIntake
from dashboard.services import privacy_officer_appoint
from portal.services import card_issue, enquiry_open
from tests.dashboard.conftest import client_for, integrate_and_index, views_written
from tests.portal.conftest import make_counter_clerk


def _subject(world) -> str:
    return subject_pseudonym(str(world.person.public_id))


def _intake(seq: int) -> int:
    return LedgerEntry.objects.get(seq=seq).intake_id


def test_an_entry_about_a_person_is_shown_only_for_a_stated_purpose(clients, traffic, world):
    seq = traffic.city[0]
    asked = clients.national.get(f"/audit/entries/{seq}/")
    assert asked.status_code == 200
    assert 'name="purpose"' in asked.content.decode()
    assert 'id="verify"' not in asked.content.decode()  # nothing of the entry yet
    assert clients.national.get(f"/audit/entries/{seq}/?purpose=curiosity").context["form"]
    assert views_written() == []
    shown = clients.national.get(f"/audit/entries/{seq}/?purpose=complaint")
    assert 'id="verify"' in shown.content.decode()
    [view] = views_written()
    assert view.subject == _subject(world)
    assert view.fields == {
        "actor": actor_pseudonym(clients.national.session_user),
        "view": "entry",
        "purpose": "complaint",
        "record": str(_intake(seq)),
    }


@pytest.fixture
def _session_users(clients, national, officer):
    clients.national.session_user = national
    clients.officer.session_user = officer


pytestmark = pytest.mark.usefixtures("_session_users")


def test_a_privacy_officers_look_names_their_organisation(clients, traffic, world):
    clients.officer.get(f"/audit/entries/{traffic.city[1]}/?purpose=enquiry")
    [view] = views_written()
    assert view.fields["organization"] == world.city.code
    assert view.fields["actor"].startswith("AU")


def test_a_privacy_officer_who_is_staff_is_named_by_their_staff_pseudonym(world, traffic):
    privacy_officer_appoint(actor=None, user=world.clerk.user, organization=world.city)
    client_for(world.clerk.user).get(f"/audit/entries/{traffic.city[0]}/?purpose=complaint")
    [view] = views_written()
    assert view.fields["actor"] == world.clerk.audit_pseudonym


def test_an_entry_about_nobody_needs_no_purpose_and_records_nothing(clients, traffic):
    about_nobody = LedgerEntry.objects.filter(intake__event_type="officer.appointed")[0].seq
    page = clients.national.get(f"/audit/entries/{about_nobody}/")
    assert 'id="verify"' in page.content.decode()
    assert views_written() == []


def test_a_search_by_subject_is_recorded_once_per_page_shown(clients, traffic, world):
    subject = _subject(world)
    refused = clients.national.get(f"/audit/entries/?subject={subject}")
    assert refused.context["page"] is None and views_written() == []
    clients.national.get(f"/audit/entries/?q={subject}&purpose=routine_audit")
    [view] = views_written()
    assert view.subject == subject
    assert view.fields == {
        "actor": actor_pseudonym(clients.national.session_user),
        "view": "subject_search",
        "purpose": "routine_audit",
    }


def test_staff_activity_is_recorded_with_the_staff_pseudonym(clients, traffic, world):
    pseudonym = world.clerk.audit_pseudonym
    clients.officer.get(f"/audit/staff/{pseudonym}/?purpose=complaint")
    clients.national.get(f"/audit/entries/?staff={pseudonym}&purpose=alert")
    by_officer, by_national = views_written(view="staff")
    assert by_officer.subject == "" and by_officer.fields["staff"] == pseudonym
    assert by_officer.fields["organization"] == world.city.code
    assert by_national.fields["purpose"] == "alert"


def test_reading_an_enquiry_is_a_look_at_the_residents_record(clients, traffic, world):
    enquiry = enquiry_open(
        person=world.person, intake_id=_intake(traffic.city[0]), question="誰が見たのですか"
    )
    integrate_and_index()
    page = clients.officer.get(f"/audit/enquiries/{enquiry.public_id}/")
    assert "誰が見たのですか" in page.content.decode()
    [view] = views_written(view="enquiry")
    assert view.subject == _subject(world)
    assert view.fields["purpose"] == "enquiry"
    assert view.fields["record"] == str(_intake(traffic.city[0]))


def test_an_export_of_a_persons_entries_needs_a_purpose_and_is_recorded(clients, traffic, world):
    subject = _subject(world)
    refused = clients.national.get(f"/audit/entries.csv?subject={subject}")
    assert refused.status_code == 400 and views_written() == []
    clients.national.get(f"/audit/entries.csv?subject={subject}&purpose=complaint")
    [view] = views_written(view="export")
    assert view.subject == subject and view.fields["purpose"] == "complaint"


def test_the_resident_sees_the_auditors_look_as_a_look_up(clients, traffic, world):
    clients.officer.get(f"/audit/entries/{traffic.city[0]}/?purpose=enquiry")
    card = card_issue(staff=make_counter_clerk(world), person=world.person, pin="1234")
    resident = Client()
    resident.post("/portal/login/", {"serial": card.serial, "pin": "1234"})
    look = LedgerIntake.objects.get(event_type="audit.view")
    page = resident.get("/portal/?tab=exchange").content.decode()
    row = page.split(f'data-intake="{look.pk}"')[1].split("</tr>")[0]
    assert "監査担当による閲覧" in row  # "Looked at by an auditor"
    assert "照会ではない閲覧" in row  # marked as a look, not an exchange
    record = resident.get(f"/portal/records/{look.pk}/")
    assert record.status_code == 200


def test_a_look_at_a_nondisclosure_entry_stays_as_hidden_as_the_entry(clients, traffic, world):
    clients.national.get(f"/audit/entries/{traffic.hidden}/?purpose=complaint")
    [view] = views_written()
    assert view.fields["nondisclosure"] is True
    card = card_issue(staff=make_counter_clerk(world), person=world.person, pin="1234")
    resident = Client()
    resident.post("/portal/login/", {"serial": card.serial, "pin": "1234"})
    look = LedgerIntake.objects.get(event_type="audit.view")
    assert f'data-intake="{look.pk}"' not in resident.get("/portal/").content.decode()
    assert resident.get(f"/portal/records/{look.pk}/").status_code == 404


def test_nothing_is_shown_when_the_ledger_cannot_record_the_look(
    clients, traffic, intake_refuses_inserts
):
    with pytest.raises(DatabaseError):
        clients.national.get(f"/audit/entries/{traffic.city[0]}/?purpose=complaint")


def test_the_proof_of_an_entry_about_a_person_needs_its_page_first(clients, traffic):
    seq = traffic.city[0]
    assert clients.national.get(f"/audit/entries/{seq}/proof.json").status_code == 403
    assert clients.national.get(f"/audit/entries/{seq}/receipt").status_code == 403
    clients.national.get(f"/audit/entries/{seq}/?purpose=complaint")
    assert clients.national.get(f"/audit/entries/{seq}/proof.json").status_code == 200
    assert clients.national.get(f"/audit/entries/{seq}/receipt").status_code == 200
