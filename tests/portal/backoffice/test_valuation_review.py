"""The valuation review queue: pending valuations by default, decisions through valuation.services (as the API)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from common.models import AuditEvent
from tests.factories.valuation import ValuationFactory
from valuation.models import Valuation, ValuationReview

pytestmark = pytest.mark.django_db

QUEUE = "/admin/valuation/valuation/"


def _messages(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(m) for m in response.context["messages"]] if response.context else []


def test_the_queue_lists_only_pending_valuations_by_default(signed_in, reviewer_a, pending_valuation):
    pending = pending_valuation()
    ValuationFactory(status=Valuation.Status.APPROVED)
    client = signed_in(reviewer_a)

    r = client.get(QUEUE)

    assert [v.pk for v in r.context["cl"].result_list] == [pending.pk]
    assert r.context["queue_counts"]["awaiting"] == 1
    assert len(client.get(QUEUE, {"status": "all"}).context["cl"].result_list) == 2
    assert len(client.get(QUEUE, {"q": pending.asset.firm.uscc}).context["cl"].result_list) == 1


def test_approve_as_an_action_and_as_a_button_write_what_the_api_writes(
    signed_in, client_for, reviewer_a, pending_valuation
):
    by_action, by_button, by_api = pending_valuation(), pending_valuation(), pending_valuation()
    client = signed_in(reviewer_a)

    client.post(QUEUE, {"action": "approve_selected", "_selected_action": [by_action.pk]})
    page = client.get(f"{QUEUE}{by_button.pk}/change/")
    assert 'data-testid="approve-valuation"' in page.text
    button = client.post(f"{QUEUE}{by_button.pk}/approve/", follow=True)
    assert button.redirect_chain[-1][0] == QUEUE
    assert client_for(reviewer_a).post(f"/api/v1/review/valuations/{by_api.pk}/approve/").status_code == 200

    for valuation in (by_action, by_button, by_api):
        valuation.refresh_from_db()
        assert (valuation.status, valuation.reviewed_by_id) == ("approved", reviewer_a.pk)
        assert list(ValuationReview.objects.filter(valuation=valuation).values_list("reviewer_id", "decision")) == [
            (reviewer_a.pk, "approved")
        ]
        event = AuditEvent.objects.filter(object_type="valuation", object_id=str(valuation.pk)).latest("id")
        assert (event.action, event.actor_label) == ("valuation.approved", f"user:{reviewer_a.username}")


def test_four_eyes_on_valuations(signed_in, reviewer_a, reviewer_b, firm_admin, pending_valuation):
    valuation = pending_valuation(required_approvals=2)
    client = signed_in(reviewer_a)
    client.post(f"{QUEUE}{valuation.pk}/approve/")
    events = AuditEvent.objects.count()

    again = client.post(f"{QUEUE}{valuation.pk}/approve/", follow=True)

    assert any("already approved this valuation" in m for m in _messages(again))
    assert AuditEvent.objects.count() == events
    assert Valuation.objects.get(pk=valuation.pk).status == "pending_review"
    signed_in(reviewer_b).post(f"{QUEUE}{valuation.pk}/approve/")
    assert Valuation.objects.get(pk=valuation.pk).status == "approved"


def test_the_requester_cannot_approve(signed_in, reviewer_a, pending_valuation):
    valuation = pending_valuation()
    Valuation.objects.filter(pk=valuation.pk).update(requested_by=reviewer_a)
    r = signed_in(reviewer_a).post(f"{QUEUE}{valuation.pk}/approve/", follow=True)
    assert any("You requested this valuation" in m for m in _messages(r))
    assert Valuation.objects.get(pk=valuation.pk).status == "pending_review"


def test_reject_needs_a_reason(signed_in, reviewer_a, pending_valuation):
    valuation = pending_valuation()
    client = signed_in(reviewer_a)
    selected = {"action": "reject_selected", "_selected_action": [valuation.pk], "apply": "1"}

    blank = client.post(QUEUE, {**selected, "reason": " "})
    assert blank.status_code == 200
    assert blank.context["form"].errors
    assert Valuation.objects.get(pk=valuation.pk).status == "pending_review"

    client.post(QUEUE, {**selected, "reason": "Comparables are out of date."})
    valuation.refresh_from_db()
    assert (valuation.status, valuation.rejection_reason) == ("rejected", "Comparables are out of date.")


def test_staff_who_are_not_reviewers_cannot_decide_valuations(signed_in, pending_valuation):
    from tests.factories.registry import UserFactory

    valuation = pending_valuation()
    client = signed_in(UserFactory(is_staff=True, is_superuser=True))
    assert client.post(f"{QUEUE}{valuation.pk}/approve/").status_code == 403
    client.post(QUEUE, {"action": "approve_selected", "_selected_action": [valuation.pk]})
    assert Valuation.objects.get(pk=valuation.pk).status == "pending_review"


def test_the_queue_runs_a_bounded_number_of_queries(signed_in, reviewer_a, pending_valuation):
    client = signed_in(reviewer_a)
    pending_valuation()
    with CaptureQueriesContext(connection) as few:
        client.get(QUEUE)
    for _ in range(10):
        ValuationFactory(status=Valuation.Status.PENDING_REVIEW)  # other firms
    with CaptureQueriesContext(connection) as many:
        r = client.get(QUEUE)
    assert len(r.context["cl"].result_list) == 11
    assert len(many) == len(few) <= 20
