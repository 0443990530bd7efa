"""Enterprise innovation points (企业创新积分制, domain.md 3.3): the pure maths, no Django.

One year's firms are scored together. Each firm is put in a stage cohort (start-up, growth, mature) by its age
and revenue; inside the cohort every indicator is winsorised at p1/p99 and turned into a percentile score
``s_k = 100 * percentile_rank(x_k)``; ``base = Σ w_k s_k`` with the stage's weights (Σ w = 1, so base is 0-100);
credentials add bonus points (capped at 30); ``total = base + bonus`` gives the tier A-E.

The percentile rank of a value is the share of the *other* firms of the cohort that have the indicator and a
lower value, ties counting half: ``(less + (equal - 1) / 2) / (n - 1)``, which is ``(average rank - 1) / (n - 1)``.
The lowest firm gets 0, the highest 100, a cohort whose values are all equal 50 each; a firm alone with an
indicator in its cohort therefore also scores 50 (``single_member_score``, the same value by convention).
A value of zero or less scores 0 whatever its rank. An indicator a firm lacks (no previous year for growth, no
revenue for R&D intensity, ...) scores 0, is left out of the ranking and is marked ``missing`` with the reason.

Winsorising (numpy's linear percentile) only changes ranks by tying the values beyond p1 or p99 with the
bound, so in cohorts of 101 firms or fewer it never changes a score; in bigger cohorts it stops an outlier
from pulling away from the firms just below p99 (and the same at the bottom). The winsorised value is shown.

Money comes in and goes out as ``Decimal``. Ranking runs on numpy float64 arrays, one vectorised pass per
stage and indicator; ranks are exact integers and percentile scores exact ``Decimal`` quotients, so results
are deterministic and do not depend on the order of the rows. Figures are rounded once, at the edge, with
``common.money.quantize`` (2 places, half up); ``base`` is the rounded sum of the unrounded weighted points.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext
from itertools import pairwise
from types import MappingProxyType
from typing import Any

import numpy as np

from common.money import decimal_from, quantize, quantize_rate
from valuation.methods.parameters import parse_decimal, parse_int

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)
MAX_BONUS_CAP = Decimal(30)  # InnovationScore's check constraint: bonus points are at most 30
TIERS = ("A", "B", "C", "D", "E")

# Exact, and independent of whatever decimal context the caller has set.
_CONTEXT = Context(prec=34, rounding=ROUND_HALF_EVEN)

# --- stages -----------------------------------------------------------------------------------------------

STARTUP = "startup"
GROWTH = "growth"
MATURE = "mature"
STAGES = (STARTUP, GROWTH, MATURE)  # the values of valuation.models.InnovationScore.Stage


# --- indicators -------------------------------------------------------------------------------------------

MONEY = "money"
RATIO = "ratio"
COUNT = "count"


@dataclass(frozen=True)
class IndicatorSpec:
    code: str
    label: str
    unit: str  # MONEY (CNY), RATIO (a fraction: 0.15 is 15 %) or COUNT


INDICATORS: tuple[IndicatorSpec, ...] = (
    IndicatorSpec("rd_expense", "R&D expense", MONEY),
    IndicatorSpec("rd_growth", "R&D expense growth on the previous year", RATIO),
    IndicatorSpec("rd_intensity", "R&D expense / revenue", RATIO),
    IndicatorSpec("rd_staff_share", "R&D staff / staff", RATIO),
    IndicatorSpec("invention_applications", "invention patent applications", COUNT),
    IndicatorSpec("pct_applications", "PCT applications", COUNT),
    IndicatorSpec("tech_contract_turnover", "technology-contract turnover", MONEY),
    IndicatorSpec("hightech_product_revenue", "high-tech product revenue", MONEY),
    IndicatorSpec("revenue", "revenue", MONEY),
    IndicatorSpec("revenue_growth", "revenue growth on the previous year", RATIO),
    IndicatorSpec("return_on_net_assets", "net profit / net assets", RATIO),
)
INDICATOR_CODES = tuple(spec.code for spec in INDICATORS)
_SPECS = {spec.code: spec for spec in INDICATORS}

# --- bonus items ------------------------------------------------------------------------------------------

HIGH_TECH_ENTERPRISE = "high_tech_enterprise"
SPECIALISED_PROVINCIAL = "specialised_provincial"
SPECIALISED_NATIONAL = "specialised_national"
TECH_SME = "tech_sme"
BONUS_CODES = (HIGH_TECH_ENTERPRISE, SPECIALISED_PROVINCIAL, SPECIALISED_NATIONAL, TECH_SME)


# --- inputs -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Credentials:
    """A firm's credentials as the registry holds them now (the registry keeps no history of them)."""

    high_tech_certificate_number: str = ""
    high_tech_certificate_expires_on: date | None = None
    specialised_level: str = "none"  # "none", "provincial" (专精特新) or "national" (little giant)
    tech_sme_number: str = ""


