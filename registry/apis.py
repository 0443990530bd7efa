"""Registry endpoints: thin views that parse, fetch through selectors, call services and serialize."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api.pagination import CursorPagination
from common.api.problems import problem_responses
from common.exceptions import PermissionDenied, ValidationFailed
from common.models import AuditEvent
from registry import selectors, services
from registry.models import Asset, Consent
from registry.permissions import IsFirmUser, IsFirmUserOrReviewer, IsReviewer


def paginate(request: Request, view: APIView, queryset: Any, serializer_class: type) -> Response:
    paginator = CursorPagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)


# --- auth -------------------------------------------------------------------------------------------


class AuthTokenApi(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    class AuthTokenOutputSerializer(serializers.Serializer):
        token = serializers.CharField()

    @extend_schema(
        operation_id="auth_token_create",
        request=AuthTokenSerializer,
        responses={200: AuthTokenOutputSerializer, **problem_responses(400)},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = AuthTokenSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        token, _created = Token.objects.get_or_create(user=serializer.validated_data["user"])
        return Response({"token": token.key})


# --- firm -------------------------------------------------------------------------------------------


class FirmOutputSerializer(serializers.Serializer):
    uscc = serializers.CharField()
    name = serializers.CharField()
    legal_representative = serializers.CharField()
    region_code = serializers.CharField()
    industry = serializers.CharField(source="industry_id")
    industry_name = serializers.CharField(source="industry.name_zh")
    founded_on = serializers.DateField(allow_null=True)
    created_at = serializers.DateTimeField()


class FirmMeApi(APIView):
    permission_classes = [IsFirmUser]

    @extend_schema(operation_id="firm_me", responses={200: FirmOutputSerializer, **problem_responses(401, 403)})
    def get(self, request: Request) -> Response:
        firm = selectors.firm_get_for_user(user=request.user)
        return Response(FirmOutputSerializer(firm).data)


# --- assets -----------------------------------------------------------------------------------------


class AssetOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    firm = serializers.CharField(source="firm.uscc")
    kind = serializers.CharField()
    title = serializers.CharField()
    status = serializers.CharField()
    version = serializers.IntegerField()
    approved_version = serializers.IntegerField(allow_null=True, help_text="The version credit decisions use.")
    required_approvals = serializers.IntegerField()
    approvals = serializers.IntegerField(default=0, help_text="Approvals the current version has so far.")
    details = serializers.JSONField()
    rejection_reason = serializers.CharField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


ASSET_FILTERS = [
    OpenApiParameter("kind", str, enum=[k.value for k in Asset.Kind]),
    OpenApiParameter("status", str, enum=[s.value for s in Asset.Status]),
]


class AssetListCreateApi(APIView):
    permission_classes = [IsFirmUserOrReviewer]

    class AssetListCreateInputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=Asset.Kind.choices)
        title = serializers.CharField(max_length=200)
        details = serializers.JSONField(help_text="The kind's metadata; see the API guide.")

    class AssetListCreateFilterSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=Asset.Kind.choices, required=False)
        status = serializers.ChoiceField(choices=Asset.Status.choices, required=False)

    @extend_schema(
        operation_id="asset_list",
        parameters=ASSET_FILTERS,
        responses={200: AssetOutputSerializer(many=True), **problem_responses(400, 401, 403)},
    )
    def get(self, request: Request) -> Response:
        filters = self.AssetListCreateFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        qs = selectors.asset_list_for_user(user=request.user, **filters.validated_data)
        return paginate(request, self, qs, AssetOutputSerializer)

    @extend_schema(
        operation_id="asset_create",
        request=AssetListCreateInputSerializer,
        responses={201: AssetOutputSerializer, **problem_responses(400, 401, 403, 409)},
    )
    def post(self, request: Request) -> Response:
        if not request.user.is_firm_user:
            raise PermissionDenied(_("Only a firm's users register assets."))
        serializer = self.AssetListCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        firm = selectors.firm_get_for_user(user=request.user)
        asset = services.asset_create(
            firm=firm, user=request.user, actor=request.user.as_actor, **serializer.validated_data
        )
        return Response(AssetOutputSerializer(asset).data, status=status.HTTP_201_CREATED)


class AssetDetailApi(APIView):
    permission_classes = [IsFirmUserOrReviewer]

    class AssetDetailInputSerializer(serializers.Serializer):
        title = serializers.CharField(max_length=200, required=False)
        details = serializers.JSONField(required=False)

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            unknown = sorted(set(self.initial_data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: [_("This field cannot be changed here.")] for name in unknown})
            return attrs

    @extend_schema(operation_id="asset_get", responses={200: AssetOutputSerializer, **problem_responses(401, 403, 404)})
    def get(self, request: Request, asset_id: int) -> Response:
        asset = selectors.asset_get_for_user(user=request.user, asset_id=asset_id)
        return Response(AssetOutputSerializer(asset).data)

    @extend_schema(
        operation_id="asset_update",
        request=AssetDetailInputSerializer,
        responses={200: AssetOutputSerializer, **problem_responses(400, 401, 403, 404, 409)},
    )
    def patch(self, request: Request, asset_id: int) -> Response:
        asset = selectors.asset_get_for_user(user=request.user, asset_id=asset_id)
        if not request.user.is_firm_user:
            raise PermissionDenied(_("Reviewers decide assets; only the firm edits them."))
        serializer = self.AssetDetailInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        asset = services.asset_update(asset=asset, actor=request.user.as_actor, **serializer.validated_data)
        return Response(AssetOutputSerializer(asset).data)


class AssetSubmitApi(APIView):
    permission_classes = [IsFirmUser]

    @extend_schema(
        operation_id="asset_submit",
        request=None,
        responses={200: AssetOutputSerializer, **problem_responses(401, 403, 404, 409)},
    )
    def post(self, request: Request, asset_id: int) -> Response:
        asset = selectors.asset_get_for_user(user=request.user, asset_id=asset_id)
        asset = services.asset_submit(asset=asset, actor=request.user.as_actor, user=request.user)
        return Response(AssetOutputSerializer(asset).data)


# --- review -----------------------------------------------------------------------------------------


class ReviewAssetQueueApi(APIView):
    permission_classes = [IsReviewer]

    class ReviewAssetQueueFilterSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=Asset.Kind.choices, required=False)
        firm = serializers.CharField(required=False, max_length=18)

    @extend_schema(
        operation_id="review_asset_queue",
        parameters=[
            OpenApiParameter("kind", str, enum=[k.value for k in Asset.Kind]),
            OpenApiParameter("firm", str, description="USCC"),
        ],
        responses={200: AssetOutputSerializer(many=True), **problem_responses(400, 401, 403)},
    )
    def get(self, request: Request) -> Response:
        filters = self.ReviewAssetQueueFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        qs = selectors.asset_review_queue(
            kind=filters.validated_data.get("kind"), firm_uscc=filters.validated_data.get("firm")
        )
        return paginate(request, self, qs, AssetOutputSerializer)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class ReviewAssetApproveApi(APIView):
    permission_classes = [IsReviewer]

    @extend_schema(
        operation_id="review_asset_approve",
        request=None,
        responses={200: AssetOutputSerializer, **problem_responses(401, 403, 404, 409)},
    )
    def post(self, request: Request, asset_id: int) -> Response:
        asset = selectors.asset_get_for_review(asset_id=asset_id)
        services.asset_approve(asset=asset, reviewer=request.user)
        return Response(AssetOutputSerializer(selectors.asset_get_for_review(asset_id=asset_id)).data)


class ReviewAssetRejectApi(APIView):
    permission_classes = [IsReviewer]

    @extend_schema(
        operation_id="review_asset_reject",
        request=ReasonSerializer,
        responses={200: AssetOutputSerializer, **problem_responses(400, 401, 403, 404, 409, 422)},
    )
    def post(self, request: Request, asset_id: int) -> Response:
        serializer = ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        asset = selectors.asset_get_for_review(asset_id=asset_id)
        asset = services.asset_reject(asset=asset, reviewer=request.user, reason=serializer.validated_data["reason"])
        return Response(AssetOutputSerializer(asset).data)


# --- consent ----------------------------------------------------------------------------------------


class ConsentOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    firm = serializers.CharField(source="firm.uscc")
    firm_name = serializers.CharField(source="firm.name")
    bank = serializers.CharField(source="bank.code")
    bank_name = serializers.CharField(source="bank.name")
    scopes = serializers.ListField(child=serializers.CharField())
    expires_at = serializers.DateTimeField()
    revoked_at = serializers.DateTimeField(allow_null=True)
    is_live = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class ConsentListCreateApi(APIView):
    permission_classes = [IsFirmUserOrReviewer]

    class ConsentListCreateInputSerializer(serializers.Serializer):
        bank = serializers.CharField(max_length=32, help_text="The bank's code.")
        expires_at = serializers.DateTimeField()
        scopes = serializers.ListField(
            child=serializers.ChoiceField(choices=Consent.Scope.choices),
            min_length=1,
            required=False,
            default=lambda: [s.value for s in Consent.Scope],
        )

    @extend_schema(
        operation_id="consent_list", responses={200: ConsentOutputSerializer(many=True), **problem_responses(401, 403)}
    )
    def get(self, request: Request) -> Response:
        return paginate(request, self, selectors.consent_list_for_user(user=request.user), ConsentOutputSerializer)

    @extend_schema(
        operation_id="consent_grant",
        request=ConsentListCreateInputSerializer,
        responses={201: ConsentOutputSerializer, **problem_responses(400, 401, 403, 422)},
    )
    def post(self, request: Request) -> Response:
        if not request.user.is_firm_user:
            raise PermissionDenied(_("Only a firm grants consent."))
        serializer = self.ConsentListCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        bank = selectors.bank_get_by_code(code=data["bank"])
        if bank is None:
            raise ValidationFailed(_("No active bank has this code."), errors={"bank": [_("Unknown bank code.")]})
        firm = selectors.firm_get_for_user(user=request.user)
        consent = services.consent_grant(
            firm=firm, bank=bank, expires_at=data["expires_at"], scopes=data["scopes"], user=request.user
        )
        return Response(ConsentOutputSerializer(consent).data, status=status.HTTP_201_CREATED)


class ConsentRevokeApi(APIView):
    permission_classes = [IsFirmUser]

    @extend_schema(operation_id="consent_revoke", responses={204: None, **problem_responses(401, 403, 404)})
    def delete(self, request: Request, consent_id: int) -> Response:
        consent = selectors.consent_get_for_firm_user(user=request.user, consent_id=consent_id)
        services.consent_revoke(consent=consent, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- audit ------------------------------------------------------------------------------------------


class AuditEventOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = (
            "id",
            "occurred_at",
            "actor_type",
            "actor_id",
            "actor_label",
            "action",
            "object_type",
            "object_id",
            "before",
            "after",
            "data",
            "request_id",
            "ip",
        )


class AuditListApi(APIView):
    permission_classes = [IsReviewer]

    class AuditListFilterSerializer(serializers.Serializer):
        actor = serializers.CharField(required=False, help_text="actor label, e.g. user:alice")
        object_type = serializers.CharField(required=False)
        object_id = serializers.CharField(required=False)
        action = serializers.CharField(required=False)
        since = serializers.DateTimeField(required=False)
        until = serializers.DateTimeField(required=False)

    @extend_schema(
        operation_id="audit_list",
        parameters=[OpenApiParameter(n, str) for n in ("actor", "object_type", "object_id", "action")]
        + [
            OpenApiParameter("since", str, description="ISO 8601"),
            OpenApiParameter("until", str, description="ISO 8601"),
        ],
        responses={200: AuditEventOutputSerializer(many=True), **problem_responses(400, 401, 403)},
    )
    def get(self, request: Request) -> Response:
        filters = self.AuditListFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        f = filters.validated_data
        qs = AuditEvent.objects.all()
        if "actor" in f:
            qs = qs.filter(actor_label=f["actor"])
        for name in ("object_type", "object_id", "action"):
            if name in f:
                qs = qs.filter(**{name: f[name]})
        if "since" in f:
            qs = qs.filter(occurred_at__gte=f["since"])
        if "until" in f:
            qs = qs.filter(occurred_at__lt=f["until"])
        return paginate(request, self, qs, AuditEventOutputSerializer)
