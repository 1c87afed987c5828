"""Forms of the portal: labelled fields, validation messages in the page's language."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.services import normalize_serial, valid_pin


class CardLoginForm(forms.Form):
    serial = forms.CharField(
        label=_("Card number"),
        max_length=20,
        help_text=_("The number printed on your card, e.g. YC-ABCDE-23456."),
        widget=forms.TextInput(attrs={"autocomplete": "username", "spellcheck": "false"}),
    )
    pin = forms.CharField(
        label=_("PIN (4 digits)"),
        max_length=8,
        widget=forms.PasswordInput(
            attrs={"autocomplete": "current-password", "inputmode": "numeric"}
        ),
    )

    def clean_serial(self) -> str:
        return normalize_serial(self.cleaned_data["serial"])

    def clean_pin(self) -> str:
        pin = self.cleaned_data["pin"]
        if not valid_pin(pin):
            raise forms.ValidationError(_("The PIN is four digits."))
        return str(pin)


class RecordFilterForm(forms.Form):
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    institution = forms.ChoiceField(label=_("Institution"), required=False)
    affair = forms.ChoiceField(label=_("Affair"), required=False)
    item = forms.ChoiceField(label=_("Information item"), required=False)

    def __init__(
        self,
        *args: object,
        institutions: list[tuple[str, str]],
        affairs: list[tuple[str, str]],
        items: list[tuple[str, str]],
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        anything = [("", _("All"))]
        self.fields["institution"].choices = anything + institutions  # type: ignore[attr-defined]
        self.fields["affair"].choices = anything + affairs  # type: ignore[attr-defined]
        self.fields["item"].choices = anything + items  # type: ignore[attr-defined]


class EnquiryForm(forms.Form):
    question = forms.CharField(
        label=_("Your question about this record"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class NameProxyForm(forms.Form):
    card = forms.CharField(
        label=_("Card number of the person who will be your proxy"), max_length=20
    )


class AcceptProxyForm(forms.Form):
    code = forms.CharField(label=_("One-time code you were given"), max_length=12)


class MailForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"))


class MailPreferenceForm(forms.Form):
    new_records = forms.BooleanField(
        label=_("Mail me (at most once an hour) when a new record about me appears"),
        required=False,
    )