@dataclass(frozen=True)
class IndicatorRow:
    """One firm's indicators for one year (registry.FirmIndicator) plus what the points also need.

    ``firm_id`` only identifies the row. ``previous_*`` are the previous year's figures when the firm reported
    them. ``net_profit`` is not collected by the registry yet: return on net assets is missing until it is.
    """

    firm_id: int
    year: int
    revenue: Decimal
    rd_expense: Decimal
    staff_count: int
    rd_staff_count: int
    invention_applications: int = 0
    pct_applications: int = 0
    tech_contract_turnover: Decimal = ZERO
    hightech_product_revenue: Decimal = ZERO
    net_assets: Decimal | None = None
    net_profit: Decimal | None = None
    previous_revenue: Decimal | None = None
    previous_rd_expense: Decimal | None = None
    founded_on: date | None = None
    credentials: Credentials = field(default_factory=Credentials)

    def __post_init__(self) -> None:
        for name in ("revenue", "rd_expense", "tech_contract_turnover", "hightech_product_revenue"):
            _require_decimal(getattr(self, name), name)
        for name in ("net_assets", "net_profit", "previous_revenue", "previous_rd_expense"):
            if getattr(self, name) is not None:
                _require_decimal(getattr(self, name), name)
        for name in ("staff_count", "rd_staff_count", "invention_applications", "pct_applications"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be an int >= 0, not {value!r}")


def _require_decimal(value: object, name: str) -> None:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise TypeError(f"{name} must be a finite Decimal, not {value!r}")


# --- parameters -------------------------------------------------------------------------------------------


def _num_str(number: Decimal) -> str:
    """The shortest exact decimal string: ``0.15``, ``20000000``, ``85``."""
    if number == 0:
        return "0"
    return f"{number.normalize():f}"


@dataclass(frozen=True)
class InnovationParameters:
    """A versioned, immutable innovation-points parameter set (stored as ``InnovationParameterSet.data``)."""

    version: str
    # stage -> indicator code -> weight; every stage's weights sum to exactly 1 (codes left out weigh 0)
    weights_by_stage: Mapping[str, Mapping[str, Decimal]]
    # bonus code -> points; the sum a firm earns is capped at bonus_cap
    bonus_points: Mapping[str, Decimal]
    bonus_cap: Decimal = Decimal(30)
    winsorise_lower_percentile: Decimal = Decimal(1)
    winsorise_upper_percentile: Decimal = Decimal(99)
    single_member_score: Decimal = Decimal(50)
    # Stages, by completed years at 31 December of the scored year and that year's revenue (CNY):
    # start-up: younger than startup_age_below_years or revenue below startup_revenue_below;
    # mature: at least mature_age_from_years old and revenue at least mature_revenue_from; else growth.
    # A firm without a founding date is a start-up only by revenue and never mature.
    startup_age_below_years: int = 3
    startup_revenue_below: Decimal = Decimal(20_000_000)
    mature_age_from_years: int = 10
    mature_revenue_from: Decimal = Decimal(200_000_000)
    # (tier, lowest total points), best first; a total below the last cut-off gets bottom_tier
    tier_cutoffs: tuple[tuple[str, Decimal], ...] = (
        ("A", Decimal(85)),
        ("B", Decimal(70)),
        ("C", Decimal(55)),
        ("D", Decimal(40)),
    )
    bottom_tier: str = "E"
    notes: Mapping[str, str] = field(default_factory=dict)  # the rules in words, stored with the set

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if not isinstance(self.version, str) or not self.version:
            raise ValueError("parameter version must be a non-empty string")
        weights: dict[str, Mapping[str, Decimal]] = {}
        for stage, by_code in self.weights_by_stage.items():
            unknown = sorted(set(map(str, by_code)) - set(INDICATOR_CODES))
            if unknown:
                raise ValueError(f"parameter weights_by_stage.{stage}: unknown indicators {', '.join(unknown)}")
            weights[str(stage)] = MappingProxyType(
                {
                    code: parse_decimal(by_code[code], f"weights_by_stage.{stage}.{code}")
                    for code in INDICATOR_CODES
                    if code in by_code
                }
            )
        set_(self, "weights_by_stage", MappingProxyType(weights))
        unknown_bonus = sorted(set(map(str, self.bonus_points)) - set(BONUS_CODES))
        if unknown_bonus:
            raise ValueError(f"parameter bonus_points: unknown items {', '.join(unknown_bonus)}")
        set_(
            self,
            "bonus_points",
            MappingProxyType(
                {
                    code: parse_decimal(self.bonus_points[code], f"bonus_points.{code}")
                    for code in BONUS_CODES
                    if code in self.bonus_points
                }
            ),
        )
        for name in (
            "bonus_cap",
            "winsorise_lower_percentile",
            "winsorise_upper_percentile",
            "single_member_score",
            "startup_revenue_below",
            "mature_revenue_from",
        ):
            set_(self, name, parse_decimal(getattr(self, name), name))
        for name in ("startup_age_below_years", "mature_age_from_years"):
            parse_int(getattr(self, name), name)
        set_(
            self,
            "tier_cutoffs",
            tuple(
                (str(tier), parse_decimal(points, f"tier_cutoffs.{tier}")) for tier, points in list(self.tier_cutoffs)
            ),
        )
        set_(self, "notes", MappingProxyType({str(k): str(v) for k, v in self.notes.items()}))
        self._check()

    def _check(self) -> None:
        problems = []
        if set(self.weights_by_stage) != set(STAGES):
            problems.append(f"weights_by_stage must name exactly the stages {', '.join(STAGES)}")
        for stage, by_code in self.weights_by_stage.items():
            if any(w < 0 for w in by_code.values()):
                problems.append(f"weights of {stage} cannot be negative")
            if sum(by_code.values(), ZERO) != ONE:
                problems.append(f"weights of {stage} must sum to 1, not {sum(by_code.values(), ZERO)}")
        if any(p < 0 for p in self.bonus_points.values()):
            problems.append("bonus points cannot be negative")
        if not ZERO <= self.bonus_cap <= MAX_BONUS_CAP:
            problems.append(f"bonus_cap must be in [0, {MAX_BONUS_CAP}]")
        if not ZERO <= self.winsorise_lower_percentile < self.winsorise_upper_percentile <= HUNDRED:
            problems.append("winsorising percentiles must satisfy 0 <= lower < upper <= 100")
        if not ZERO <= self.single_member_score <= HUNDRED:
            problems.append("single_member_score must be in [0, 100]")
        if self.startup_age_below_years < 0 or self.mature_age_from_years < self.startup_age_below_years:
            problems.append("stage ages must satisfy 0 <= startup_age_below_years <= mature_age_from_years")
        if not ZERO <= self.startup_revenue_below <= self.mature_revenue_from:
            problems.append("stage revenues must satisfy 0 <= startup_revenue_below <= mature_revenue_from")
        tiers = [tier for tier, _ in self.tier_cutoffs] + [self.bottom_tier]
        if any(t not in TIERS for t in tiers) or len(set(tiers)) != len(tiers):
            problems.append(f"tiers must be distinct letters among {', '.join(TIERS)}")
        cutoffs = [points for _, points in self.tier_cutoffs]
        if any(later >= earlier for earlier, later in pairwise(cutoffs)):
            problems.append("tier cut-offs must be strictly decreasing")
        if problems:
            raise ValueError("invalid innovation parameters: " + "; ".join(problems))

    def weight(self, stage: str, code: str) -> Decimal:
        return self.weights_by_stage[stage].get(code, ZERO)

    # --- storage ----------------------------------------------------------------------------------------

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (decimals as strings), as stored in ``InnovationParameterSet.data``."""
        return {
            "version": self.version,
            "weights_by_stage": {
                stage: {code: _num_str(w) for code, w in by_code.items()}
                for stage, by_code in self.weights_by_stage.items()
            },
            "bonus_points": {code: _num_str(p) for code, p in self.bonus_points.items()},
            "bonus_cap": _num_str(self.bonus_cap),
            "winsorise_lower_percentile": _num_str(self.winsorise_lower_percentile),
            "winsorise_upper_percentile": _num_str(self.winsorise_upper_percentile),
            "single_member_score": _num_str(self.single_member_score),
            "startup_age_below_years": self.startup_age_below_years,
            "startup_revenue_below": _num_str(self.startup_revenue_below),
            "mature_age_from_years": self.mature_age_from_years,
            "mature_revenue_from": _num_str(self.mature_revenue_from),
            "tier_cutoffs": [[tier, _num_str(points)] for tier, points in self.tier_cutoffs],
            "bottom_tier": self.bottom_tier,
            "notes": dict(self.notes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InnovationParameters:
        """The inverse of ``as_dict``."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown innovation parameters: {', '.join(unknown)}")
        values = dict(data)
        if "tier_cutoffs" in values:
            values["tier_cutoffs"] = tuple((tier, points) for tier, points in values["tier_cutoffs"])
        return cls(**values)

    def __hash__(self) -> int:  # the mappings are read-only proxies, which do not hash themselves
        return hash(json.dumps(self.as_dict(), sort_keys=True))

    def __reduce__(self) -> tuple[Any, ...]:  # mapping proxies do not pickle; a stored dict does
        return (InnovationParameters.from_dict, (self.as_dict(),))


