"""Who gets into the dashboard, and what each auditor may see: every route tried by an
anonymous visitor, a plain clerk, a resident's portal session, a privacy officer of another
organisation, without a CSRF token; and a privacy officer never learns of a 不開示 entry."""

from __future__ import annotations

import pytest
from django.test import Client

from audit.models import LedgerEntry, LedgerIntake
from dashboard.models import IdentityReveal, VerificationRun
from portal.models import Enquiry, EnquiryStatus
from portal.services import card_issue, enquiry_open
from tests.dashboard.conftest import client_for, views_written
from tests.portal.conftest import make_counter_clerk


@pytest.fixture
def targets(world, traffic):
    """One of everything a route can name: a city entry, an enquiry about it, a run."""
    intake = LedgerEntry.objects.get(seq=traffic.city[0]).intake_id
    enquiry = enquiry_open(person=world.person, intake_id=intake, question="なぜ照会されたのですか")
    run = VerificationRun.objects.create(requested_at=enquiry.created_at)
    return {
        "seq": traffic.city[0],
        "enquiry": enquiry.public_id,
        "run": run.pk,
        "staff": world.clerk.audit_pseudonym,
    }


GETS = [
    "/audit/",
    "/audit/entries/",
    "/audit/entries.csv",
    "/audit/entries/{seq}/?purpose=routine_audit",
    "/audit/entries/{seq}/proof.json",
    "/audit/entries/{seq}/receipt",
    "/audit/enquiries/",
    "/audit/enquiries/{enquiry}/",
    "/audit/integrity/",
    "/audit/integrity/runs/{run}/progress.json",
    "/audit/charts/",
    "/audit/staff/{staff}/?purpose=routine_audit",
]
POSTS = [
    ("/audit/enquiries/{enquiry}/", {"action": "reply", "answer": "回答"}),
    ("/audit/enquiries/{enquiry}/", {"action": "close"}),
    ("/audit/integrity/verify/", {}),
    ("/audit/staff/{staff}/reveal/", {"reason": "complaint", "note": "苦情の調査"}),
]


def _audit_entries() -> int:
    return LedgerIntake.objects.filter(event_type__startswith="audit.").count()


def _nothing_changed(targets) -> None:
    assert _audit_entries() == 0
    assert Enquiry.objects.get(public_id=targets["enquiry"]).status == EnquiryStatus.OPEN
    assert VerificationRun.objects.count() == 1
    assert not IdentityReveal.objects.exists()


def test_anonymous_visitors_are_sent_to_the_login(clients, targets):
    for path in GETS:
        response = clients.anonymous.get(path.format(**targets))
        assert response.status_code == 302, path
        assert response["Location"].startswith("/audit/login/?next="), path
    for path, data in POSTS:
        response = clients.anonymous.post(path.format(**targets), data)
        assert response.status_code == 302, path
    _nothing_changed(targets)


def test_a_plain_clerk_is_refused_everywhere(clients, targets):
    for path in GETS:
        assert clients.clerk.get(path.format(**targets)).status_code == 403, path
    for path, data in POSTS:
        assert clients.clerk.post(path.format(**targets), data).status_code == 403, path
    _nothing_changed(targets)


def test_a_residents_portal_session_is_no_auditor(world, targets):
    card = card_issue(staff=make_counter_clerk(world), person=world.person, pin="1234")
    resident = Client()
    assert (
        resident.post("/portal/login/", {"serial": card.serial, "pin": "1234"}).status_code == 302
    )
    for path in GETS:
        response = resident.get(path.format(**targets))
        assert response.status_code == 302 and "/audit/login/" in response["Location"], path
    for path, data in POSTS:
        assert resident.post(path.format(**targets), data).status_code == 302, path
    _nothing_changed(targets)


def test_a_user_whose_role_ended_is_out_at_once(clients, officer, world, targets):
    from dashboard.services import privacy_officer_end
    from detection.models import PrivacyOfficer

    assert clients.officer.get("/audit/").status_code == 200
    privacy_officer_end(actor=None, officer=PrivacyOfficer.objects.get(user=officer))
    assert clients.officer.get("/audit/").status_code == 403
    assert clients.officer.get(GETS[3].format(**targets)).status_code == 403


def test_every_post_needs_the_csrf_token(national, officer, targets):
    for user in (national, officer):
        client = Client(enforce_csrf_checks=True)
        client.force_login(user)
        for path, data in POSTS:
            assert client.post(path.format(**targets), data).status_code == 403, path
    _nothing_changed(targets)


def test_a_privacy_officer_of_another_organisation_sees_nothing_of_the_city(
    clients, targets, traffic
):
    other = clients.other
    listed = other.get("/audit/entries/").content.decode()
    assert f'data-seq="{traffic.neighbour}"' in listed  # their own organisation's entry
    for seq in (*traffic.city, traffic.hidden):
        assert f'data-seq="{seq}"' not in listed
        for suffix in ("?purpose=routine_audit", "proof.json", "receipt"):
            assert other.get(f"/audit/entries/{seq}/{suffix}").status_code == 404
    assert other.get(f"/audit/enquiries/{targets['enquiry']}/").status_code == 404
    assert f"{targets['enquiry']}" not in other.get("/audit/enquiries/").content.decode()
    for data in ({"action": "reply", "answer": "x"}, {"action": "close"}):
        assert other.post(f"/audit/enquiries/{targets['enquiry']}/", data).status_code == 404
    assert other.get(f"/audit/staff/{targets['staff']}/?purpose=routine_audit").status_code == 404
    reveal = other.post(
        f"/audit/staff/{targets['staff']}/reveal/", {"reason": "complaint", "note": "x"}
    )
    assert reveal.status_code == 403
    # A privacy officer may not run the full verification either (national auditors only).
    other.post("/audit/integrity/verify/")
    _nothing_changed(targets)
    # Their export holds their own organisation's entries only (and is itself recorded).
    csv = b"".join(other.get("/audit/entries.csv").streaming_content).decode()
    exported = {int(line.split(",")[0]) for line in csv.splitlines()[1:]}
    assert traffic.neighbour in exported  # their own organisation's
    assert exported.isdisjoint({*traffic.city, traffic.hidden})
    assert len(views_written(view="export")) == 1


