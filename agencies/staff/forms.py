"""Forms of the staff pages. They only offer what the staff member may choose; the services
check again, so a hand-made POST gets the same refusal as the API would give."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from agencies.codes import normalize_my_number
from agencies.models import Affair, Case, Person, StaffMember
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


class CaseApplicantForm(forms.Form):
    """Step 1 of opening a case (案件の受付): the affair, the reference and the applicant."""

    affair = forms.ModelChoiceField(queryset=Affair.objects.none(), label=_("Affair"))
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
        coerce=int, required=False, widget=forms.CheckboxSelectMultiple, label=_("Household")
    )

    def __init__(self, *args: Any, household: list[Person], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.household = household
        cast(forms.ChoiceField, self.fields["members"]).choices = [
            (p.pk, p.full_name) for p in household[1:]
        ]


class LinkageRequestForm(forms.Form):
    """情報照会: one query along a route the permitted table allows for the staff member.

    The subject is a member of the case (choices carry their 宛名番号), or is named by 宛名番号
    or My Number. The My Number field never renders its value back, so no page repeats it.
    """

    request_id = forms.UUIDField(widget=forms.HiddenInput)
    route = forms.ChoiceField(label=_("Affair, item and provider"))
    case = forms.ModelChoiceField(
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
        grouped: dict[str, list[tuple[str, str]]] = {}
        for route in routes:
            grouped.setdefault(str(route.affair), []).append(
                (route.key, f"{route.item.name} ({route.item.code}) ← {route.provider}")
            )
        cast(forms.ChoiceField, self.fields["route"]).choices = [
            ("", "---------"),
            *grouped.items(),
        ]
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