def _weights(**by_code: str) -> dict[str, Decimal]:
    return {code: Decimal(w) for code, w in by_code.items()}


DEFAULT_INNOVATION_PARAMETERS = InnovationParameters(
    version="2026.1",
    # The official weight table was not retrieved (domain.md 3.3 [A]); these follow the trial version's two
    # quantitative groups. Start-ups weigh R&D input and inventions, mature firms output and revenue.
    # return_on_net_assets weighs 0 everywhere: the registry does not collect net profit yet.
    weights_by_stage={
        STARTUP: _weights(
            rd_expense="0.15",
            rd_growth="0.10",
            rd_intensity="0.15",
            rd_staff_share="0.15",
            invention_applications="0.15",
            pct_applications="0.05",
            tech_contract_turnover="0.05",
            hightech_product_revenue="0.05",
            revenue="0.05",
            revenue_growth="0.10",
            return_on_net_assets="0",
        ),
        GROWTH: _weights(
            rd_expense="0.12",
            rd_growth="0.08",
            rd_intensity="0.12",
            rd_staff_share="0.10",
            invention_applications="0.12",
            pct_applications="0.06",
            tech_contract_turnover="0.08",
            hightech_product_revenue="0.12",
            revenue="0.08",
            revenue_growth="0.12",
            return_on_net_assets="0",
        ),
        MATURE: _weights(
            rd_expense="0.12",
            rd_growth="0.06",
            rd_intensity="0.10",
            rd_staff_share="0.08",
            invention_applications="0.12",
            pct_applications="0.08",
            tech_contract_turnover="0.10",
            hightech_product_revenue="0.14",
            revenue="0.12",
            revenue_growth="0.08",
            return_on_net_assets="0",
        ),
    },
    bonus_points={
        HIGH_TECH_ENTERPRISE: Decimal(10),
        SPECIALISED_PROVINCIAL: Decimal(5),
        SPECIALISED_NATIONAL: Decimal(10),
        TECH_SME: Decimal(5),
    },
    notes={
        "stages": (
            "Age in completed years at 31 December of the scored year. Start-up: younger than 3 years or revenue "
            "below CNY 20 m. Mature: at least 10 years and revenue at least CNY 200 m. Otherwise growth. "
            "No founding date: start-up only by revenue, never mature."
        ),
        "percentile": (
            "Within the stage cohort of the same year, among the firms that have the indicator: winsorise at "
            "p1/p99 (linear), then s = 100 x (values below + (ties - 1) / 2) / (n - 1). A firm alone with an "
            "indicator in its cohort scores 50. A value <= 0 scores 0. A missing indicator scores 0."
        ),
        "points": "base = sum of weight x s (weights sum to 1 per stage), 0-100; total = base + bonus.",
        "bonus": (
            "High-tech enterprise certificate valid on 31 December of the year +10; provincial specialised and "
            "sophisticated SME +5 or national little giant +10 (not both); tech-SME number +5; capped at 30."
        ),
        "tiers": "total >= 85 A, >= 70 B, >= 55 C, >= 40 D, else E.",
        "return_on_net_assets": "Weight 0 until the registry collects net profit.",
    },
)


