"""Forms of the alert queue, the rule settings and the watchlist: labelled fields, validation
messages and choices in the page's language."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from agencies.models import Organization
from dashboard.access import AuditorScope
from dashboard.alert_selectors import AlertFilter
from dashboard.alert_services import BulkAction
from dashboard.forms import clean_staff_pseudonym, clean_subject_pseudonym
from detection import mail
from detection.models import AlertStatus, DismissReason, WatchReason
from detection.rules import RULES, Rule, Severity


def _choices(choices: Any, *, blank: Any = None) -> list[tuple[str, str]]:
    found = [(value, str(label)) for value, label in choices]
    return [("", str(blank)), *found] if blank is not None else found


def page_language() -> str:
    """The page's language as detection's texts come: "en" or "ja"."""
    return "en" if (get_language() or "ja").startswith("en") else "ja"


def rule_title(rule: Rule) -> str:
    """The rule's title in the page's language."""
    return mail.rule_title(rule, page_language())


def rule_explanation(rule: Rule) -> str:
    """The rule's explanation in the page's language."""
    return mail.rule_explanation(rule, page_language())


class AlertFilterForm(forms.Form):
    """The queue's filters (a GET form)."""

    severity = forms.ChoiceField(label=_("Severity"), required=False)
    rule = forms.ChoiceField(label=_("Rule"), required=False)
    organization = forms.ChoiceField(label=_("Organisation"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False)
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    staff = forms.CharField(label=_("Staff pseudonym"), required=False, max_length=18)
    mine = forms.BooleanField(label=_("Assigned to me"), required=False)

    def __init__(self, *args: Any, scope: AuditorScope, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scope = scope
        anything = _("All")
        fields: dict[str, Any] = self.fields
        fields["severity"].choices = _choices(Severity.choices, blank=anything)
        fields["status"].choices = _choices(AlertStatus.choices, blank=anything)
        fields["rule"].choices = [("", str(anything))] + [
            (code, f"{rule_title(rule)} ({code})") for code, rule in sorted(RULES.items())
        ]
        organizations = Organization.objects.order_by("code")
        if not scope.national:
            organizations = organizations.filter(code__in=scope.organizations)
        fields["organization"].choices = [("", str(anything))] + [
            (o.code, str(o)) for o in organizations
        ]

    def clean_staff(self) -> str:
        return clean_staff_pseudonym(self.cleaned_data["staff"])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end of the period is before its start."))
        return data

    def to_filter(self) -> AlertFilter:
        """The filters as the selectors take them (call after is_valid())."""
        data = self.cleaned_data
        return AlertFilter(
            severity=data.get("severity", ""),
            rule=data.get("rule", ""),
            organization=data.get("organization", ""),
            status=data.get("status", ""),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            staff=data.get("staff", ""),
            assignee=self.scope.user.pk if data.get("mine") else None,
        )


def _dismiss_reason_field(*, required: bool) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=_("Reason for dismissing"),
        required=required,
        choices=lambda: _choices(DismissReason.choices, blank=_("Choose…")),
    )


class TriageForm(forms.Form):
    """A status change, with a reason when dismissing and an optional note."""

    status = forms.ChoiceField(
        label=_("New status"), choices=lambda: _choices(AlertStatus.choices, blank=_("Choose…"))
    )
    reason = _dismiss_reason_field(required=False)
    note = forms.CharField(
        label=_("Note (optional)"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("status") == AlertStatus.DISMISSED and not data.get("reason"):
            self.add_error("reason", _("Dismissing an alert needs a reason."))
        return data


class AssignForm(forms.Form):
    """Who takes the alert (the auditors who may see it), or nobody."""

    assignee = forms.TypedChoiceField(
        label=_("Assignee"), required=False, coerce=int, empty_value=None
    )

    def __init__(self, *args: Any, assignees: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["assignee"]
        field.choices = [("", str(_("Nobody")))] + [
            (str(u.pk), u.get_username()) for u in assignees
        ]


class NoteForm(forms.Form):
    text = forms.CharField(
        label=_("Note"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Kept with the alert, never copied to the log or to a mail."),
    )


class BulkForm(forms.Form):
    """One action on the selected alerts."""

    action = forms.ChoiceField(
        label=_("Action on the selected alerts"),
        choices=lambda: [
            ("", str(_("Choose…"))),
            (BulkAction.ASSIGN_ME, str(_("Assign to me"))),
            (BulkAction.INVESTIGATE, str(_("Set to investigating"))),
            (BulkAction.DISMISS, str(_("Dismiss"))),
        ],
    )
    reason = _dismiss_reason_field(required=False)
    alerts = forms.TypedMultipleChoiceField(coerce=int, label=_("Alerts"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Any whole number is a choice here: whether the alert exists and is in the user's
        # scope is the service's decision (all or nothing).
        field: Any = self.fields["alerts"]
        field.valid_value = lambda value: str(value).isdigit() and 0 < len(str(value)) <= 11

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("action") == BulkAction.DISMISS and not data.get("reason"):
            self.add_error("reason", _("Dismissing an alert needs a reason."))
        return data


class RuleForm(forms.Form):
    """A rule's switch and its thresholds, each within the range the rule declares."""

    enabled = forms.BooleanField(label=_("Enabled"), required=False)

    def __init__(self, *args: Any, rule: Rule, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rule = rule
        english = page_language() == "en"
        for param in rule.params:
            self.fields[param.name] = forms.IntegerField(
                label=param.help_en if english else param.help_ja,
                min_value=param.minimum,
                max_value=param.maximum,
                help_text=f"{param.minimum}–{param.maximum} ({_('default')} {param.default})",
            )

    def params(self) -> dict[str, int]:
        """The thresholds entered (call after is_valid())."""
        return {p.name: self.cleaned_data[p.name] for p in self.rule.params}


class WatchAddForm(forms.Form):
    """A person to watch, named by their subject pseudonym (as entries and alerts show them):
    never by My Number or name."""

    subject = forms.CharField(
        label=_("Subject pseudonym"),
        max_length=26,
        help_text=_("SJ and 24 letters or digits, as entries and alerts show it."),
    )
    reason = forms.ChoiceField(
        label=_("Reason"), choices=lambda: _choices(WatchReason.choices, blank=_("Choose…"))
    )

    def clean_subject(self) -> str:
        return clean_subject_pseudonym(self.cleaned_data["subject"])
