"""Japanese as a municipal system writes it, on every staff page and every admin page: labels
through the catalogue (no "日本語 (English)"), flags as あり／なし (never True/False, not even in
an icon's alt text), reasons in words (never a code), full-width punctuation, institutions by
the names of the official lists; and a login page that promises only what is true."""

import datetime as dt
import re
from html.parser import HTMLParser

import pytest
import time_machine
from babel.messages.pofile import read_po
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from agencies.models import LinkageStatus
from agencies.network.reasons import REASONS
from agencies.network.services import held_request_decide
from agencies.services import case_open
from tests.support.factories import send_request, transfer_internally

NOW = dt.datetime(2026, 6, 10, 1, 30, tzinfo=dt.UTC)
JAPANESE = r"[\u3040-\u30ff\u3400-\u9fff]"
# "住民 (Persons)": a Japanese label followed by its English in brackets.
BILINGUAL = re.compile(JAPANESE + r"\s*\([A-Z][A-Za-z ,.'’-]+\)")
HALF_WIDTH_NEXT_TO_JAPANESE = re.compile(
    JAPANESE + r"\s?[(),:;]|[(),:;]\s?" + JAPANESE.replace("[", "[", 1)
)
CODES = re.compile(r"\b(" + "|".join(sorted(REASONS, key=len, reverse=True)) + r")\b")


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.parts, self._skip = [], 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("script", "style")
        # What a screen reader says is shown too: an icon's alt text, a title.
        self.parts += [v for k, v in attrs if k in ("alt", "title", "aria-label") and v]

    def handle_endtag(self, tag):
        self._skip -= tag in ("script", "style") and self._skip > 0

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.parts.append(data.strip())


def visible_text(html):
    parser = _Text()
    parser.feed(html)
    return parser.parts


@pytest.fixture
def traffic(world):
    """One of every outcome a page can show: provided, refused (several reasons), held for a
    manual answer and for 不開示, released, declined, a 庁内連携, a case and a batch query."""
    from agencies.batches import batch_open, batch_send

    world.case = case_open(
        staff=world.clerk,
        affair=world.affair,
        reference="R8-0001",
        applicant=world.person,
        members=[],
    )
    send_request(world, case=world.case)
    send_request(world, item=world.tax)  # rule_not_valid_on_date
    send_request(world, addressee_number="999")  # subject_not_found
    send_request(world, affair=world.school, item=world.tax, provider=world.neighbour)  # consent
    manual = send_request(world, item=world.resident_item, provider=world.board).request
    held_request_decide(staff=world.board_clerk, request=manual, release=True)
    declined = send_request(world, item=world.resident_item, provider=world.board).request
    held_request_decide(staff=world.board_clerk, request=declined, release=False)
    send_request(world, item=world.resident_item, provider=world.board)  # held, manual answer
    world.person.disclosure_protected, world.person.protection_reason = True, "DV等支援措置"
    world.person.save()
    send_request(world)  # held, 不開示
    transfer_internally(world)
    world.batch = batch_open(
        staff=world.clerk,
        affair=world.affair,
        item=world.pension_item,
        provider=world.pension,
        purpose="status_check",
        addressee_numbers=["000000000012345"],
    )
    batch_send(batch_id=world.batch.pk)
    return world


def staff_pages(w):
    from agencies.models import LinkageRequest

    clerk = [
        "/staff/",
        "/staff/?all=1",
        "/staff/requests/",
        "/staff/requests/new/",
        "/staff/cases/new/",
        f"/staff/cases/{w.case.pk}/",
        "/staff/batches/",
        "/staff/batches/new/",
        f"/staff/batches/{w.batch.pk}/",
    ] + [
        f"/staff/requests/{r}/" for r in LinkageRequest.objects.values_list("request_id", flat=True)
    ]
    held = LinkageRequest.objects.filter(provider=w.board, status=LinkageStatus.HELD)
    operator = ["/staff/held/"] + [f"/staff/requests/{r.request_id}/" for r in held]
    operator += [f"/staff/held/{r.request_id}/release/confirm/" for r in held if r.nondisclosure]
    return [(w.clerk, clerk), (w.board_clerk, operator)]


