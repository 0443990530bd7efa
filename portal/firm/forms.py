"""Forms of the firm portal.

The asset forms only lay out and collect the fields: every check is the API's own. A posted form becomes the
same ``{"kind", "title", "details"}`` payload the API takes (cells are read with the bulk import's conventions,
``registry.imports.columns``: lists separated by ``;``, revenue as ``2024:1500000.00;2025:1800000.00``), then
goes through the API's input serializer and ``registry.services.asset_create``; the errors these raise are put
back under the field they name, word for word.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, time
from typing import Any

from django import forms
from django.forms.utils import ErrorDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from rest_framework import serializers

from registry.details import DETAILS_SERIALIZERS
from registry.imports import columns
from registry.models import Asset, Consent, Document

# --- labels ------------------------------------------------------------------------------------------------

FIELD_LABELS: dict[str, Any] = {
    "title": _("Title"),
    "number": _("Registration number"),
    "patent_type": _("Patent type"),
    "filing_date": _("Filing date"),
    "legal_status": _("Legal status"),
    "grant_date": _("Grant date"),
    "claims": _("Number of claims"),
    "forward_citations": _("Forward citations"),
    "ipc": _("IPC classes"),
    "revenue_history": _("Revenue history"),
    "nice_classes": _("Nice classes"),
    "valid_until": _("Valid until"),
    "registration_number": _("Registration number"),
    "version": _("Version"),
    "completed_on": _("Completed on"),
    "certificate_number": _("Certificate number"),
    "first_published_on": _("First published on"),
    "description": _("Description"),
    "category": _("Category"),
    "source": _("Source"),
    "record_count": _("Number of records"),
    "update_frequency": _("Update frequency"),
    "security_level": _("Security level"),
    "rights": _("Data rights held"),
    "size_bytes": _("Size (bytes)"),
    "time_span_start": _("Time span start"),
    "time_span_end": _("Time span end"),
    "contains_personal_info": _("Contains personal information"),
    "registration.registry": _("Registration: registry"),
    "registration.number": _("Registration: number"),
    "registration.issued_on": _("Registration: issued on"),
    "registration.valid_until": _("Registration: valid until"),
    "quality.normativity": _("Quality: normativity (0-100)"),
    "quality.completeness": _("Quality: completeness (0-100)"),
    "quality.accuracy": _("Quality: accuracy (0-100)"),
    "quality.consistency": _("Quality: consistency (0-100)"),
    "quality.timeliness": _("Quality: timeliness (0-100)"),
    "quality.accessibility": _("Quality: accessibility (0-100)"),
    "cost.acquisition": _("Cost: acquisition (CNY)"),
    "cost.processing": _("Cost: processing (CNY)"),
    "cost.storage": _("Cost: storage (CNY)"),
    "cost.labor": _("Cost: labour (CNY)"),
    "cost.other": _("Cost: other (CNY)"),
    "keywords": _("Keywords"),
    "license": _("Licence"),
    "income.variant": _("Income approach: variant"),
    "income.ebit_history": _("Income approach: EBIT history"),
    "income.share_rate": _("Income approach: share rate (0-1)"),
    "income.contributory_charges": _("Income approach: contributory asset charges"),
    "income.revenue_without_history": _("Income approach: revenue without the data"),
    "income.cost_savings": _("Income approach: cost savings"),
    "economic_life_years": _("Economic life (years)"),
}

# Where a column means something else for one kind (a patent's number is its application number).
KIND_LABELS: dict[str, dict[str, Any]] = {
    "patent": {"number": _("Application number")},
    "trademark": {"number": _("Trademark registration number")},
}

PATENT_NUMBER_HELP = _("CNIPA application number with its check character, e.g. 202110123456.7")
FIELD_HELP: dict[str, dict[str, Any]] = {
    "patent": {"number": PATENT_NUMBER_HELP, "ipc": _("Separate classes with ;, e.g. G06F 16/00;H04L 9/32")},
    "trademark": {
        "number": _("The trademark registration number, e.g. 41234567"),
        "nice_classes": _("Separate classes with ;, e.g. 9;42"),
    },
    "software": {
        "registration_number": _("YYYYSR followed by the serial, e.g. 2016SR172900"),
        "certificate_number": _("e.g. 软著登字第1351366号"),
    },
    "data": {"keywords": _("Separate keywords with ;")},
}
REVENUE_HELP = _("Year and amount in CNY, years separated by ;, e.g. 2024:1200000.00;2025:1500000.00")

CHOICE_LABELS: dict[str, Any] = {
    "invention": pgettext_lazy("asset field value", "invention"),
    "utility_model": pgettext_lazy("asset field value", "utility model"),
    "design": pgettext_lazy("asset field value", "design"),
    "pending": pgettext_lazy("asset field value", "pending"),
    "valid": pgettext_lazy("asset field value", "valid"),
    "lapsed": pgettext_lazy("asset field value", "lapsed"),
    "expired": pgettext_lazy("asset field value", "expired"),
    "invalidated": pgettext_lazy("asset field value", "invalidated"),
    "self_generated": pgettext_lazy("asset field value", "self-generated"),
    "purchased": pgettext_lazy("asset field value", "purchased"),
    "licensed": pgettext_lazy("asset field value", "licensed"),
    "public": pgettext_lazy("asset field value", "public"),
    "realtime": pgettext_lazy("asset field value", "real time"),
    "hourly": pgettext_lazy("asset field value", "hourly"),
    "daily": pgettext_lazy("asset field value", "daily"),
    "weekly": pgettext_lazy("asset field value", "weekly"),
    "monthly": pgettext_lazy("asset field value", "monthly"),
    "quarterly": pgettext_lazy("asset field value", "quarterly"),
    "yearly": pgettext_lazy("asset field value", "yearly"),
    "irregular": pgettext_lazy("asset field value", "irregular"),
    "static": pgettext_lazy("asset field value", "static"),
    "holding": pgettext_lazy("asset field value", "holding"),
    "processing_use": pgettext_lazy("asset field value", "processing and use"),
    "product_operation": pgettext_lazy("asset field value", "product operation"),
    "general": pgettext_lazy("asset field value", "general"),
    "important": pgettext_lazy("asset field value", "important"),
    "direct": pgettext_lazy("asset field value", "direct"),
    "share": pgettext_lazy("asset field value", "share"),
    "excess_earnings": pgettext_lazy("asset field value", "excess earnings"),
    "incremental": pgettext_lazy("asset field value", "incremental"),
}
# Data security levels the API accepts (it refuses core data with its own message).
SECURITY_LEVELS = ("general", "important")
LONG_TEXT = frozenset({"description"})


def field_name(column_name: str) -> str:
    """The form field of an import column: ``quality.accuracy`` -> ``quality_accuracy`` (ids stay CSS-safe)."""
    return column_name.replace(".", "_")


def _drf_field(kind: str, path: tuple[str, ...]) -> serializers.Field | None:
    fields: Any = DETAILS_SERIALIZERS[kind]().fields
    drf_field = None
    for key in path:
        drf_field = fields[key]
        fields = getattr(drf_field, "fields", {})
    return drf_field


def _choices(values: Sequence[str]) -> list[tuple[str, Any]]:
    return [(value, CHOICE_LABELS.get(value, value)) for value in values]


def _form_field(kind: str, column: columns.Column) -> forms.Field:
    label = KIND_LABELS.get(kind, {}).get(column.name) or FIELD_LABELS.get(column.name, column.name)
    help_text = FIELD_HELP.get(kind, {}).get(column.name, "")
    options: dict[str, Any] = {"label": label, "required": column.required, "help_text": help_text}
    drf_field = _drf_field(kind, column.path) if column.path else None
    if column.name == "security_level":
        return forms.ChoiceField(choices=[("", "---------"), *_choices(SECURITY_LEVELS)], **options)
    if isinstance(drf_field, serializers.ChoiceField):
        return forms.ChoiceField(choices=[("", "---------"), *_choices(list(drf_field.choices))], **options)
    if isinstance(drf_field, serializers.ListField) and isinstance(drf_field.child, serializers.ChoiceField):
        return forms.MultipleChoiceField(
            choices=_choices(list(drf_field.child.choices)), widget=forms.CheckboxSelectMultiple, **options
        )
    kind_of = column.type
    if kind_of is columns.ColumnType.BOOLEAN:
        return forms.BooleanField(**options)
    if kind_of is columns.ColumnType.DATE:
        return forms.CharField(widget=forms.DateInput(attrs={"type": "date"}), **options)
    if kind_of is columns.ColumnType.INTEGER:
        return forms.CharField(widget=forms.TextInput(attrs={"inputmode": "numeric"}), **options)
    if kind_of is columns.ColumnType.DECIMAL:
        return forms.CharField(widget=forms.TextInput(attrs={"inputmode": "decimal"}), **options)
    if kind_of is columns.ColumnType.REVENUE:
        options["help_text"] = help_text or REVENUE_HELP
        return forms.CharField(**options)
    if column.name in LONG_TEXT:
        return forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), **options)
    return forms.CharField(**options)


class ApiCheckedForm(forms.Form):
    """A form whose input is checked by the API's serializers and services, not by Django's fields: Django's
    own cleaning is skipped, and ``add_api_errors`` files the API's messages under the fields they belong to."""

    use_required_attribute = False  # the server answers for missing fields, with the API's message

    def full_clean(self) -> None:
        self._errors = ErrorDict()
        self.cleaned_data = {}

    def add_api_errors(self, errors: Mapping[str, Sequence[str]]) -> None:
        """``errors`` maps a field name (or ``""`` for the form as a whole) to messages."""
        for name, messages in errors.items():
            target = name if name in self.fields else None
            for message in messages:
                self.add_error(target, str(message))


