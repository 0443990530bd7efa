"""The chunk fast path (one read, one vectorised computation, bulk writes) gives exactly what valuing each asset
alone gives, and runs a constant number of queries whatever the chunk's size."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from common.audit import system_actor
from tests.factories.bulk import approved_patents
from tests.factories.registry import (
    AssetFactory,
    FirmFactory,
    data_details,
    patent_details,
    software_details,
    trademark_details,
)
from valuation import services
from valuation.methods import (
    Parameters,
    ValuationInput,
    ValuationNotPossible,
    ValuationOutcome,
    fingerprint,
    value_asset,
)
from valuation.models import ParameterSet, Valuation, ValuationJobItem

pytestmark = pytest.mark.django_db
ACTOR = system_actor("tests")

COMPARABLES = [
    {"price": "900000.00", "traded_on": "2024-05-01", "price_index_at_trade": "95", "quality_score": "70"},
    {"price": "1100000.00", "traded_on": "2025-02-01", "price_index_at_trade": "98", "quality_score": "80"},
]


def _varied_assets() -> list:
    firm, other = FirmFactory(industry_id="OPTO_ELEC"), FirmFactory(industry_id="LIFE_HEALTH")
    income = {"variant": "share", "share_rate": "0.3"}
    revenue = [{"year": 2023, "amount": "900000.00"}, {"year": 2025, "amount": "1300000.00"}]
    specs = [
        ("patent", firm, patent_details()),
        ("patent", other, patent_details(patent_type="utility_model", legal_status="pending")),
        ("patent", firm, patent_details(legal_status="lapsed")),  # worth zero
        ("patent", firm, patent_details(patent_type="design", filing_date="2019-01-10", comparables=COMPARABLES)),
        ("patent", other, patent_details(revenue_history=[])),  # no method applies: a failed item
        ("data", firm, data_details()),
        ("data", other, data_details(income=income, revenue_history=revenue, comparables=COMPARABLES)),
        ("data", firm, data_details(quality={})),
        ("trademark", firm, trademark_details()),
        ("trademark", other, trademark_details(valid_until="2020-01-01")),  # registration ended: zero
        ("software", firm, software_details()),
        ("software", other, software_details(first_published_on=None, revenue_history=revenue)),
    ]
    assets = []
    for kind, owner, details in specs:
        identifier = f"{kind}:{details.get('number') or details.get('registration_number') or id(details)}"
        assets.append(AssetFactory(firm=owner, kind=kind, details=details, identifier=identifier))
    return assets


def _alone(inp: ValuationInput, seed: int, params: Parameters) -> ValuationOutcome | ValuationNotPossible:
    try:
        return value_asset(inp, seed=seed, params=params)
    except ValuationNotPossible as exc:
        return exc


def test_the_fast_chunk_path_gives_what_value_asset_gives_one_by_one(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.VALUATION_CHUNK_SIZE = 100
    assets = _varied_assets()
    job = services.valuation_job_create(everything=True, user=None, actor=ACTOR)
    services.valuation_job_claim(job_id=job.pk)
    services.valuation_chunk_run(job_id=job.pk, chunk=0)
    # the job's stored parameter set (read back from JSON: on PostgreSQL its kinds' methods come in jsonb order)
    params = services.parameters_of(ParameterSet.objects.get(pk=job.parameter_set_id))
    stored = {v.asset_id: v for v in Valuation.objects.filter(job=job)}
    items = {i.asset_id: i for i in ValuationJobItem.objects.filter(job=job)}
    assert {a.kind for a in assets if a.pk in stored} == {"patent", "data", "trademark", "software"}
    for asset in assets:
        inp = ValuationInput(
            kind=asset.kind, details=asset.details, industry=asset.firm.industry_id, as_of=timezone.localdate()
        )
        seed = services._seed(asset, asset.details, params)
        alone = _alone(inp, seed, params)
        if isinstance(alone, ValuationNotPossible):
            assert (items[asset.pk].status, items[asset.pk].error_code) == ("failed", alone.code)
            assert asset.pk not in stored
            continue
        valuation = stored[asset.pk]
        assert items[asset.pk].status == "done"
        assert (valuation.value, valuation.low, valuation.high, valuation.seed) == (
            alone.value,
            alone.low,
            alone.high,
            seed,
        )
        assert (valuation.method, valuation.inputs, valuation.explanation) == (
            alone.method,
            alone.inputs,
            alone.explanation,
        )
        assert valuation.fingerprint == fingerprint(
            inputs=alone.inputs,
            parameter_set=alone.parameter_set,
            engine_version=alone.engine_version,
            seed=seed,
            value=alone.value,
            low=alone.low,
            high=alone.high,
        )
        assert services.valuation_verify(valuation=valuation)["ok"]
    assert len(stored) == sum(1 for i in items.values() if i.status == "done") >= 9


def _chunk_queries(count: int, settings) -> int:
    firm = FirmFactory()
    approved_patents(firm=firm, count=count, start_serial=1000 * count)
    settings.VALUATION_CHUNK_SIZE = count
    job = services.valuation_job_create(firm=firm, user=None, actor=ACTOR)
    services.valuation_job_claim(job_id=job.pk)
    with CaptureQueriesContext(connection) as queries:
        assert services.valuation_chunk_run(job_id=job.pk, chunk=0) == count
    job.refresh_from_db()
    assert (job.status, job.done, ValuationJobItem.objects.filter(job=job, status="done").count()) == (
        "succeeded",
        count,
        count,
    )
    return len(queries)


def test_a_chunk_runs_the_same_number_of_queries_for_5_and_for_50_assets(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    small = _chunk_queries(5, settings)
    assert _chunk_queries(50, settings) == small


def test_a_chunk_stamps_each_valuation_with_its_assets_firm(settings):
    """The firm column (what the firm's valuation list is read by) is the asset's firm, for every firm of a chunk."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.VALUATION_CHUNK_SIZE = 50
    first, second = FirmFactory(), FirmFactory()
    approved_patents(firm=first, count=3, start_serial=7100)
    approved_patents(firm=second, count=3, start_serial=7200)
    job = services.valuation_job_create(everything=True, user=None, actor=ACTOR)
    services.valuation_job_claim(job_id=job.pk)
    services.valuation_chunk_run(job_id=job.pk, chunk=0)
    stamped = list(Valuation.objects.filter(job=job).values_list("firm_id", "asset__firm_id"))
    assert len(stamped) == 6
    assert all(firm_id == asset_firm for firm_id, asset_firm in stamped)
    assert {firm_id for firm_id, _ in stamped} == {first.pk, second.pk}
