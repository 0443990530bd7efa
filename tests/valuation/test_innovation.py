"""Innovation points with the database: computing a year, the selectors, the tasks, the hook and the API."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from common.audit import system_actor
from common.hooks import hooks_fire
from common.models import AuditEvent
from registry.models import FirmIndicator, User
from tests.factories.registry import BankStaffFactory, FirmFactory, ReviewerFactory, UserFactory
from valuation import innovation
from valuation.models import InnovationParameterSet, InnovationScore
from valuation.points import DEFAULT_INNOVATION_PARAMETERS, score_cohort

pytestmark = pytest.mark.django_db

D = Decimal
M = D(1_000_000)
ACTOR = system_actor("tests")


def report(firm, year, **overrides):  # type: ignore[no-untyped-def]
    values = {
        "revenue": 50 * M,
        "rd_expense": 3 * M,
        "staff_count": 100,
        "rd_staff_count": 20,
        "invention_applications": 2,
        "pct_applications": 0,
        "tech_contract_turnover": D("0"),
        "hightech_product_revenue": 10 * M,
    }
    values.update(overrides)
    return FirmIndicator.objects.create(firm=firm, year=year, **values)


@pytest.fixture
def province():  # type: ignore[no-untyped-def]
    """Three growth-stage firms reporting 2025 (one also 2024), one that reported 2024 only, one inactive."""
    a = FirmFactory(
        founded_on=date(2018, 5, 1),
        high_tech_certificate_number="GR202342000123",
        high_tech_certificate_expires_on=date(2026, 11, 30),
    )
    b = FirmFactory(founded_on=date(2019, 1, 1), specialised_level="provincial")
    c = FirmFactory(founded_on=date(2020, 1, 1), tech_sme_number="202542010100077")
    old = FirmFactory(founded_on=date(2012, 1, 1))
    inactive = FirmFactory(founded_on=date(2015, 1, 1), is_active=False)
    report(a, 2025, revenue=80 * M, rd_expense=8 * M, invention_applications=6)
    report(a, 2024, revenue=60 * M, rd_expense=5 * M)
    report(b, 2025, revenue=40 * M, rd_expense=2 * M, invention_applications=1)
    report(c, 2025, revenue=30 * M, rd_expense=4 * M, invention_applications=0)
    report(old, 2024)
    report(inactive, 2025, revenue=90 * M, rd_expense=9 * M)
    return {"a": a, "b": b, "c": c, "old": old, "inactive": inactive}


def snapshot():  # type: ignore[no-untyped-def]
    return sorted(
        InnovationScore.objects.values_list(
            "pk", "firm_id", "year", "parameter_set_id", "stage", "base_points", "bonus_points", "total_points", "tier"
        )
    )


# --- the parameter set --------------------------------------------------------------------------------------


def test_the_migration_installs_the_default_set_as_active():
    active = InnovationParameterSet.objects.get(is_active=True)
    assert (active.version, active.first_used_at) == ("2026.1", None)
    assert active.data == DEFAULT_INNOVATION_PARAMETERS.as_dict()
    assert innovation.innovation_parameters_of(active) == DEFAULT_INNOVATION_PARAMETERS


def test_first_use_freezes_the_active_set():
    first = innovation.innovation_parameters_active()
    assert first.first_used_at is not None
    again = innovation.innovation_parameters_active()
    assert (again.pk, again.first_used_at) == (first.pk, first.first_used_at)  # marked once
    assert InnovationParameterSet.objects.get(pk=first.pk).is_frozen


# --- computing a year ---------------------------------------------------------------------------------------


def test_compute_scores_every_active_firm_of_the_year(province):
    assert innovation.innovation_scores_compute(year=2025, actor=ACTOR) == 3

    scores = {s.firm_id: s for s in InnovationScore.objects.filter(year=2025)}
    assert set(scores) == {province["a"].pk, province["b"].pk, province["c"].pk}  # not "old", not "inactive"
    # the rows are exactly the pure maths over the same cohort
    expected = score_cohort(innovation.innovation_rows_for_year(year=2025), DEFAULT_INNOVATION_PARAMETERS)
    for result in expected:
        stored = scores[result.firm_id]
        assert (stored.stage, stored.base_points, stored.bonus_points, stored.total_points, stored.tier) == (
            result.stage,
            result.base_points,
            result.bonus_points,
            result.total_points,
            result.tier,
        )
        assert stored.breakdown == result.breakdown()
        assert stored.cohort_size == 3
        assert stored.parameter_set.version == "2026.1"

    a = scores[province["a"].pk]
    growth = {item["code"]: item for item in a.breakdown["indicators"]}
    # only firm a reported 2024: its R&D growth (8 - 5) / 5 = 0.6 is alone in the cohort -> 50
    assert (growth["rd_growth"]["raw"], growth["rd_growth"]["percentile"], growth["rd_growth"]["ranked_among"]) == (
        "0.600000",
        "50.00",
        1,
    )
    # R&D expense 2, 4, 8 (m): a has the most -> 100; net profit is not collected -> missing
    assert growth["rd_expense"]["percentile"] == "100.00"
    assert growth["return_on_net_assets"]["status"] == "missing"
    assert a.bonus_points == D("10.00")  # certificate valid on 31 December 2025
    assert [item["code"] for item in a.breakdown["bonus"]] == ["high_tech_enterprise"]

    event = AuditEvent.objects.get(action="innovation_scores.computed")
    assert (event.object_type, event.object_id, event.actor_label) == ("innovation_scores", "2025", "system:tests")
    assert event.data["year"] == 2025
    assert event.data["count"] == 3
    assert event.data["parameter_set"] == "2026.1"
    assert event.data["removed"] == 0
    assert sum(event.data["tiers"].values()) == 3
    assert InnovationParameterSet.objects.get(version="2026.1").first_used_at is not None


def test_compute_is_idempotent(province):
    innovation.innovation_scores_compute(year=2025, actor=ACTOR)
    first = snapshot()
    breakdowns = dict(InnovationScore.objects.values_list("pk", "breakdown"))

    assert innovation.innovation_scores_compute(year=2025, actor=ACTOR) == 3

    assert snapshot() == first  # same rows, same primary keys: updated in place, no duplicates
    assert dict(InnovationScore.objects.values_list("pk", "breakdown")) == breakdowns
    assert InnovationScore.objects.count() == 3
    assert AuditEvent.objects.filter(action="innovation_scores.computed").count() == 2


def test_a_change_rescored_moves_the_others_too(province):
    innovation.innovation_scores_compute(year=2025, actor=ACTOR)
    before = InnovationScore.objects.get(firm=province["b"], year=2025).breakdown
    FirmIndicator.objects.filter(firm=province["c"], year=2025).update(rd_expense=1 * M)  # c drops below b
    innovation.innovation_scores_compute(year=2025, actor=ACTOR)
    after = InnovationScore.objects.get(firm=province["b"], year=2025).breakdown
    rd = {b["code"]: b for b in before["indicators"]}["rd_expense"]["percentile"]
    rd_after = {b["code"]: b for b in after["indicators"]}["rd_expense"]["percentile"]
    assert (rd, rd_after) == ("0.00", "50.00")  # R&D 2 < 4 < 8, then 1 < 2 < 8


def test_a_firm_leaving_the_cohort_loses_its_score(province):
    innovation.innovation_scores_compute(year=2025, actor=ACTOR)
    province["c"].is_active = False
    province["c"].save(update_fields=["is_active"])

    assert innovation.innovation_scores_compute(year=2025, actor=ACTOR) == 2

    assert set(InnovationScore.objects.values_list("firm_id", flat=True)) == {province["a"].pk, province["b"].pk}
    assert set(InnovationScore.objects.values_list("cohort_size", flat=True)) == {2}
    last = AuditEvent.objects.filter(action="innovation_scores.computed").order_by("-id").first()
    assert last is not None
    assert (last.data["count"], last.data["removed"]) == (2, 1)


def test_a_year_without_indicators_scores_nobody(province):
    assert innovation.innovation_scores_compute(year=2019, actor=ACTOR) == 0
    assert InnovationScore.objects.exists() is False
    assert AuditEvent.objects.get(action="innovation_scores.computed").data["count"] == 0


def test_an_impossible_year_is_refused():
    with pytest.raises(innovation.InnovationYearOutOfRange):
        innovation.innovation_scores_compute(year=3000, actor=ACTOR)
    assert AuditEvent.objects.filter(action="innovation_scores.computed").exists() is False


# --- selectors ----------------------------------------------------------------------------------------------


def test_latest_score_and_tier_under_the_active_set(province):
    a = province["a"]
    assert innovation.innovation_score_latest_for_firm(firm=a) is None
    assert innovation.firm_tier(firm=a) is None

    innovation.innovation_scores_compute(year=2024, actor=ACTOR)
    innovation.innovation_scores_compute(year=2025, actor=ACTOR)

    latest = innovation.innovation_score_latest_for_firm(firm=a)
    assert latest is not None
    assert latest.year == 2025
    assert innovation.firm_tier(firm=a) == latest.tier
    assert [s.year for s in innovation.innovation_score_list_for_firm(firm=a)] == [2025, 2024]
    assert innovation.firm_tier(firm=province["old"]) == InnovationScore.objects.get(firm=province["old"]).tier

    # another set becomes active: scores of the old one no longer count until the year is recomputed
    InnovationParameterSet.objects.update(is_active=False)
    InnovationParameterSet.objects.create(
        version="2027.1", data=DEFAULT_INNOVATION_PARAMETERS.as_dict(), is_active=True
    )
    assert innovation.innovation_score_latest_for_firm(firm=a) is None
    innovation.innovation_scores_compute(year=2025, actor=ACTOR)
    latest = innovation.innovation_score_latest_for_firm(firm=a)
    assert latest is not None
    assert latest.parameter_set.version == "2027.1"
    assert InnovationScore.objects.filter(firm=a, year=2025).count() == 2  # one per parameter set, kept


# --- tasks and the registry's hook --------------------------------------------------------------------------


def test_the_task_computes_the_year(province):
    from valuation.tasks import innovation_scores_compute as innovation_scores_compute_task

    assert innovation_scores_compute_task.name == innovation.INNOVATION_SCORES_COMPUTE_TASK
    innovation_scores_compute_task.delay(2025)
    innovation_scores_compute_task.delay(2025)  # a redelivery changes nothing
    assert InnovationScore.objects.filter(year=2025).count() == 3
    assert AuditEvent.objects.filter(action="innovation_scores.computed").first().actor_label == (
        "system:innovation_scores_compute"
    )


def test_the_yearly_task_computes_last_year(province, monkeypatch):
    from valuation.tasks import innovation_scores_compute_yearly as innovation_scores_compute_yearly_task

    assert innovation_scores_compute_yearly_task.name == innovation.INNOVATION_SCORES_COMPUTE_YEARLY_TASK
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: date(2026, 4, 1))
    innovation_scores_compute_yearly_task.delay()
    assert set(InnovationScore.objects.values_list("year", flat=True)) == {2025}


def test_the_registry_hook_recomputes_the_year_on_commit(province, django_capture_on_commit_callbacks):
    # What registry.services.firm_indicator_upsert fires (settings.DOMAIN_HOOKS maps it to the task).
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        hooks_fire("firm_indicators_changed", year=2025)
        assert InnovationScore.objects.exists() is False  # nothing before the commit
    assert len(callbacks) == 1
    assert InnovationScore.objects.filter(year=2025).count() == 3


# --- API ----------------------------------------------------------------------------------------------------

INNOVATION_URLS = "tests.valuation.urls_innovation"


@pytest.mark.urls(INNOVATION_URLS)
def test_firm_me_shows_null_before_any_score(client_for):
    user = UserFactory()
    r = client_for(user).get("/api/v1/firms/me/")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["uscc"] == user.firm.uscc  # the registry's body is all there
    assert body["innovation"] is None


@pytest.mark.urls(INNOVATION_URLS)
def test_firm_me_shows_the_points_and_their_breakdown(client_for, province):
    user = UserFactory(firm=province["a"], role=User.Role.FIRM_MEMBER)
    innovation.innovation_scores_compute(year=2024, actor=ACTOR)
    innovation.innovation_scores_compute(year=2025, actor=ACTOR)
    stored = InnovationScore.objects.get(firm=province["a"], year=2025)

    r = client_for(user).get("/api/v1/firms/me/")

    assert r.status_code == 200, r.content
    points = r.json()["innovation"]
    assert points["year"] == 2025
    assert (points["stage"], points["parameter_set"], points["cohort_size"]) == ("growth", "2026.1", 3)
    assert (points["base_points"], points["bonus_points"], points["total_points"], points["tier"]) == (
        str(stored.base_points),
        "10.00",
        str(stored.total_points),
        stored.tier,
    )
    assert [item["code"] for item in points["breakdown"]] == [item["code"] for item in stored.breakdown["indicators"]]
    rd = points["breakdown"][0]
    assert rd == {
        "code": "rd_expense",
        "label": "R&D expense",
        "unit": "money",
        "status": "scored",
        "raw": "8000000.00",
        "winsorised": rd["winsorised"],
        "percentile": "100.00",
        "weight": "0.12",
        "points": "12.00",
        "ranked_among": 3,
        "note": "",
    }
    assert points["bonus_items"] == [
        {
            "code": "high_tech_enterprise",
            "points": "10.00",
            "note": "high-tech enterprise certificate valid until 2026-11-30",
        }
    ]
    assert points["stage_basis"]["age_years"] == 7


@pytest.mark.urls(INNOVATION_URLS)
def test_patch_is_the_registrys(client_for):
    admin = UserFactory()
    r = client_for(admin).patch("/api/v1/firms/me/", {"name": "新名称科技有限公司"}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["name"] == "新名称科技有限公司"
    assert "innovation" not in r.json()
    member = UserFactory(firm=admin.firm, role=User.Role.FIRM_MEMBER)
    assert client_for(member).patch("/api/v1/firms/me/", {"name": "x"}, format="json").status_code == 403


@pytest.mark.urls(INNOVATION_URLS)
def test_firm_me_with_points_refuses_banks_and_reviewers(client_for, api_client):
    assert api_client.get("/api/v1/firms/me/").status_code == 401
    assert client_for(BankStaffFactory()).get("/api/v1/firms/me/").status_code == 403
    assert client_for(ReviewerFactory()).get("/api/v1/firms/me/").status_code == 403


def test_innovation_list_by_year(client_for, api_client, province):
    # Mounted in config.urls through valuation.urls.
    user = UserFactory(firm=province["a"], role=User.Role.FIRM_MEMBER)
    client = client_for(user)
    assert client.get("/api/v1/firms/me/innovation/").json() == []

    innovation.innovation_scores_compute(year=2024, actor=ACTOR)
    innovation.innovation_scores_compute(year=2025, actor=ACTOR)
    r = client.get("/api/v1/firms/me/innovation/")

    assert r.status_code == 200, r.content
    assert [s["year"] for s in r.json()] == [2025, 2024]
    assert len(r.json()[0]["breakdown"]) == 11
    assert client_for(UserFactory()).get("/api/v1/firms/me/innovation/").json() == []  # another firm's: none
    assert api_client.get("/api/v1/firms/me/innovation/").status_code == 401
    assert client_for(BankStaffFactory()).get("/api/v1/firms/me/innovation/").status_code == 403
    assert client_for(ReviewerFactory()).get("/api/v1/firms/me/innovation/").status_code == 403
