"""窓口 (the counter): staff with the portal.counter_clerk permission issue and reissue cards
and reset PINs, for residents of their own organisation found by 宛名番号. They log in at the
staff login (/staff/login/). The permission is checked again in every service."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from agencies.models import StaffMember
from agencies.selectors import person_by_addressee_number
from agencies.staff.views import staff_required
from portal import selectors, services
from portal.models import display_serial


class ResidentForm(forms.Form):
    addressee_number = forms.RegexField(
        label=gettext_lazy("Addressee number (15 digits)"), regex=r"^[0-9]{15}$", max_length=15
    )


class PinForm(forms.Form):
    addressee_number = forms.CharField(widget=forms.HiddenInput)
    action = forms.ChoiceField(
        choices=[("issue", "issue"), ("reissue", "reissue"), ("reset", "reset")],
        widget=forms.HiddenInput,
    )
    pin = forms.CharField(
        label=gettext_lazy("New PIN, typed by the resident (4 digits)"),
        max_length=8,
        widget=forms.PasswordInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )


@staff_required
def home(request: HttpRequest, staff: StaffMember) -> HttpResponse:
    """Find a resident by 宛名番号; show their card; issue, reissue or reset its PIN."""
    if not staff.user.has_perm("portal.counter_clerk"):
        return render(request, "portal/counter/not_clerk.html", {"staff": staff}, status=403)
    number = request.POST.get("addressee_number") or request.GET.get("addressee_number", "")
    lookup = ResidentForm({"addressee_number": number} if number else None)
    person = None
    if lookup.is_valid():
        person = person_by_addressee_number(
            organization_id=staff.institution.organization_id,
            number=lookup.cleaned_data["addressee_number"],
        )
        if person is None:
            lookup.add_error(
                "addressee_number", _("No resident of your organisation has this addressee number.")
            )
    if request.method == "POST" and person is not None:
        form = PinForm(request.POST)
        if form.is_valid():
            action, pin = form.cleaned_data["action"], form.cleaned_data["pin"]
            try:
                if action == "issue":
                    card = services.card_issue(staff=staff, person=person, pin=pin)
                elif action == "reissue":
                    card = services.card_reissue(staff=staff, person=person, pin=pin)
                else:
                    live = selectors.live_card_of(person)
                    if live is None:
                        raise services.PortalError(_("This resident has no card."))
                    card = services.card_pin_reset(staff=staff, card=live, pin=pin)
            except services.PortalError as exc:
                messages.error(request, str(exc))
            else:
                messages.success(
                    request,
                    _("Done. Card number: %(serial)s") % {"serial": display_serial(card.serial)},
                )
                return redirect(f"{request.path}?addressee_number={number}")
        else:
            messages.error(request, _("The PIN is four digits."))
    live = selectors.live_card_of(person) if person is not None else None
    return render(
        request,
        "portal/counter/home.html",
        {
            "staff": staff,
            "lookup": lookup,
            "person": person,
            "card": live,
            "serial": display_serial(live.serial) if live else "",
            "number": number,
            "pin_form": PinForm(),
        },
    )
