"""Innovation points in the API: the firm's own profile with its points, and its scores by year.

``FirmMeWithPointsApi`` extends the registry's ``FirmMeApi`` (registry may not import valuation): GET adds
``innovation``, PATCH is the registry's own. Mount it at ``firms/me/`` in place of ``registry.apis.FirmMeApi``.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api.problems import problem_responses
from registry.apis import FirmMeApi, FirmOutputSerializer
from registry.permissions import IsFirmUser
from registry.selectors import firm_get_for_user
from valuation import innovation
from valuation.models import InnovationScore
from valuation.points import BONUS_CODES, INDICATOR_CODES, STAGES


def _points(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=6, decimal_places=2, **kwargs)


class InnovationIndicatorSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=INDICATOR_CODES)
    label = serializers.CharField()
    unit = serializers.ChoiceField(choices=["money", "ratio", "count"], help_text="money in CNY; ratio as a fraction")
    status = serializers.ChoiceField(
        choices=["scored", "not_positive", "missing"],
        help_text="not_positive: the value is zero or less and scores 0; missing: the firm lacks it, scores 0.",
    )
    raw = serializers.CharField(allow_null=True, help_text="The firm's value (decimal string), null when missing.")
    winsorised = serializers.CharField(allow_null=True, help_text="The value clipped to the cohort's p1/p99.")
    percentile = _points(help_text="Percentile score s_k within the stage cohort, 0-100.")
    weight = serializers.CharField(help_text="The stage's weight of the indicator (decimal string; weights sum to 1).")
    points = _points(help_text="weight x percentile score.")
    ranked_among = serializers.IntegerField(help_text="Firms of the stage cohort that have the indicator.")
    note = serializers.CharField(allow_blank=True)


class InnovationBonusItemSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=BONUS_CODES)
    points = _points()
    note = serializers.CharField()


class InnovationStageBasisSerializer(serializers.Serializer):
    stage = serializers.ChoiceField(choices=STAGES)
    age_years = serializers.IntegerField(allow_null=True, help_text="Completed years at 31 December of the year.")
    revenue = serializers.CharField(help_text="The year's revenue (CNY, decimal string).")
    reason = serializers.CharField()


class InnovationScoreOutputSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    stage = serializers.ChoiceField(choices=InnovationScore.Stage.choices)
    base_points = _points(help_text="Σ weight x percentile score, 0-100.")
    bonus_points = _points(help_text="Credentials, capped at 30.")
    total_points = _points(help_text="base_points + bonus_points; decides the tier.")
    tier = serializers.ChoiceField(choices=["A", "B", "C", "D", "E"])
    parameter_set = serializers.CharField(help_text="Version of the innovation parameter set.")
    cohort_size = serializers.IntegerField(help_text="Firms of the same year and stage.")
    computed_at = serializers.DateTimeField()
    stage_basis = InnovationStageBasisSerializer()
    breakdown = InnovationIndicatorSerializer(many=True)
    bonus_items = InnovationBonusItemSerializer(many=True)


class InnovationFirmMeOutputSerializer(FirmOutputSerializer):
    innovation = InnovationScoreOutputSerializer(
        allow_null=True, help_text="The latest year's innovation points; null before the firm is first scored."
    )


def _score_body(score: InnovationScore) -> dict[str, Any]:
    return dict(InnovationScoreOutputSerializer(innovation.innovation_score_as_dict(score)).data)


class FirmMeWithPointsApi(FirmMeApi):
    """The firm's own profile plus its latest innovation points (GET); PATCH is ``FirmMeApi``'s."""

    @extend_schema(
        operation_id="firm_me",
        responses={200: InnovationFirmMeOutputSerializer, **problem_responses(401, 403)},
    )
    def get(self, request: Request) -> Response:
        firm = firm_get_for_user(user=request.user)
        body = dict(FirmOutputSerializer(firm).data)
        score = innovation.innovation_score_latest_for_firm(firm=firm)
        body["innovation"] = _score_body(score) if score is not None else None
        return Response(body)


class InnovationScoreListApi(APIView):
    """The firm's innovation points by year (newest first), under the active parameter set."""

    permission_classes = [IsFirmUser]

    @extend_schema(
        operation_id="firm_innovation_list",
        responses={200: InnovationScoreOutputSerializer(many=True), **problem_responses(401, 403)},
    )
    def get(self, request: Request) -> Response:
        firm = firm_get_for_user(user=request.user)
        scores = innovation.innovation_score_list_for_firm(firm=firm)
        return Response([_score_body(score) for score in scores])
