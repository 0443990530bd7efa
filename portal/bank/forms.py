"""Forms of the bank dashboard. They only parse input; the writes go through the same services as the API."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from common.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS
from credit import webhooks
from credit.models import CreditLine
from portal.once import OnceFormMixin


class FirmSearchForm(forms.Form):
    q = forms.CharField(
        label=_("USCC or name"),
        max_length=100,
        required=False,
        strip=True,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
        help_text=_("Only firms that have given your bank consent are found."),
    )


class LimitPurposeForm(forms.Form):
    purpose = forms.CharField(
        label=_("Purpose of the query"),
        max_length=200,
        required=False,
        strip=True,
        help_text=_("Recorded in the audit trail with every limit query."),
    )


class LineFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All statuses")), *CreditLine.Status.choices],
        widget=forms.Select(attrs={"data-autosubmit": ""}),
    )


class MovementForm(OnceFormMixin):
    amount = forms.DecimalField(
        label=_("Amount (CNY)"),
        max_digits=MONEY_MAX_DIGITS,
        decimal_places=MONEY_DECIMAL_PLACES,
        min_value=Decimal("0.01"),
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0.01", "inputmode": "decimal"}),
    )


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=50, help_text=_("Which system uses the key, e.g. core banking."))
    expires_at = forms.DateTimeField(
        label=_("Expires at"),
        required=False,
        help_text=_("Optional. Leave empty for a key that does not expire."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
    )

    def clean_expires_at(self) -> object:
        value = self.cleaned_data.get("expires_at")
        if value is not None and value <= timezone.now():
            raise forms.ValidationError(_("Must be in the future."))
        return value


EVENT_LABELS = {
    "credit_line.issued": _("Credit line issued"),
    "credit_line.at_risk": _("Credit line at risk"),
    "credit_line.recovered": _("Credit line recovered"),
    "pledge.released": _("Pledge released"),
    "consent.revoked": _("Consent revoked"),
    "valuation.approved": _("Valuation approved"),
}


class WebhookCreateForm(forms.Form):
    url = forms.URLField(
        label=_("URL"), max_length=500, assume_scheme="https", help_text=_("Deliveries are signed JSON POSTs.")
    )
    events = forms.MultipleChoiceField(
        label=_("Events"),
        choices=[(event, EVENT_LABELS.get(event, event)) for event in webhooks.EVENT_TYPES],
        widget=forms.CheckboxSelectMultiple,
    )