# --- results ----------------------------------------------------------------------------------------------

SCORED = "scored"
NOT_POSITIVE = "not_positive"
MISSING = "missing"


@dataclass(frozen=True)
class IndicatorScore:
    code: str
    status: str  # SCORED, NOT_POSITIVE (value <= 0: scores 0) or MISSING (scores 0; ``note`` says why)
    raw: Decimal | None  # money 2 places, ratios 6 places, counts whole
    winsorised: Decimal | None
    percentile: Decimal  # the percentile score s_k, 0-100, 2 places
    weight: Decimal
    points: Decimal  # weight x s_k, 2 places
    ranked_among: int  # firms of the cohort that have this indicator (n)
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        spec = _SPECS[self.code]
        return {
            "code": self.code,
            "label": spec.label,
            "unit": spec.unit,
            "status": self.status,
            "raw": None if self.raw is None else str(self.raw),
            "winsorised": None if self.winsorised is None else str(self.winsorised),
            "percentile": str(self.percentile),
            "weight": _num_str(self.weight),
            "points": str(self.points),
            "ranked_among": self.ranked_among,
            "note": self.note,
        }


@dataclass(frozen=True)
class BonusItem:
    code: str
    points: Decimal
    note: str

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "points": str(quantize(self.points)), "note": self.note}


