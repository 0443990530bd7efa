"""Types shared by the valuation methods, and the readers that turn an asset's ``details`` into numbers.

Pure Python (no Django): ``Decimal`` in, ``Decimal`` out. Money in ``details`` is a decimal string
(api.md, "Asset details by kind"); dates are ISO strings or ``date`` objects. A malformed field is an
error (``ValuationNotPossible`` with code ``invalid_data``), never silently skipped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from common.money import decimal_from, quantize

if TYPE_CHECKING:
    from valuation.methods.parameters import Parameters

ASSET_KINDS = ("data", "patent", "trademark", "software")


class ValuationMethod(StrEnum):
    COST = "cost"
    INCOME = "income"
    MARKET = "market"
    RELIEF_FROM_ROYALTY = "relief_from_royalty"


@dataclass(frozen=True)
class ValuationInput:
    kind: str  # "data" | "patent" | "trademark" | "software"
    details: Mapping[str, Any]  # the asset's details as api.md describes them (money as decimal strings)
    industry: str  # industry code, e.g. "OPTO_ELEC"; unknown codes use the parameters' defaults
    as_of: date  # valuation date


@dataclass(frozen=True)
class MethodFigure:
    """One method's result: P50 as ``value``, P10 as ``low``, P90 as ``high`` (unrounded)."""

    method: ValuationMethod
    value: Decimal
    low: Decimal
    high: Decimal
    weight: Decimal
    drivers: dict[str, str]
    # the names of the 2-4 drivers that matter most (keys of ``drivers``), shown first in the explanation
    key_drivers: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class ValuationOutcome:
    value: Decimal
    low: Decimal
    high: Decimal
    currency: str
    method: str
    figures: tuple[MethodFigure, ...]
    skipped: dict[str, str]
    inputs: dict[str, Any]
    explanation: dict[str, Any]
    seed: int
    parameter_set: str
    engine_version: str


