"""Validation of an asset's ``details`` by kind (api.md, "Asset details by kind").

Each kind has a strict serializer: unknown fields are refused, identifiers are checked and normalised, dates
must be in order and money is a non-negative decimal. ``details_validate`` returns the JSON-ready details and
the registered identifier that must be unique across the registry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from common.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS
from registry import identifiers as ids
from registry.validators import identifier_message

IPC_RE = re.compile(r"^[A-H]\d{2}[A-Z]\s?\d{1,4}/\d{1,6}$")
PATENT_KIND_TO_TYPE = {
    "invention": "invention",
    "pct_invention": "invention",
    "utility_model": "utility_model",
    "pct_utility_model": "utility_model",
    "design": "design",
}


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know, so a typo is an error rather than silently dropped data."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: [_("Unknown field.")] for name in unknown})
        return super().to_internal_value(data)


def money_field(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES, min_value=Decimal("0"), **kwargs
    )


class RevenueEntrySerializer(StrictSerializer):
    year = serializers.IntegerField(min_value=1980, max_value=2100)
    amount = money_field()


class RevenueHistoryField(serializers.ListField):
    child = RevenueEntrySerializer()

    def to_internal_value(self, data: Any) -> Any:
        value = super().to_internal_value(data)
        years = [entry["year"] for entry in value]
        if len(years) != len(set(years)):
            raise serializers.ValidationError(_("Each year may appear only once."))
        return sorted(value, key=lambda entry: entry["year"])


def _identifier(fn: Any, value: str) -> str:
    try:
        return fn(value)
    except ids.InvalidIdentifier as exc:
        raise serializers.ValidationError(identifier_message(exc), code=exc.code) from None


class ComparableSerializer(StrictSerializer):
    """A comparable transaction for the market approach."""

    price = money_field()
    quality_score = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=Decimal("0.01"), max_value=100, required=False
    )
    supply_demand_factor = serializers.DecimalField(
        max_digits=8, decimal_places=4, min_value=Decimal("0.0001"), required=False
    )
    capacity_factor = serializers.DecimalField(
        max_digits=8, decimal_places=4, min_value=Decimal("0.0001"), required=False
    )
    other_factor = serializers.DecimalField(max_digits=8, decimal_places=4, min_value=Decimal("0.0001"), required=False)
    trade_date = serializers.DateField(required=False)
    price_index_at_trade = serializers.DecimalField(
        max_digits=10, decimal_places=4, min_value=Decimal("0.0001"), required=False
    )


def comparables_field() -> serializers.ListField:
    return serializers.ListField(child=ComparableSerializer(), required=False, max_length=50)


class PatentDetailsSerializer(StrictSerializer):
    number = serializers.CharField(max_length=40, help_text="CNIPA application number, e.g. 202110123456.7")
    patent_type = serializers.ChoiceField(choices=["invention", "utility_model", "design"])
    filing_date = serializers.DateField()
    legal_status = serializers.ChoiceField(choices=["pending", "valid", "lapsed", "expired", "invalidated"])
    grant_date = serializers.DateField(required=False, allow_null=True)
    claims = serializers.IntegerField(required=False, min_value=0, max_value=10000)
    forward_citations = serializers.IntegerField(required=False, min_value=0, max_value=1000000)
    ipc = serializers.ListField(child=serializers.CharField(max_length=20), required=False, max_length=50)
    revenue_history = RevenueHistoryField(required=False, max_length=50)
    comparables = comparables_field()

    def validate_number(self, value: str) -> str:
        try:
            self._parsed = ids.patent_number_parse(value)
        except ids.InvalidIdentifier as exc:
            raise serializers.ValidationError(identifier_message(exc), code=exc.code) from None
        return self._parsed.normalized

    def validate_ipc(self, value: list[str]) -> list[str]:
        bad = [code for code in value if not IPC_RE.match(code.strip())]
        if bad:
            raise serializers.ValidationError(
                _("Not an IPC symbol (e.g. G06F 16/00): %(codes)s") % {"codes": ", ".join(bad)}
            )
        return [code.strip() for code in value]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        errors: dict[str, list[str]] = {}
        parsed = getattr(self, "_parsed", None)
        if parsed is not None and PATENT_KIND_TO_TYPE.get(parsed.kind, attrs["patent_type"]) != attrs["patent_type"]:
            errors["patent_type"] = [
                _("The application number is of a %(kind)s patent, not %(type)s.")
                % {"kind": PATENT_KIND_TO_TYPE[parsed.kind].replace("_", " "), "type": attrs["patent_type"]}
            ]
        grant = attrs.get("grant_date")
        if grant is not None and grant < attrs["filing_date"]:
            errors["grant_date"] = [_("The grant date cannot be before the filing date.")]
        if attrs["legal_status"] == "valid" and grant is None and attrs["patent_type"] == "invention":
            errors.setdefault("grant_date", []).append(_("A valid invention patent needs its grant date."))
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class TrademarkDetailsSerializer(StrictSerializer):
    number = serializers.CharField(max_length=12)
    nice_classes = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=45), min_length=1, max_length=45
    )
    valid_until = serializers.DateField()
    revenue_history = RevenueHistoryField(required=False, max_length=50)
    comparables = comparables_field()

    def validate_number(self, value: str) -> str:
        return _identifier(ids.trademark_number_normalize, value)

    def validate_nice_classes(self, value: list[int]) -> list[int]:
        if len(value) != len(set(value)):
            raise serializers.ValidationError(_("Each Nice class may appear only once."))
        return sorted(value)


class SoftwareDetailsSerializer(StrictSerializer):
    registration_number = serializers.CharField(max_length=20, help_text="YYYYSR + serial, e.g. 2016SR172900")
    version = serializers.CharField(max_length=40)
    completed_on = serializers.DateField()
    certificate_number = serializers.CharField(max_length=30, required=False)
    first_published_on = serializers.DateField(required=False, allow_null=True)
    revenue_history = RevenueHistoryField(required=False, max_length=50)
    comparables = comparables_field()

    def validate_registration_number(self, value: str) -> str:
        return _identifier(ids.software_registration_number_normalize, value)

    def validate_certificate_number(self, value: str) -> str:
        return _identifier(ids.software_certificate_number_normalize, value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        published = attrs.get("first_published_on")
        if published is not None and published < attrs["completed_on"]:
            raise serializers.ValidationError(
                {"first_published_on": [_("First publication cannot be before completion.")]}
            )
        return attrs


class DataRegistrationSerializer(StrictSerializer):
    registry = serializers.CharField(max_length=100)
    number = serializers.CharField(max_length=60)
    issued_on = serializers.DateField()
    valid_until = serializers.DateField(required=False, allow_null=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("valid_until") and attrs["valid_until"] < attrs["issued_on"]:
            raise serializers.ValidationError({"valid_until": [_("Validity cannot end before issue.")]})
        return attrs


QUALITY_DIMENSIONS = ("normativity", "completeness", "accuracy", "consistency", "timeliness", "accessibility")
COST_COMPONENTS = ("acquisition", "processing", "storage", "labor", "other")


class DataQualitySerializer(StrictSerializer):
    normativity = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=0, max_value=100)
    completeness = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=0, max_value=100)
    accuracy = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=0, max_value=100)
    consistency = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=0, max_value=100)
    timeliness = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=0, max_value=100)
    accessibility = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=0, max_value=100)


class DataCostSerializer(StrictSerializer):
    acquisition = money_field(required=False)
    processing = money_field(required=False)
    storage = money_field(required=False)
    labor = money_field(required=False)
    other = money_field(required=False)


class DataIncomeSerializer(StrictSerializer):
    """Inputs of the income approach for a data asset (CAS guidance: direct, share, excess earnings, incremental)."""

    variant = serializers.ChoiceField(choices=["direct", "share", "excess_earnings", "incremental"])
    ebit_history = RevenueHistoryField(required=False, max_length=50)
    share_rate = serializers.DecimalField(
        max_digits=7, decimal_places=6, min_value=Decimal("0.000001"), max_value=1, required=False
    )
    contributory_charges = RevenueHistoryField(required=False, max_length=50)
    revenue_without_history = RevenueHistoryField(required=False, max_length=50)
    cost_savings = RevenueHistoryField(required=False, max_length=50)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        needed = {
            "direct": ["ebit_history"],
            "share": ["share_rate"],
            "excess_earnings": ["contributory_charges"],
            "incremental": [],
        }[attrs["variant"]]
        missing = [name for name in needed if not attrs.get(name)]
        if attrs["variant"] == "incremental" and not (
            attrs.get("revenue_without_history") or attrs.get("cost_savings")
        ):
            missing.append("revenue_without_history")
        if missing:
            raise serializers.ValidationError({name: [_("Required for this variant.")] for name in missing})
        return attrs


class DataDetailsSerializer(StrictSerializer):
    description = serializers.CharField(max_length=4000)
    category = serializers.CharField(max_length=100)
    source = serializers.ChoiceField(choices=["self_generated", "purchased", "licensed", "public"])
    record_count = serializers.IntegerField(min_value=0)
    update_frequency = serializers.ChoiceField(
        choices=["realtime", "hourly", "daily", "weekly", "monthly", "quarterly", "yearly", "irregular", "static"]
    )
    security_level = serializers.CharField(max_length=20)
    rights = serializers.ListField(
        child=serializers.ChoiceField(choices=["holding", "processing_use", "product_operation"]),
        min_length=1,
        max_length=3,
    )
    size_bytes = serializers.IntegerField(required=False, min_value=0)
    time_span_start = serializers.DateField(required=False, allow_null=True)
    time_span_end = serializers.DateField(required=False, allow_null=True)
    contains_personal_info = serializers.BooleanField(required=False)
    registration = DataRegistrationSerializer(required=False)
    quality = DataQualitySerializer(required=False)
    cost = DataCostSerializer(required=False)
    revenue_history = RevenueHistoryField(required=False, max_length=50)
    keywords = serializers.ListField(child=serializers.CharField(max_length=50), required=False, max_length=30)
    license = serializers.CharField(max_length=200, required=False)
    income = DataIncomeSerializer(required=False)
    economic_life_years = serializers.IntegerField(min_value=1, max_value=50, required=False)
    comparables = comparables_field()

    def validate_security_level(self, value: str) -> str:
        if value == "core":
            raise serializers.ValidationError(
                _("Core data (核心数据) cannot be registered or pledged."), code="core_data_refused"
            )
        if value not in ("general", "important"):
            raise serializers.ValidationError(_("Choose general or important."), code="invalid_choice")
        return value

    def validate_rights(self, value: list[str]) -> list[str]:
        if len(value) != len(set(value)):
            raise serializers.ValidationError(_("Each right may appear only once."))
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("time_span_start"), attrs.get("time_span_end")
        if start and end and end < start:
            raise serializers.ValidationError({"time_span_end": [_("The time span cannot end before it starts.")]})
        return attrs


DETAILS_SERIALIZERS: dict[str, type[StrictSerializer]] = {
    "patent": PatentDetailsSerializer,
    "trademark": TrademarkDetailsSerializer,
    "software": SoftwareDetailsSerializer,
    "data": DataDetailsSerializer,
}


@dataclass(frozen=True)
class ValidDetails:
    details: dict[str, Any]
    identifier: str | None


def identifier_of(kind: str, details: dict[str, Any]) -> str | None:
    if kind == "patent":
        return f"patent:{details['number']}"
    if kind == "trademark":
        return f"trademark:{details['number']}"
    if kind == "software":
        return f"software:{details['registration_number']}"
    registration = details.get("registration")
    if registration:
        return f"data:{registration['registry'].strip().casefold()}:{registration['number'].strip().upper()}"
    return None


def details_validate(*, kind: str, details: Any) -> ValidDetails:
    """Validate ``details`` for ``kind``; raise a DRF ValidationError keyed by ``details.<path>``."""
    serializer = DETAILS_SERIALIZERS[kind](data=details)
    if not serializer.is_valid():
        raise serializers.ValidationError({"details": serializer.errors})
    clean = dict(serializer.data)
    return ValidDetails(details=clean, identifier=identifier_of(kind, clean))


PATENT_TERM_YEARS = {"invention": 20, "utility_model": 10, "design": 15}


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def asset_marks(*, kind: str, details: dict[str, Any], today: date) -> list[str]:
    """Warnings a reviewer or bank should see at a glance; the asset stays registered (history is kept), but a
    marked asset is worth nothing as collateral. ``lapsed``, ``expired`` and ``invalidated`` mirror a patent's
    legal status; ``term_ended`` means its statutory term has run out; ``pending`` an ungranted application."""
    marks: list[str] = []
    if kind == "patent":
        status = details.get("legal_status")
        if status in ("lapsed", "expired", "invalidated", "pending"):
            marks.append(status)
        filed, term = details.get("filing_date"), PATENT_TERM_YEARS.get(details.get("patent_type", ""))
        if filed and term and _years_after(date.fromisoformat(filed), term) <= today and status != "expired":
            marks.append("term_ended")
    elif kind == "trademark":
        until = details.get("valid_until")
        if until and date.fromisoformat(until) < today:
            marks.append("expired")
    elif kind == "data":
        until = (details.get("registration") or {}).get("valid_until")
        if until and date.fromisoformat(until) < today:
            marks.append("registration_expired")
        if details.get("contains_personal_info"):
            marks.append("personal_info")
    return marks