@dataclass(frozen=True)
class StageBasis:
    stage: str
    age_years: int | None
    revenue: Decimal
    reason: str


@dataclass(frozen=True)
class ScoreResult:
    firm_id: int
    year: int
    stage: str
    stage_basis: StageBasis
    cohort_size: int  # firms of the same year in the same stage
    indicators: tuple[IndicatorScore, ...]
    bonus_items: tuple[BonusItem, ...]
    bonus_uncapped: Decimal
    base_points: Decimal  # 0-100, 2 places
    bonus_points: Decimal  # 0-bonus_cap, 2 places
    total_points: Decimal  # base + bonus
    tier: str
    parameters_version: str

    def breakdown(self) -> dict[str, Any]:
        """JSON-ready explanation, as stored in ``InnovationScore.breakdown``."""
        return {
            "parameter_set": self.parameters_version,
            "stage": {
                "stage": self.stage,
                "age_years": self.stage_basis.age_years,
                "revenue": str(quantize(self.stage_basis.revenue)),
                "reason": self.stage_basis.reason,
            },
            "indicators": [item.as_dict() for item in self.indicators],
            "bonus": [item.as_dict() for item in self.bonus_items],
            "bonus_uncapped": str(quantize(self.bonus_uncapped)),
        }


# --- the parts --------------------------------------------------------------------------------------------


def firm_age(row: IndicatorRow) -> int | None:
    """Completed years at 31 December of the row's year (never negative), or None without a founding date."""
    if row.founded_on is None:
        return None
    return max(0, row.year - row.founded_on.year)


def firm_stage(row: IndicatorRow, params: InnovationParameters = DEFAULT_INNOVATION_PARAMETERS) -> StageBasis:
    age = firm_age(row)
    revenue = row.revenue
    if age is not None and age < params.startup_age_below_years:
        return StageBasis(STARTUP, age, revenue, f"younger than {params.startup_age_below_years} years")
    if revenue < params.startup_revenue_below:
        return StageBasis(STARTUP, age, revenue, f"revenue below CNY {_num_str(params.startup_revenue_below)}")
    if age is not None and age >= params.mature_age_from_years and revenue >= params.mature_revenue_from:
        reason = (
            f"at least {params.mature_age_from_years} years old and revenue at least "
            f"CNY {_num_str(params.mature_revenue_from)}"
        )
        return StageBasis(MATURE, age, revenue, reason)
    reason = "neither start-up nor mature" + (" (no founding date: never mature)" if age is None else "")
    return StageBasis(GROWTH, age, revenue, reason)


def _growth(current: Decimal, previous: Decimal | None, what: str) -> tuple[Decimal | None, str]:
    if previous is None:
        return None, f"no previous-year {what}"
    if previous <= 0:
        return None, f"previous-year {what} is zero: growth undefined"
    return (current - previous) / previous, ""