class ValuationNotPossible(Exception):  # noqa: N818, RUF100 - name fixed by the public API
    """No value can be computed. ``code``: ``insufficient_data``, ``invalid_data`` or ``unsupported_kind``.

    ``reasons`` maps a method (or a ``details.<field>`` path) to what is missing or wrong.
    """

    def __init__(
        self, message: str, *, code: str = "insufficient_data", reasons: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.reasons: dict[str, str] = dict(reasons or {})


class Calculator(Protocol):
    """A valuation method. Registered in ``CALCULATORS``; the engine never names a method itself."""

    method: ValuationMethod
    formula: str  # the formula in words, for the explanation
    detail_fields: tuple[str, ...]  # the ``details`` fields the method reads

    def applicable(self, inp: ValuationInput, params: Parameters) -> str | None:
        """Why the method cannot value this asset, or None when it can. Malformed data raises instead."""
        ...

    def compute(self, inp: ValuationInput, params: Parameters, rng: np.random.Generator) -> MethodFigure:
        """Value an asset for which ``applicable`` returned None."""
        ...

    def used_details(self, details: Mapping[str, Any]) -> dict[str, Any]:
        """The ``details`` fields the method reads, normalised and JSON-ready (for ``inputs``)."""
        ...


class BatchCalculator(Calculator, Protocol):
    """A method whose Monte Carlo runs for many assets at once (one numpy computation per method and batch).

    The engine calls ``prepare`` for each asset, then ``simulate_batch`` once for all the assets of a batch
    the method applies to, then ``figure`` for each of them with the percentiles of its paths. A calculator
    without these three (only ``Calculator``) still works: the engine calls its ``compute`` asset by asset.
    """

    def prepare(self, inp: ValuationInput, params: Parameters) -> Any:
        """Everything the method uses for this asset (its "basis"), or a string: why it cannot apply."""
        ...

    def simulate_batch(self, bases: Sequence[Any], params: Parameters, variates: Variates) -> np.ndarray:
        """The simulated values, shape ``(len(bases), paths)``; row a uses row a of every variate array."""
        ...

    def figure(self, basis: Any, params: Parameters, low: Decimal, value: Decimal, high: Decimal) -> MethodFigure:
        """The method's figure for one asset from its P10/P50/P90, with the drivers (weight 1)."""
        ...


# --- reading details ---------------------------------------------------------------------------------


def invalid(path: str, problem: str) -> ValuationNotPossible:
    field = f"details.{path}"
    return ValuationNotPossible(f"{field}: {problem}", code="invalid_data", reasons={field: problem})


def read_decimal(value: object, path: str) -> Decimal:
    try:
        return decimal_from(value)
    except (TypeError, ValueError) as exc:
        raise invalid(path, str(exc)) from None


def read_money(value: object, path: str) -> Decimal:
    amount = read_decimal(value, path)
    if amount < 0:
        raise invalid(path, f"an amount cannot be negative ({amount})")
    return amount


def read_score(value: object, path: str) -> Decimal:
    score = read_decimal(value, path)
    if not Decimal(0) <= score <= Decimal(100):
        raise invalid(path, f"a quality score is between 0 and 100, not {score}")
    return score


def read_date(value: object, path: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise invalid(path, f"{value!r} is not an ISO date (YYYY-MM-DD)") from None
    raise invalid(path, f"{value!r} is not a date")


def read_positive(value: object, path: str) -> Decimal:
    number = read_decimal(value, path)
    if number <= 0:
        raise invalid(path, f"must be above zero, not {number}")
    return number


def read_int(value: object, path: str, *, minimum: int = 0) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(path, f"{value!r} is not a whole number")
    if value < minimum:
        raise invalid(path, f"must be at least {minimum}, not {value}")
    return value


def read_list(value: object, path: str, what: str) -> Sequence[Any]:
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, list | tuple):
        raise invalid(path, f"must be a list of {what}")
    return value


def read_mapping(value: object, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise invalid(path, "must be an object")
    return value


@dataclass(frozen=True)
class RevenueYear:
    year: int
    amount: Decimal


def read_revenue_history(value: object, path: str = "revenue_history") -> tuple[RevenueYear, ...]:
    """``[{"year": 2024, "amount": "1200000.00"}, ...]`` sorted by year; years must be unique."""
    if value is None:
        return ()
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, list | tuple):
        raise invalid(path, "must be a list of {year, amount}")
    entries: dict[int, RevenueYear] = {}
    for index, item in enumerate(value):
        item_path = f"{path}[{index}]"
        entry = read_mapping(item, item_path)
        raw_year = entry.get("year")
        if isinstance(raw_year, str) and raw_year.strip().isdigit():
            raw_year = int(raw_year.strip())
        if isinstance(raw_year, bool) or not isinstance(raw_year, int):
            raise invalid(f"{item_path}.year", f"{raw_year!r} is not a year")
        if "amount" not in entry:
            raise invalid(f"{item_path}.amount", "is missing")
        if raw_year in entries:
            raise invalid(path, f"year {raw_year} appears more than once")
        entries[raw_year] = RevenueYear(raw_year, read_money(entry["amount"], f"{item_path}.amount"))
    return tuple(entries[year] for year in sorted(entries))


# --- JSON-ready strings ----------------------------------------------------------------------------------


def money_str(amount: Decimal) -> str:
    """An amount as a decimal string, with cents when that is exact (input amounts are never rounded)."""
    cents = quantize(amount)
    return f"{cents:f}" if cents == amount else f"{amount:f}"


def number_str(number: Decimal) -> str:
    """A rate, score or count as the shortest exact decimal string (``0.14``, ``80``, ``2.497268``)."""
    if number == 0:
        return "0"
    return f"{number.normalize():f}"


# --- Monte Carlo summaries -------------------------------------------------------------------------------

PERCENTILES = {"low": 10, "value": 50, "high": 90}
PERCENTILE_METHOD = "linear"


def percentiles(values: np.ndarray) -> tuple[Decimal, Decimal, Decimal]:
    """(P10, P50, P90) of simulated values, as unrounded Decimals, never negative."""
    p_low, p_mid, p_high = np.percentile(
        np.maximum(values, 0.0),
        [PERCENTILES["low"], PERCENTILES["value"], PERCENTILES["high"]],
        method=PERCENTILE_METHOD,
    )
    return decimal_from(float(p_low)), decimal_from(float(p_mid)), decimal_from(float(p_high))


def percentiles_rows(values: np.ndarray) -> list[tuple[Decimal, Decimal, Decimal]]:
    """(P10, P50, P90) of each row of ``values`` (shape ``(assets, paths)``), like ``percentiles`` row by row."""
    table = np.percentile(
        np.maximum(values, 0.0),
        [PERCENTILES["low"], PERCENTILES["value"], PERCENTILES["high"]],
        axis=1,
        method=PERCENTILE_METHOD,
    )
    return [(_decimal(low), _decimal(mid), _decimal(high)) for low, mid, high in table.T.tolist()]


def _decimal(value: float) -> Decimal:
    """``decimal_from`` for a Python float (its shortest repr), without the type checks on the hot path."""
    return Decimal(repr(value)) if math.isfinite(value) else decimal_from(value)


# --- random variates ----------------------------------------------------------------------------------------

# The order in which each asset's generator draws its variates. It never depends on the asset's data or on
# which methods apply, so a method's figure does not depend on the others, and a batch draws what single
# valuations draw.
VARIATE_ORDER = ("growth", "discount", "rate", "life", "quality", "market")


class Variates:
    """The uncertain inputs of every method, one row per asset, one column per simulated path.

    ``growth``, ``quality``, ``market``: standard normal; ``discount``, ``rate``, ``life``: uniform on [0, 1).
    All the methods of an asset share them: on a path, growth (or the discount rate) is the same uncertain
    quantity for the income approach and for relief from royalty, so their weighted sum is coherent.
    ``take(rows)`` selects assets; the selected rows of an array are gathered when first read.
    """

    __slots__ = ("_arrays", "_rows", "_taken")

    def __init__(
        self,
        *,
        growth: np.ndarray,  # revenue / income growth
        discount: np.ndarray,  # discount rate
        rate: np.ndarray,  # royalty rate, profit or revenue share rate
        life: np.ndarray,  # economic life
        quality: np.ndarray,  # data quality score (cost delta, market X_quality)
        market: np.ndarray,  # error of the comparables' mean adjusted price
    ) -> None:
        arrays = {
            "growth": growth,
            "discount": discount,
            "rate": rate,
            "life": life,
            "quality": quality,
            "market": market,
        }
        shapes = {np.shape(array) for array in arrays.values()}
        if len(shapes) != 1 or len(next(iter(shapes))) != 2:
            raise ValueError(f"variates must all have one shape (assets, paths), not {sorted(shapes)}")
        self._arrays = {name: np.asarray(array, dtype=float) for name, array in arrays.items()}
        self._rows: np.ndarray | None = None
        self._taken: dict[str, np.ndarray] = {}

    @classmethod
    def draw(cls, rng: np.random.Generator, paths: int) -> Variates:
        """One asset's variates (shape ``(1, paths)``), drawn in ``VARIATE_ORDER``."""
        return cls(
            growth=rng.standard_normal(paths)[None, :],
            discount=rng.random(paths)[None, :],
            rate=rng.random(paths)[None, :],
            life=rng.random(paths)[None, :],
            quality=rng.standard_normal(paths)[None, :],
            market=rng.standard_normal(paths)[None, :],
        )

    @classmethod
    def for_seeds(cls, seeds: Sequence[int], paths: int) -> Variates:
        """Rows of ``Variates.draw(numpy.random.default_rng(seed), paths)``, one per seed."""
        arrays = {name: np.empty((len(seeds), paths)) for name in VARIATE_ORDER}
        for row, seed in enumerate(seeds):
            rng = np.random.default_rng(seed)  # each draw fills its row in place (out=): the same numbers
            rng.standard_normal(out=arrays["growth"][row])
            rng.random(out=arrays["discount"][row])
            rng.random(out=arrays["rate"][row])
            rng.random(out=arrays["life"][row])
            rng.standard_normal(out=arrays["quality"][row])
            rng.standard_normal(out=arrays["market"][row])
        return cls(**arrays)

    def take(self, rows: Sequence[int] | np.ndarray) -> Variates:
        """The variates of the assets at ``rows`` (in that order)."""
        index = np.asarray(rows, dtype=np.intp)
        view = Variates.__new__(Variates)
        view._arrays = self._arrays
        view._rows = index if self._rows is None else self._rows[index]
        view._taken = {}
        return view

    def _get(self, name: str) -> np.ndarray:
        if self._rows is None:
            return self._arrays[name]
        if name not in self._taken:
            self._taken[name] = np.ascontiguousarray(self._arrays[name][self._rows])
        return self._taken[name]

    @property
    def growth(self) -> np.ndarray:
        return self._get("growth")

    @property
    def discount(self) -> np.ndarray:
        return self._get("discount")

    @property
    def rate(self) -> np.ndarray:
        return self._get("rate")

    @property
    def life(self) -> np.ndarray:
        return self._get("life")

    @property
    def quality(self) -> np.ndarray:
        return self._get("quality")

    @property
    def market(self) -> np.ndarray:
        return self._get("market")

    @property
    def assets(self) -> int:
        return int(self._arrays["growth"].shape[0] if self._rows is None else self._rows.shape[0])

    @property
    def paths(self) -> int:
        return int(self._arrays["growth"].shape[1])
