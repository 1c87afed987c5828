"""How the pages write things as a Japanese municipal system does: institutions by the names
of the official lists (札幌市長, 札幌市教育委員会, 北海道知事), dates of birth in the Japanese era
(昭和55年4月1日), flags as あり／なし, numbers masked but for their last digits.

Pure functions over values already loaded; the templates reach them through the `japanese`
template library, the admin directly.
"""

from __future__ import annotations

import datetime as dt

from django.utils.formats import date_format
from django.utils.translation import get_language, gettext_noop, pgettext
from django.utils.translation import gettext_lazy as _

from agencies.models import Institution, InstitutionKind, OrganizationKind

MASK = "●"

# Django's label suffix ("Name:") is a message of its own; kept in the catalogue here so that
# Japanese forms, the staff pages' and the admin's, write it full-width (氏名：).
LABEL_SUFFIX = gettext_noop(":")

# (first day, era): the eras of the Gregorian dates a resident's birth can have.
_ERAS = [
    (dt.date(2019, 5, 1), "令和"),
    (dt.date(1989, 1, 8), "平成"),
    (dt.date(1926, 12, 25), "昭和"),
    (dt.date(1912, 7, 30), "大正"),
    (dt.date(1873, 1, 1), "明治"),  # the solar calendar from Meiji 6
]


def japanese_era_date(day: dt.date) -> str:
    """day in the Japanese era, as a 住民票 writes it: 昭和55年4月1日, 令和元年5月1日."""
    for start, era in _ERAS:
        if day >= start:
            year = day.year - start.year + 1
            return f"{era}{'元' if year == 1 else year}年{day.month}月{day.day}日"
    return f"{day.year}年{day.month}月{day.day}日"


def birth_date(day: dt.date | None) -> str:
    """A date of birth in the page's language: the Japanese era in Japanese, the locale's
    long date otherwise."""
    if day is None:
        return "—"
    if (get_language() or "ja").startswith("ja"):
        return japanese_era_date(day)
    return date_format(day, "DATE_FORMAT")


def masked_number(number: str | None) -> str:
    """A 宛名番号 with all but its last digits masked (the last four of a full number; fewer
    of a short one, none of a one-digit one): enough to check against a paper form, not enough
    to copy."""
    if not number:
        return "—"
    shown = min(4, len(number) // 2)
    return MASK * (len(number) - shown) + number[len(number) - shown :]


def yes_no(flag: object) -> str:
    """A flag as a municipal form writes it: あり / なし (Yes / No)."""
    return pgettext("flag", "Yes") if flag else pgettext("flag", "No")


def official_name(institution: Institution) -> str:
    """The institution as the official lists of requesters and providers name it: the head
    of the executive organ (札幌市長, 北海道知事), the board (札幌市教育委員会), or the body's
    own name (日本年金機構, 厚生労働大臣). A city's welfare office and its National Health
    Insurance act in the mayor's name, with that capacity in brackets."""
    organization = institution.organization
    kind = institution.kind
    if kind == InstitutionKind.BOARD_OF_EDUCATION and organization.kind in (
        OrganizationKind.MUNICIPALITY,
        OrganizationKind.PREFECTURE,
    ):
        return f"{organization.name}教育委員会"
    if organization.kind == OrganizationKind.MUNICIPALITY:
        head = f"{organization.name}長"  # 市長, 町長, 村長, 区長
        if kind == InstitutionKind.PREFECTURE_HEAD:
            return f"{head}（福祉事務所）"
        if kind == InstitutionKind.HEALTH_INSURER:
            return f"{head}（国民健康保険）"
        return head
    if organization.kind == OrganizationKind.PREFECTURE and kind == InstitutionKind.PREFECTURE_HEAD:
        return f"{organization.name}知事"
    if kind == InstitutionKind.PENSION_SERVICE:
        return "日本年金機構"
    return institution.name


# Short labels of the network's refusal and hold reasons, for lists and filters (the full
# messages, with the request's codes, are agencies.network.reasons.REASONS).
REASON_LABELS = {
    "staff_not_assigned": _("Affair not assigned to the staff member"),
    "case_other_department": _("Case of another department"),
    "case_affair_mismatch": _("Case of another affair"),
    "case_closed": _("Case not open"),
    "batch_other_department": _("Batch query of another department"),
    "batch_affair_mismatch": _("Batch query of another affair"),
    "batch_route_mismatch": _("Batch query of another item or provider"),
    "wrong_institution": _("Not the staff member's institution"),
    "affair_not_notified": _("Independent-use affair not notified"),
    "not_in_permitted_table": _("Not in the permitted table"),
    "rule_not_valid_on_date": _("Permission not in force on the day"),
    "consent_missing": _("No consent of the person"),
    "subject_not_found": _("No such person"),
    "token_not_issued": _("No token (符号) issued"),
    "request_id_reused": _("Request id already used"),
    "provider_is_requester": _("Provider is the requester itself"),
    "not_in_ordinance": _("Not in the ordinance on internal use"),
    "held": _("Under review by the provider"),
    "manual_answer": _("Manual answer"),
    "nondisclosure": _("Non-disclosure (不開示)"),
    "declined_by_provider": _("Declined by the provider"),
}


def reason_label(code: str) -> str:
    """A refusal or hold reason as a short phrase in the page's language ("" for none)."""
    if not code:
        return ""
    return str(REASON_LABELS.get(code, code))