def test_a_privacy_officer_never_learns_of_a_nondisclosure_entry(clients, traffic, world):
    officer = clients.officer
    listed = officer.get("/audit/entries/").content.decode()
    for seq in traffic.city:
        assert f'data-seq="{seq}"' in listed
    assert f'data-seq="{traffic.hidden}"' not in listed
    assert f'data-seq="{traffic.neighbour}"' not in listed
    assert 'name="nondisclosure"' not in listed  # not even as a filter
    # The entry page of a 不開示 entry is as absent as one that does not exist: no purpose
    # asked, nothing recorded.
    for suffix in ("", "?purpose=routine_audit", "proof.json", "receipt"):
        assert officer.get(f"/audit/entries/{traffic.hidden}/{suffix}").status_code == 404
    assert views_written(record=str(LedgerEntry.objects.get(seq=traffic.hidden).intake_id)) == []
    # A search by the subject lists their disclosed entries only.
    from audit.entries import subject_pseudonym

    subject = subject_pseudonym(str(world.person.public_id))
    found = officer.get(f"/audit/entries/?subject={subject}&purpose=routine_audit")
    assert f'data-seq="{traffic.hidden}"' not in found.content.decode()
    assert f'data-seq="{traffic.city[0]}"' in found.content.decode()
    # Filtering by the marker is not theirs to do: the parameter is ignored.
    filtered = officer.get("/audit/entries/?nondisclosure=yes").content.decode()
    assert f'data-seq="{traffic.hidden}"' not in filtered
    # A visible entry's page shows no marker, in the facts or in the leaf.
    page = officer.get(f"/audit/entries/{traffic.city[0]}/?purpose=routine_audit")
    text = page.content.decode()
    assert "nondisclosure" not in text.split('id="verify"')[1].split("</section>")[1]
    assert "不開示" not in text.split("<main>")[1]
    # The CSV has no such column and no such row.
    csv = b"".join(officer.get("/audit/entries.csv").streaming_content).decode()
    assert "不開示" not in csv
    assert traffic.hidden not in {int(line.split(",")[0]) for line in csv.splitlines()[1:]}
    # Charts and the staff drill-down count without it.
    charts = officer.get("/audit/charts/").content.decode()
    assert "<title>" in charts
    staff = officer.get(f"/audit/staff/{world.clerk.audit_pseudonym}/?purpose=routine_audit")
    assert staff.context["activity"].total == len(traffic.city)


def test_a_national_auditor_sees_everything_and_the_marker(clients, traffic):
    national = clients.national
    listed = national.get("/audit/entries/").content.decode()
    for seq in (*traffic.city, traffic.hidden, traffic.neighbour):
        assert f'data-seq="{seq}"' in listed
    only_hidden = national.get("/audit/entries/?nondisclosure=yes").content.decode()
    assert f'data-seq="{traffic.hidden}"' in only_hidden
    assert f'data-seq="{traffic.city[0]}"' not in only_hidden
    page = national.get(f"/audit/entries/{traffic.hidden}/?purpose=routine_audit")
    assert page.status_code == 200
    assert "不開示" in page.content.decode()
    csv = b"".join(national.get("/audit/entries.csv").streaming_content).decode()
    assert "不開示" in csv.splitlines()[0]


def test_only_the_login_page_is_open(client, db):
    response = client.get("/audit/login/")
    assert response.status_code == 200
    assert "監査担当ログイン" in response.content.decode() or "Auditor login" in (
        response.content.decode()
    )


def test_an_auditor_logs_in_on_the_dashboards_own_page(national, client):
    response = client.post(
        "/audit/login/", {"username": national.username, "password": "dashboard-password-1"}
    )
    assert response.status_code == 302 and response["Location"] == "/audit/"
    assert client.get("/audit/").status_code == 200


def test_the_officer_of_two_organisations_sees_both_once(world, officer, traffic):
    from dashboard.services import privacy_officer_appoint

    privacy_officer_appoint(actor=None, user=officer, organization=world.pension.organization)
    listed = client_for(officer).get("/audit/entries/").content.decode()
    # The city's requests to the pension service concern both organisations: listed once.
    for seq in traffic.city:
        assert listed.count(f'data-seq="{seq}"') == 1
    assert f'data-seq="{traffic.neighbour}"' in listed  # to the pension service
    assert f'data-seq="{traffic.hidden}"' not in listed


def test_dashboard_pages_are_not_stored_and_carry_the_strict_policy(clients, targets):
    for path in ("/audit/", GETS[3].format(**targets), "/audit/entries.csv", "/audit/login/"):
        response = (clients.anonymous if "login" in path else clients.national).get(path)
        assert "no-store" in response["Cache-Control"], path
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe" not in policy, path
