from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api.idempotency import idempotent
from common.api.pagination import CursorPagination, paginate
from common.api.problems import problem_responses
from common.exceptions import NotFound, PermissionDenied
from registry.permissions import IsFirmUserOrReviewer, IsReviewer
from registry.selectors import asset_qs_for_user
from valuation import selectors, services
from valuation.models import Valuation, ValuationJob


class ValuationJobProgressSerializer(serializers.Serializer):
    done = serializers.IntegerField()
    total = serializers.IntegerField()
    failed = serializers.IntegerField()
    chunks_done = serializers.IntegerField()
    chunks_total = serializers.IntegerField()


class ValuationJobErrorSerializer(serializers.Serializer):
    asset = serializers.IntegerField()
    code = serializers.CharField()
    message = serializers.CharField()


class ValuationJobOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=ValuationJob.Status.choices)
    scope = serializers.CharField()
    progress = serializers.SerializerMethodField()
    errors = serializers.SerializerMethodField()
    error = serializers.CharField()
    trigger = serializers.CharField()
    parameter_set = serializers.CharField(source="parameter_set.version", allow_null=True, default=None)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)

    @extend_schema_field(ValuationJobProgressSerializer)
    def get_progress(self, job: ValuationJob) -> dict[str, int]:
        return {
            "done": job.done,
            "total": job.total,
            "failed": job.failed_count,
            "chunks_done": job.chunks_done,
            "chunks_total": job.chunks_total,
        }

    @extend_schema_field(ValuationJobErrorSerializer(many=True))
    def get_errors(self, job: ValuationJob) -> list[dict[str, str | int]]:
        failed = getattr(job, "failed_items", None)
        if failed is None:
            failed = job.items.filter(status="failed").order_by("asset_id")[:100]
        return [{"asset": item.asset_id, "code": item.error_code, "message": item.error} for item in failed[:100]]


class ValuationJobCreateApi(APIView):
    permission_classes = [IsFirmUserOrReviewer]
    pagination_class = CursorPagination

    class ValuationJobCreateInputSerializer(serializers.Serializer):
        scope = serializers.ChoiceField(
            choices=ValuationJob.Scope.choices,
            default=ValuationJob.Scope.ASSETS,
            help_text="assets: the listed assets; firm: the caller's whole portfolio (firm users); all: every "
            "approved asset of the province (reviewers).",
        )
        assets = serializers.ListField(
            child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
            required=False,
            max_length=services.MAX_ASSETS_PER_REQUEST,
        )

        def validate(self, attrs: dict) -> dict:
            if attrs["scope"] == ValuationJob.Scope.ASSETS and not attrs.get("assets"):
                raise serializers.ValidationError({"assets": [_("Name at least one asset.")]})
            if attrs["scope"] != ValuationJob.Scope.ASSETS and attrs.get("assets"):
                raise serializers.ValidationError({"assets": [_("Only with scope 'assets'.")]})
            return attrs

    @extend_schema(
        operation_id="valuation_job_list",
        responses={200: ValuationJobOutputSerializer(many=True), **problem_responses(401, 403)},
    )
    def get(self, request: Request) -> Response:
        return paginate(
            request, self, selectors.valuation_job_list_for_user(user=request.user), ValuationJobOutputSerializer
        )

    @extend_schema(
        operation_id="valuation_job_create",
        request=ValuationJobCreateInputSerializer,
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)],
        responses={202: ValuationJobOutputSerializer, **problem_responses(400, 401, 403, 404, 409, 422)},
    )
    def post(self, request: Request) -> Response:
        serializer = self.ValuationJobCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        scope = serializer.validated_data["scope"]
        user = request.user
        if scope == ValuationJob.Scope.ALL and not user.is_reviewer:
            raise PermissionDenied(_("Only reviewers revalue the whole province."))
        if scope == ValuationJob.Scope.FIRM and not user.is_firm_user:
            raise PermissionDenied(_("Only a firm's users value their own portfolio."))
        wanted = set(serializer.validated_data.get("assets") or [])

        def create() -> Response:
            if scope == ValuationJob.Scope.ALL:
                job = services.valuation_job_create(everything=True, user=user, actor=user.as_actor)
            elif scope == ValuationJob.Scope.FIRM:
                job = services.valuation_job_create(firm=user.firm, user=user, actor=user.as_actor)
            else:
                assets = list(asset_qs_for_user(user=user).filter(pk__in=wanted))
                missing = sorted(wanted - {a.pk for a in assets})
                if missing:
                    raise NotFound(_("Assets not found: %(ids)s.") % {"ids": ", ".join(map(str, missing))})
                job = services.valuation_job_create(assets=assets, user=user, actor=user.as_actor)
            return Response(ValuationJobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)

        return idempotent(request, create)