def derive_indicators(row: IndicatorRow) -> dict[str, tuple[Decimal | None, str]]:
    """Each indicator's value (None when the firm lacks it) and, when lacking, why. Unrounded."""
    with localcontext(_CONTEXT):
        out: dict[str, tuple[Decimal | None, str]] = {
            "rd_expense": (row.rd_expense, ""),
            "rd_growth": _growth(row.rd_expense, row.previous_rd_expense, "R&D expense"),
            "rd_intensity": (
                (row.rd_expense / row.revenue, "") if row.revenue > 0 else (None, "revenue is zero: ratio undefined")
            ),
            "rd_staff_share": (
                (Decimal(row.rd_staff_count) / Decimal(row.staff_count), "")
                if row.staff_count > 0
                else (None, "staff count is zero: share undefined")
            ),
            "invention_applications": (Decimal(row.invention_applications), ""),
            "pct_applications": (Decimal(row.pct_applications), ""),
            "tech_contract_turnover": (row.tech_contract_turnover, ""),
            "hightech_product_revenue": (row.hightech_product_revenue, ""),
            "revenue": (row.revenue, ""),
            "revenue_growth": _growth(row.revenue, row.previous_revenue, "revenue"),
        }
        if row.net_profit is None:
            out["return_on_net_assets"] = (None, "net profit is not reported")
        elif row.net_assets is None or row.net_assets <= 0:
            out["return_on_net_assets"] = (None, "net assets are not reported or not positive")
        else:
            out["return_on_net_assets"] = (row.net_profit / row.net_assets, "")
    return out


def bonus_items(
    row: IndicatorRow, params: InnovationParameters = DEFAULT_INNOVATION_PARAMETERS
) -> tuple[BonusItem, ...]:
    """The bonus items a firm earns for the row's year (before the cap); items worth 0 are left out."""
    creds = row.credentials
    year_end = date(row.year, 12, 31)
    earned: list[tuple[str, str]] = []
    expires = creds.high_tech_certificate_expires_on
    if creds.high_tech_certificate_number.strip() and expires is not None and expires >= year_end:
        earned.append((HIGH_TECH_ENTERPRISE, f"high-tech enterprise certificate valid until {expires.isoformat()}"))
    if creds.specialised_level == "national":
        earned.append((SPECIALISED_NATIONAL, "national specialised and sophisticated little giant"))
    elif creds.specialised_level == "provincial":
        earned.append((SPECIALISED_PROVINCIAL, "provincial specialised and sophisticated SME"))
    if creds.tech_sme_number.strip():
        earned.append((TECH_SME, "registered technology-based SME"))
    items = []
    for code, note in earned:
        points = params.bonus_points.get(code, ZERO)
        if points > 0:
            items.append(BonusItem(code, points, note))
    return tuple(items)


def tier_for(total_points: Decimal, params: InnovationParameters = DEFAULT_INNOVATION_PARAMETERS) -> str:
    for tier, lowest in params.tier_cutoffs:
        if total_points >= lowest:
            return tier
    return params.bottom_tier


def percentile_ranks(
    values: np.ndarray | Sequence[float], params: InnovationParameters = DEFAULT_INNOVATION_PARAMETERS
) -> tuple[np.ndarray, list[Decimal]]:
    """Winsorise ``values`` (one cohort, one indicator, all present) and give each its percentile score.

    Returns the winsorised values and the unrounded scores 0-100 (exact quotients; the x <= 0 rule is not
    applied here). Ties share the average rank.
    """
    x = np.asarray(values, dtype=np.float64)
    n = x.size
    if n == 0:
        return x, []
    if not np.all(np.isfinite(x)):
        raise ValueError("indicator values must be finite")
    lower, upper = np.percentile(
        x, [float(params.winsorise_lower_percentile), float(params.winsorise_upper_percentile)], method="linear"
    )
    winsorised = np.clip(x, lower, upper)
    if n == 1:
        return winsorised, [params.single_member_score]
    _distinct, inverse, counts = np.unique(winsorised, return_inverse=True, return_counts=True)
    below = np.concatenate((np.zeros(1, dtype=np.int64), np.cumsum(counts)[:-1]))
    # (below + (equal - 1) / 2) / (n - 1), kept as the integer numerator over 2 (n - 1)
    numerators = 2 * below[inverse] + counts[inverse] - 1
    denominator = Decimal(2 * (n - 1))
    with localcontext(_CONTEXT):
        scores = [HUNDRED * Decimal(int(num)) / denominator for num in numerators]
    return winsorised, scores


