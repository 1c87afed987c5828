"""Forms of the staff pages. They only offer what the staff member may choose; the services
check again, so a hand-made POST gets the same refusal as the API would give."""

from __future__ import annotations

import re
import unicodedata
import uuid
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from agencies.codes import my_number_check_digit, normalize_my_number
from agencies.display import official_name
from agencies.models import MAX_BATCH_SUBJECTS, Affair, BatchPurpose, Case, Person, StaffMember
from agencies.network.reasons import RELEASE_REASONS
from agencies.network.rules import Route

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise

    StrOrPromise = str | _StrPromise


def addressee_number_field(
    *, required: bool, label: StrOrPromise | None = None
) -> forms.RegexField:
    """A 宛名番号 input: 1 to 15 digits."""
    return forms.RegexField(
        regex=r"^[0-9]{1,15}$",
        required=required,
        label=label or _("Addressee number"),
        error_messages={"invalid": _("An addressee number is 1 to 15 digits.")},
    )


REFERENCE = r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,39}$"


class AffairChoiceField(forms.ModelChoiceField):
    """An affair by its name and code, as a municipal form writes them."""

    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name}（{obj.code}）"


class CaseApplicantForm(forms.Form):
    """Step 1 of opening a case (案件の受付): the affair, the reference and the applicant."""

    affair = AffairChoiceField(queryset=Affair.objects.none(), label=_("Affair"))
    reference = forms.RegexField(
        regex=REFERENCE,
        label=_("Reference number"),
        error_messages={
            "invalid": _("Letters, digits and . _ / - only, at most 40, starting with one.")
        },
    )
    applicant = addressee_number_field(required=True, label=_("Applicant's addressee number"))

    def __init__(self, *args: Any, staff: StaffMember, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.staff = staff
        affairs = staff.assigned_affairs.order_by("code")
        cast(forms.ModelChoiceField, self.fields["affair"]).queryset = affairs


class CaseMembersForm(CaseApplicantForm):
    """Step 2: which members of the applicant's household (世帯) the case concerns."""

    members = forms.TypedMultipleChoiceField(
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Household members"),
    )

    def __init__(self, *args: Any, household: list[Person], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.household = household
        cast(forms.ChoiceField, self.fields["members"]).choices = [
            (p.pk, p.full_name) for p in household[1:]
        ]


class CaseChoiceField(forms.ModelChoiceField):
    """A case by its 受付番号 and affair, as a municipal form writes them."""

    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.reference}（{obj.affair.name}）"


class LinkageRequestForm(forms.Form):
    """情報照会: one query along a route the permitted table allows for the staff member.

    The subject is a member of the case (choices carry their 宛名番号), or is named by 宛名番号
    or My Number. The My Number field never renders its value back, so no page repeats it.
    """

    request_id = forms.UUIDField(widget=forms.HiddenInput)
    route = forms.ChoiceField(label=_("Affair, item and provider"))
    case = CaseChoiceField(
        queryset=Case.objects.none(), required=False, label=_("Case"), empty_label=_("(no case)")
    )
    member = forms.ChoiceField(required=False, label=_("Case member"))
    addressee_number = addressee_number_field(required=False)
    my_number = forms.CharField(
        required=False,
        label=_("My Number"),
        widget=forms.PasswordInput(
            render_value=False, attrs={"autocomplete": "off", "inputmode": "numeric"}
        ),
    )

    def __init__(
        self,
        *args: Any,
        routes: list[Route],
        cases: Any,
        members: list[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.routes = {route.key: route for route in routes}
        cast(forms.ChoiceField, self.fields["route"]).choices = _route_choices(routes)
        cast(forms.ModelChoiceField, self.fields["case"]).queryset = cases
        cast(forms.ChoiceField, self.fields["member"]).choices = [("", "---------"), *members]
        if not self.is_bound:
            self.initial.setdefault("request_id", uuid.uuid4())

    def clean_my_number(self) -> str:
        value: str = self.cleaned_data["my_number"]
        if not value:
            return ""
        try:
            return normalize_my_number(value)
        except ValidationError:
            # The message names the rule, never the number typed.
            raise ValidationError(_("This is not a valid My Number (12 digits).")) from None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        named = [name for name in ("member", "addressee_number", "my_number") if data.get(name)]
        if len(named) != 1:
            raise ValidationError(
                _(
                    "Name the subject in exactly one way: a case member, an addressee number "
                    "or a My Number."
                )
            )
        data["route_obj"] = self.routes.get(data.get("route", ""))
        return data


class NondisclosureReleaseForm(forms.Form):
    """Releasing a 不開示 request: the reason, chosen from the list, and an explicit
    confirmation that the answer may go to the requester."""

    decision_reason = forms.ChoiceField(widget=forms.RadioSelect, label=_("Reason for the release"))
    confirmed = forms.BooleanField(
        required=True,
        label=_(
            "I have checked that releasing this record does not put the protected person at "
            "risk, and I take the decision."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        english = (get_language() or "ja").startswith("en")
        cast(forms.ChoiceField, self.fields["decision_reason"]).choices = [
            (code, reason.en if english else reason.ja) for code, reason in RELEASE_REASONS.items()
        ]


def _route_choices(routes: list[Route]) -> list[Any]:
    """Routes grouped by affair, for a select."""
    grouped: dict[str, list[tuple[str, str]]] = {}
    for route in routes:
        grouped.setdefault(str(route.affair), []).append(
            (route.key, f"{route.item.name}（{route.item.code}）← {route_source(route)}")
        )
    return [("", "---------"), *grouped.items()]


def route_source(route: Route) -> str:
    """Where a route's answer comes from: the provider by its official name, or, for a
    庁内連携, the providing affair (or the register) under the ordinance."""
    if not route.internal:
        return official_name(route.provider)
    source = route.from_affair.name if route.from_affair is not None else _("Resident register")
    return _("Internal transfer (庁内連携): %(affair)s") % {"affair": source}


def _looks_like_my_number(digits: str) -> bool:
    return len(digits) == 12 and int(digits[11]) == my_number_check_digit(digits[:11])


class BatchForm(forms.Form):
    """一括照会: one route, a purpose, and the residents' 宛名番号, one per line.

    Lines are checked here for their form (and named by line number only, never repeated);
    whether each names a resident is the service's check. A list that holds what looks like
    a My Number is not shown back: a column of My Numbers pasted by mistake must not end up in
    the page."""

    route = forms.ChoiceField(label=_("Affair, item and provider"))
    purpose = forms.ChoiceField(choices=BatchPurpose.choices, label=_("Purpose"))
    subjects = forms.CharField(
        label=_("Addressee numbers, one per line"),
        widget=forms.Textarea(attrs={"rows": 12, "autocomplete": "off", "spellcheck": "false"}),
        max_length=MAX_BATCH_SUBJECTS * 20,
    )

    def __init__(self, *args: Any, routes: list[Route], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.routes = {route.key: route for route in routes}
        cast(forms.ChoiceField, self.fields["route"]).choices = _route_choices(routes)

    def clean_subjects(self) -> list[str]:
        lines = unicodedata.normalize("NFKC", self.cleaned_data["subjects"]).strip().splitlines()
        numbers = [re.sub(r"[\s-]", "", line) for line in lines]
        my_numbers = [
            i for i, n in enumerate(numbers, 1) if n.isdigit() and _looks_like_my_number(n)
        ]
        if my_numbers:
            self.data = {**self.data, "subjects": ""}  # the list is not rendered back
            raise ValidationError(
                _("Lines %(lines)s look like My Numbers: a batch query takes addressee numbers.")
                % {"lines": _lines(my_numbers)}
            )
        malformed = [i for i, n in enumerate(numbers, 1) if not re.fullmatch(r"[0-9]{1,15}", n)]
        if malformed:
            raise ValidationError(
                _("Lines %(lines)s: an addressee number is 1 to 15 digits.")
                % {"lines": _lines(malformed)}
            )
        if len(numbers) > MAX_BATCH_SUBJECTS:
            raise ValidationError(_("At most %(max)d lines.") % {"max": MAX_BATCH_SUBJECTS})
        return numbers

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["route_obj"] = self.routes.get(data.get("route", ""))
        return data


def _lines(positions: list[int]) -> str:
    shown = "、".join(str(p) for p in positions[:10])
    return shown + ("…" if len(positions) > 10 else "")