class AssetRegisterForm(ApiCheckedForm):
    """Register an asset of one kind; the fields are the kind's import columns."""

    def __init__(self, *args: Any, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.columns = columns.columns_for(kind)
        for column in self.columns:
            self.fields[field_name(column.name)] = _form_field(kind, column)
        self.fields["title"].widget.attrs["maxlength"] = 200
        # The column each field stands for, to map the API's error paths back onto fields.
        self.field_of_column = {column.name: field_name(column.name) for column in self.columns}

    def _cell(self, column: columns.Column) -> str | None:
        name = field_name(column.name)
        form_field = self.fields[name]
        if isinstance(form_field, forms.MultipleChoiceField):
            values = [value.strip() for value in self.data.getlist(name) if value.strip()]
            return ";".join(values) or None
        if isinstance(form_field, forms.BooleanField):
            return "true" if self.data.get(name) else None
        value = (self.data.get(name) or "").strip()
        return value or None

    def payload(self) -> tuple[dict[str, Any], dict[str, list[str]]]:
        """The API payload ``{"kind", "title", "details"}`` and the errors met while reading the cells."""
        layout = columns.header_read(self.kind, [column.name for column in self.columns])
        record = columns.table_record(layout, [self._cell(column) for column in self.columns])
        body: dict[str, Any] = {"kind": self.kind, "details": record.details}
        if record.title is not None:
            body["title"] = record.title
        problems: dict[str, list[str]] = {}
        for column_name, message in record.errors:
            problems.setdefault(self.field_of_column.get(column_name, ""), []).append(message)
        return body, problems

    def field_for_path(self, path: str) -> str:
        """The field an API error path (``details.number``, ``details.quality.accuracy``) belongs to."""
        column = columns.error_column(self.kind, path)
        return self.field_of_column.get(column, "")

    def identifier_field(self) -> str:
        return self.field_of_column.get(columns.IDENTIFIER_COLUMNS[self.kind], "")


class DocumentUploadForm(ApiCheckedForm):
    """Evidence upload; checked by the API's ``DocumentUploadInputSerializer`` and ``document_upload``."""

    file = forms.FileField(label=_("File"), help_text=_("PDF, PNG, JPEG, XLSX or CSV"))
    kind = forms.ChoiceField(label=_("Document kind"), choices=[("", "---------"), *Document.Kind.choices])


class ImportUploadForm(ApiCheckedForm):
    """Bulk import upload; checked by the API's ``ImportCreateInputSerializer`` and ``import_job_create``."""

    kind = forms.ChoiceField(label=_("Asset kind"), choices=[("", "---------"), *Asset.Kind.choices])
    file = forms.FileField(
        label=_("File"), help_text=_("CSV (UTF-8 or GB18030), XLSX (first sheet) or JSON; one asset per row.")
    )
    dry_run = forms.BooleanField(
        label=_("Dry run"), required=False, help_text=_("Check every row but register nothing.")
    )


class ConsentGrantForm(forms.Form):
    """Consent to one bank. The date is read here; the rest goes through the API's serializer and service."""

    bank = forms.ChoiceField(label=_("Bank"))
    scopes = forms.MultipleChoiceField(
        label=_("What the bank may do"),
        choices=Consent.Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("Nothing ticked means both."),
    )
    expires_on = forms.DateField(
        label=_("Valid until"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("The consent ends at the end of this day (China Standard Time)."),
    )

    def __init__(self, *args: Any, banks: Sequence[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["bank"].choices = [("", "---------"), *[(bank.code, bank.name) for bank in banks]]

    def payload(self) -> dict[str, Any]:
        """The body POST /api/v1/consents/ takes, from the cleaned form."""
        data = self.cleaned_data
        expires_at = timezone.make_aware(datetime.combine(data["expires_on"], time(23, 59, 59)))
        body: dict[str, Any] = {"bank": data["bank"], "expires_at": expires_at.isoformat()}
        if data.get("scopes"):
            body["scopes"] = list(data["scopes"])
        return body


# --- display -----------------------------------------------------------------------------------------------

METHOD_LABELS: dict[str, Any] = {
    "cost": pgettext_lazy("asset field value", "cost approach"),
    "income": pgettext_lazy("asset field value", "income approach"),
    "market": pgettext_lazy("asset field value", "market approach"),
    "relief_from_royalty": pgettext_lazy("asset field value", "relief from royalty"),
}
CHANGE_LABELS: dict[str, Any] = {
    "created": pgettext_lazy("asset field value", "created"),
    "edited": pgettext_lazy("asset field value", "edited"),
    "imported": pgettext_lazy("asset field value", "imported"),
}


def field_label(kind: str, path: str) -> Any:
    """The label of a details path (``number``, ``quality.accuracy``) as the register form shows it."""
    return KIND_LABELS.get(kind, {}).get(path) or FIELD_LABELS.get(path, path)


def _display_value(value: Any) -> str:
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(value, str):
        return str(CHOICE_LABELS.get(value, value))
    return str(value)


def details_for_display(*, kind: str, details: Mapping[str, Any], prefix: str = "") -> list[tuple[Any, str]]:
    """An asset's details as (label, text) rows: nested objects flattened, lists joined with ;, revenue as
    YEAR:AMOUNT (the import's convention), choices in words."""
    rows: list[tuple[Any, str]] = []
    for key, value in details.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            rows.extend(details_for_display(kind=kind, details=value, prefix=f"{path}."))
        elif isinstance(value, list) and value and all(isinstance(item, Mapping) for item in value):
            if all(set(item) == {"year", "amount"} for item in value):
                text = "; ".join(f"{item['year']}:{item['amount']}" for item in value)
            else:
                text = "; ".join(", ".join(f"{k}={v}" for k, v in item.items()) for item in value)
            rows.append((field_label(kind, path), text))
        elif isinstance(value, list):
            rows.append((field_label(kind, path), "; ".join(_display_value(item) for item in value)))
        else:
            rows.append((field_label(kind, path), _display_value(value)))
    return rows