def _shown(value: Decimal, unit: str) -> Decimal:
    if unit == RATIO:
        return quantize_rate(value)
    if unit == COUNT and value == value.to_integral_value():
        return value.quantize(ONE)
    return quantize(value)


@dataclass
class _Cell:
    status: str
    raw: Decimal | None
    winsorised: Decimal | None
    score: Decimal
    ranked_among: int
    note: str


def score_cohort(
    rows: Iterable[IndicatorRow], params: InnovationParameters = DEFAULT_INNOVATION_PARAMETERS
) -> list[ScoreResult]:
    """Score every firm of one year at once; results in ``firm_id`` order, whatever the order of ``rows``."""
    ordered = sorted(rows, key=lambda r: r.firm_id)
    if not ordered:
        return []
    years = {r.year for r in ordered}
    if len(years) != 1:
        raise ValueError(f"a cohort is one year; got {sorted(years)}")
    ids = [r.firm_id for r in ordered]
    if len(set(ids)) != len(ids):
        raise ValueError("a firm appears twice in the cohort")

    bases = [firm_stage(r, params) for r in ordered]
    derived = [derive_indicators(r) for r in ordered]
    cells: list[dict[str, _Cell]] = [{} for _ in ordered]
    cohort_sizes: dict[str, int] = {}
    for stage in STAGES:
        members = [i for i, basis in enumerate(bases) if basis.stage == stage]
        cohort_sizes[stage] = len(members)
        for spec in INDICATORS:
            present: list[tuple[int, Decimal]] = []
            for i in members:
                value, reason = derived[i][spec.code]
                if value is None:
                    cells[i][spec.code] = _Cell(MISSING, None, None, ZERO, 0, f"{reason}: scores 0")
                else:
                    present.append((i, value))
            as_floats = [float(value) for _, value in present]
            winsorised, scores = percentile_ranks(as_floats, params)
            clipped_values = winsorised.tolist()
            for position, (i, raw) in enumerate(present):
                note = ""
                if raw <= 0:
                    status, score, note = NOT_POSITIVE, ZERO, "value is zero or less: scores 0"
                else:
                    status, score = SCORED, scores[position]
                    if len(present) == 1:
                        note = (
                            "the only firm of its stage cohort with this indicator: scores "
                            f"{_num_str(params.single_member_score)} by convention"
                        )
                clipped = clipped_values[position]
                cells[i][spec.code] = _Cell(
                    status=status,
                    raw=raw,
                    winsorised=raw if clipped == as_floats[position] else decimal_from(clipped),
                    score=score,
                    ranked_among=len(present),
                    note=note,
                )
            for i in members:
                cell = cells[i][spec.code]
                if cell.status == MISSING:
                    cell.ranked_among = len(present)

    results = []
    for i, row in enumerate(ordered):
        stage = bases[i].stage
        indicator_scores = []
        with localcontext(_CONTEXT):
            base_unrounded = ZERO
            for spec in INDICATORS:
                cell = cells[i][spec.code]
                weight = params.weight(stage, spec.code)
                weighted = weight * cell.score
                base_unrounded += weighted
                indicator_scores.append(
                    IndicatorScore(
                        code=spec.code,
                        status=cell.status,
                        raw=None if cell.raw is None else _shown(cell.raw, spec.unit),
                        winsorised=None if cell.winsorised is None else _shown(cell.winsorised, spec.unit),
                        percentile=quantize(cell.score),
                        weight=weight,
                        points=quantize(weighted),
                        ranked_among=cell.ranked_among,
                        note=cell.note,
                    )
                )
            items = bonus_items(row, params)
            bonus_uncapped = sum((item.points for item in items), ZERO)
        base = min(max(quantize(base_unrounded), ZERO), quantize(HUNDRED))
        bonus = quantize(min(bonus_uncapped, params.bonus_cap))
        total = base + bonus
        results.append(
            ScoreResult(
                firm_id=row.firm_id,
                year=row.year,
                stage=stage,
                stage_basis=bases[i],
                cohort_size=cohort_sizes[stage],
                indicators=tuple(indicator_scores),
                bonus_items=items,
                bonus_uncapped=bonus_uncapped,
                base_points=base,
                bonus_points=bonus,
                total_points=total,
                tier=tier_for(total, params),
                parameters_version=params.version,
            )
        )
    return results
