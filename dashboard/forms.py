"""Forms of the dashboard: labelled fields, validation messages in the page's language."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from agencies.models import Organization
from audit.entries import registered_events
from dashboard.access import AuditorScope
from dashboard.models import RevealReason
from dashboard.purposes import ViewPurpose
from dashboard.selectors import OUTCOMES, EntryFilter
from portal.selectors import outcome_label, reference_names

_SUBJECT = re.compile(r"SJ[A-Z2-7]{24}")
_STAFF = re.compile(r"ST[0-9A-F]{16}")


def clean_staff_pseudonym(value: str) -> str:
    """value as a staff pseudonym (upper case), "" for none; ValidationError otherwise."""
    value = value.strip().upper()
    if value and not _STAFF.fullmatch(value):
        raise forms.ValidationError(_("A staff pseudonym is ST and 16 hexadecimal digits."))
    return value


def clean_subject_pseudonym(value: str) -> str:
    """value as a subject pseudonym (upper case), "" for none; ValidationError otherwise."""
    value = value.strip().upper()
    if value and not _SUBJECT.fullmatch(value):
        raise forms.ValidationError(_("A subject pseudonym is SJ and 24 letters or digits."))
    return value


def _purpose_choices() -> list[tuple[str, str]]:
    return [
        ("", str(_("Choose…"))),
        *((v, str(label)) for v, label in ViewPurpose.choices),
    ]


class PurposeField(forms.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Purpose of this look"))
        kwargs.setdefault(
            "help_text",
            _("Recorded in the log with your pseudonym; the resident sees that an auditor looked."),
        )
        super().__init__(choices=_purpose_choices, **kwargs)


class PurposeForm(forms.Form):
    """The purpose an auditor states before a person's records or a staff member's activity
    are shown."""

    purpose = PurposeField()


class EntrySearchForm(forms.Form):
    """The entries list: a search box (sequence number, request id, subject or staff
    pseudonym, case) and filters."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=64,
        help_text=_(
            "A log entry number, a request id, a subject pseudonym (SJ…), a staff "
            "pseudonym (ST…) or a case reference."
        ),
    )
    event_type = forms.ChoiceField(label=_("Event type"), required=False)
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    organization = forms.ChoiceField(label=_("Organisation"), required=False)
    institution = forms.ChoiceField(label=_("Institution"), required=False)
    affair = forms.ChoiceField(label=_("Affair"), required=False)
    item = forms.ChoiceField(label=_("Information item"), required=False)
    outcome = forms.ChoiceField(label=_("Outcome"), required=False)
    staff = forms.CharField(label=_("Staff pseudonym"), required=False, max_length=18)
    case = forms.CharField(label=_("Case reference"), required=False, max_length=40)
    subject = forms.CharField(label=_("Subject pseudonym"), required=False, max_length=26)
    nondisclosure = forms.ChoiceField(
        label=_("Not disclosed (不開示)"),
        required=False,
        choices=[("", _("All")), ("yes", _("Only 不開示")), ("no", _("Without 不開示"))],
    )
    purpose = PurposeField(required=False)

    def __init__(self, *args: Any, scope: AuditorScope, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scope = scope
        names = reference_names()
        anything = [("", _("All"))]
        fields: dict[str, Any] = self.fields
        fields["event_type"].choices = anything + [
            (s.event_type, s.event_type) for s in registered_events()
        ]
        organizations = Organization.objects.order_by("code")
        if not scope.national:
            organizations = organizations.filter(code__in=scope.organizations)
        fields["organization"].choices = anything + [(o.code, str(o)) for o in organizations]
        fields["institution"].choices = anything + sorted(
            ((code, f"{name} ({code})") for code, name in names.institutions.items()),
            key=lambda p: p[0],
        )
        fields["affair"].choices = anything + [
            (code, f"{a.name} ({code})") for code, a in sorted(names.affairs.items())
        ]
        fields["item"].choices = anything + [
            (code, f"{name} ({code})") for code, name in sorted(names.items.items())
        ]
        fields["outcome"].choices = anything + [(o, outcome_label(o)) for o in OUTCOMES]
        if not scope.sees_nondisclosure:
            # Privacy officers are never shown the marker, not even as a filter.
            del self.fields["nondisclosure"]

    def clean_staff(self) -> str:
        return clean_staff_pseudonym(self.cleaned_data["staff"])

    def clean_subject(self) -> str:
        return clean_subject_pseudonym(self.cleaned_data["subject"])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("subject") and not data.get("purpose"):
            self.add_error(
                "purpose", _("State the purpose: the search by subject is recorded in the log.")
            )
        return data

    def to_filter(self) -> EntryFilter:
        """The filters as the selectors take them (call after is_valid())."""
        data = self.cleaned_data
        marker = data.get("nondisclosure", "")
        return EntryFilter(
            event_type=data.get("event_type", ""),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            organization=data.get("organization", ""),
            institution=data.get("institution", ""),
            affair=data.get("affair", ""),
            item=data.get("item", ""),
            outcome=data.get("outcome", ""),
            staff=data.get("staff", ""),
            case=data.get("case", "").strip(),
            subject=data.get("subject", ""),
            nondisclosure=None if not marker else marker == "yes",
        )


class EnquiryReplyForm(forms.Form):
    answer = forms.CharField(
        label=_("Answer to the resident"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("The resident reads it in the portal. Its text stays out of the log."),
    )


class RevealForm(forms.Form):
    """Why a privacy officer needs to know who a staff pseudonym is."""

    reason = forms.ChoiceField(
        label=_("Reason"),
        choices=lambda: [
            ("", _("Choose…")),
            *RevealReason.choices,
        ],
    )
    note = forms.CharField(
        label=_("Explanation"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "Kept in the dashboard's records, not in the log (it may name people). The log "
            "records that you revealed this pseudonym and the reason above."
        ),
    )