class ValuationJobDetailApi(APIView):
    permission_classes = [IsFirmUserOrReviewer]

    @extend_schema(
        operation_id="valuation_job_get",
        responses={200: ValuationJobOutputSerializer, **problem_responses(401, 403, 404)},
    )
    def get(self, request: Request, job_id: int) -> Response:
        job = selectors.valuation_job_get_for_user(user=request.user, job_id=job_id)
        return Response(ValuationJobOutputSerializer(job).data)


class ValuationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    asset = serializers.IntegerField(source="asset_id")
    asset_version = serializers.IntegerField()
    job = serializers.IntegerField(source="job_id", allow_null=True)
    status = serializers.ChoiceField(choices=Valuation.Status.choices)
    value = serializers.DecimalField(max_digits=20, decimal_places=2)
    low = serializers.DecimalField(max_digits=20, decimal_places=2)
    high = serializers.DecimalField(max_digits=20, decimal_places=2)
    currency = serializers.CharField()
    method = serializers.CharField()
    parameter_set = serializers.CharField()
    engine_version = serializers.CharField()
    seed = serializers.CharField(help_text="Monte Carlo seed (a 63-bit integer, as a string)")
    fingerprint = serializers.CharField()
    inputs = serializers.JSONField()
    explanation = serializers.JSONField()
    computed_at = serializers.DateTimeField()
    reviewed_at = serializers.DateTimeField(allow_null=True)
    rejection_reason = serializers.CharField()


class ValuationListApi(APIView):
    pagination_class = CursorPagination
    permission_classes = [IsFirmUserOrReviewer]

    class ValuationListFilterSerializer(serializers.Serializer):
        asset = serializers.IntegerField(required=False, min_value=1)
        status = serializers.ChoiceField(choices=Valuation.Status.choices, required=False)

    @extend_schema(
        operation_id="valuation_list",
        parameters=[
            OpenApiParameter("asset", int),
            OpenApiParameter("status", str, enum=[s.value for s in Valuation.Status]),
        ],
        responses={200: ValuationOutputSerializer(many=True), **problem_responses(400, 401, 403)},
    )
    def get(self, request: Request) -> Response:
        filters = self.ValuationListFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        qs = selectors.valuation_list_for_user(
            user=request.user, asset_id=filters.validated_data.get("asset"), status=filters.validated_data.get("status")
        )
        return paginate(request, self, qs, ValuationOutputSerializer)


class ValuationDetailApi(APIView):
    permission_classes = [IsFirmUserOrReviewer]

    @extend_schema(
        operation_id="valuation_get", responses={200: ValuationOutputSerializer, **problem_responses(401, 403, 404)}
    )
    def get(self, request: Request, valuation_id: int) -> Response:
        valuation = selectors.valuation_get_for_user(user=request.user, valuation_id=valuation_id)
        return Response(ValuationOutputSerializer(valuation).data)


class ReviewValuationApproveApi(APIView):
    permission_classes = [IsReviewer]

    @extend_schema(
        operation_id="review_valuation_approve",
        request=None,
        responses={200: ValuationOutputSerializer, **problem_responses(401, 403, 404, 409, 422)},
    )
    def post(self, request: Request, valuation_id: int) -> Response:
        valuation = selectors.valuation_get_for_review(valuation_id=valuation_id)
        valuation = services.valuation_approve(valuation=valuation, reviewer=request.user)
        return Response(ValuationOutputSerializer(valuation).data)


class ReviewValuationRejectApi(APIView):
    permission_classes = [IsReviewer]

    class ReviewValuationRejectInputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=2000)

    @extend_schema(
        operation_id="review_valuation_reject",
        request=ReviewValuationRejectInputSerializer,
        responses={200: ValuationOutputSerializer, **problem_responses(400, 401, 403, 404, 409, 422)},
    )
    def post(self, request: Request, valuation_id: int) -> Response:
        serializer = self.ReviewValuationRejectInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        valuation = selectors.valuation_get_for_review(valuation_id=valuation_id)
        valuation = services.valuation_reject(
            valuation=valuation, reviewer=request.user, reason=serializer.validated_data["reason"]
        )
        return Response(ValuationOutputSerializer(valuation).data)