def fetch(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def test_no_staff_page_shows_a_code_a_bare_flag_or_half_width_punctuation(traffic):
    for staff, urls in staff_pages(traffic):
        client = Client(HTTP_ACCEPT_LANGUAGE="ja")
        client.force_login(staff.user)
        for url in urls:
            html = fetch(client, url)
            for text in visible_text(html):
                assert not re.search(r"\b(True|False)\b", text), (url, text)
                assert not CODES.search(text), (url, text)
                assert not BILINGUAL.search(text), (url, text)
                assert not HALF_WIDTH_NEXT_TO_JAPANESE.search(text), (url, text)


def test_staff_pages_name_institutions_as_the_official_lists_do(traffic):
    from agencies.display import official_name

    client = Client(HTTP_ACCEPT_LANGUAGE="ja")
    client.force_login(traffic.clerk.user)
    home = fetch(client, "/staff/")
    assert "札幌市長" in home  # the clerk's own institution, in the header
    queries = fetch(client, "/staff/requests/")
    assert "札幌市教育委員会" in queries and "函館市長" in queries
    assert official_name(traffic.pension) == "日本年金機構"


def admin_urls():
    urls = []
    for model in admin.site._registry:
        if model._meta.app_label not in ("agencies", "audit"):
            continue
        name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        urls.append(reverse(f"{name}_changelist"))
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            urls.append(reverse(f"{name}_change", args=[first.pk]))
    return urls


def test_no_admin_page_shows_a_bilingual_label_a_bare_flag_or_a_code(traffic, admin_user):
    from audit.ledger import ledger_integrate

    ledger_integrate()  # entries, checkpoints: every ledger table has a row to show
    client = Client(HTTP_ACCEPT_LANGUAGE="ja")
    client.force_login(admin_user)
    urls = admin_urls()
    assert len(urls) > 30
    for url in urls:
        html = fetch(client, url)
        for text in visible_text(html):
            assert not re.search(r"\b(True|False)\b", text), (url, text)
            assert not BILINGUAL.search(text), (url, text)
            assert not CODES.search(text), (url, text)
    requests = fetch(client, reverse("admin:agencies_linkagerequest_changelist"))
    assert "札幌市教育委員会" in requests and "日本年金機構" in requests
    assert "連携許可の適用期間外" in requests  # the reason in words
    persons = fetch(client, reverse("admin:agencies_person_changelist"))
    assert "不開示対象" in persons and "あり" in persons


def test_the_admin_reads_in_english_too(traffic, admin_user):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(admin_user)
    persons = fetch(client, reverse("admin:agencies_person_changelist"))
    assert "Protected from disclosure" in persons and "住民" not in persons


def test_every_reason_has_words_for_the_lists():
    from agencies.display import REASON_LABELS

    assert set(REASONS) <= set(REASON_LABELS)


def test_the_catalogue_writes_japanese_with_full_width_punctuation():
    with (settings.BASE_DIR / "locale/ja/LC_MESSAGES/django.po").open("rb") as f:
        catalogue = read_po(f, locale="ja")
    half_width = []
    for message in catalogue:
        if not message.id:
            continue  # the header
        strings = message.string if isinstance(message.string, tuple) else [message.string]
        for text in strings:
            if re.search(r"[(),:;!?]", re.sub(r"%\(\w+\)[sd]", "", str(text or ""))):
                half_width.append((message.id, text))
    assert half_width == []


def test_the_login_page_promises_only_what_is_true(db):
    page = fetch(Client(HTTP_ACCEPT_LANGUAGE="ja"), "/staff/login/")
    # Not every record is shown to the person: 不開示 ones are withheld, and 庁内連携 is not a
    # record of information provision.
    assert "本人に表示されます" not in page
    assert "不開示" in page and "庁内連携" in page and "情報提供等記録" in page


@pytest.mark.parametrize("app", ["agencies", "audit"])
def test_every_model_label_is_english_in_the_source_and_japanese_in_the_catalogue(app):
    from django.utils import translation

    labels = []
    for model in apps.get_app_config(app).get_models():
        labels += [model._meta.verbose_name, model._meta.verbose_name_plural]
        for field in model._meta.get_fields():
            labels.append(getattr(field, "verbose_name", ""))
            labels += [label for _, label in getattr(field, "flatchoices", None) or []]
    with translation.override("en"):
        english = [str(label) for label in labels if label]
    with translation.override("ja"):
        japanese = [str(label) for label in labels if label]
    assert [label for label in english if not label.isascii()] == []
    untranslated = [en for en, ja in zip(english, japanese, strict=True) if en == ja]
    assert [label for label in untranslated if label not in ("ID", "id", "pk")] == []
