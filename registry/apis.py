"""Registry endpoints: thin views that parse, fetch through selectors, call services and serialize."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from axes.helpers import get_cool_off
from axes.models import AccessAttempt
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.signals import user_logged_in
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer as _DrfAuthTokenSerializer
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api.pagination import CursorPagination, paginate
from common.api.problems import problem_responses
from common.audit_chain import EXPORTED_FIELDS
from common.exceptions import Conflict, PermissionDenied, ValidationFailed
from common.models import AuditEvent
from registry import selectors, services
from registry.apis_documents import DocumentFileOutputSerializer
from registry.details import asset_marks
from registry.errors import LoginLockedOut
from registry.models import Asset, AssetVersion, Consent, Industry, SpecialisedLevel, User
from registry.permissions import (
    IsBank,
    IsFirmAdminForWrites,
    IsFirmAdminOrReadOnly,
    IsFirmAdminOrReviewer,
    IsFirmUser,
    IsFirmUserOrReviewer,
    IsReviewer,
)

# --- auth -------------------------------------------------------------------------------------------


class AuthTokenSerializer(_DrfAuthTokenSerializer):
    """DRF's login serializer with bounded fields: an oversized username is a 400 before it reaches the
    authentication backends (the lockout table stores at most 255 characters of it)."""

    username = serializers.CharField(max_length=150, write_only=True)
    password = serializers.CharField(
        style={"input_type": "password"}, max_length=4096, trim_whitespace=False, write_only=True
    )


class AuthTokenApi(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    class AuthTokenOutputSerializer(serializers.Serializer):
        token = serializers.CharField()

    @extend_schema(
        operation_id="auth_token_create",
        request=AuthTokenSerializer,
        responses={200: AuthTokenOutputSerializer, **problem_responses(400, 429)},
        auth=[],
        description="Exchange a username and password for a token. After AXES_FAILURE_LIMIT (5) wrong passwords "
        "for one username from one address, that pair gets 429 `login_locked_out` (with Retry-After) for the "
        "cool-off (15 minutes), even with the right password.",
    )
    def post(self, request: Request) -> Response:
        serializer = AuthTokenSerializer(data=request.data, context={"request": request})
        try:
            serializer.is_valid(raise_exception=True)
        except serializers.ValidationError:
            # AxesBackend (first in AUTHENTICATION_BACKENDS) flags the request once this username+address has
            # reached AXES_FAILURE_LIMIT; the password is then not even checked.
            if getattr(request, "axes_locked_out", False):
                raise LoginLockedOut(
                    _("Too many failed logins for this username from your address. Try again later."),
                    extra={"retry_after": _lockout_seconds_left(request, request.data.get("username"))},
                ) from None
            raise
        user = serializer.validated_data["user"]
        user_logged_in.send(sender=user.__class__, request=request, user=user)  # axes forgets the failures
        token, _created = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


def _lockout_seconds_left(request: Request, username: object) -> int:
    """Seconds until the lockout of ``username`` from this address ends: the cool-off after its last failure."""
    cool_off = get_cool_off(request) or timedelta(0)
    last = (
        AccessAttempt.objects.filter(username=str(username or ""), ip_address=getattr(request, "axes_ip_address", None))
        .order_by("-attempt_time")
        .values_list("attempt_time", flat=True)
        .first()
    )
    left = (last + cool_off - timezone.now()).total_seconds() if last else cool_off.total_seconds()
    return max(1, math.ceil(left))


# --- firm -------------------------------------------------------------------------------------------


class FirmOutputSerializer(serializers.Serializer):
    uscc = serializers.CharField()
    name = serializers.CharField()
    legal_representative = serializers.CharField()
    region_code = serializers.CharField()
    industry = serializers.CharField(source="industry_id")
    industry_name = serializers.CharField(source="industry.name_zh")
    founded_on = serializers.DateField(allow_null=True)
    high_tech_certificate_number = serializers.CharField()
    high_tech_certificate_expires_on = serializers.DateField(allow_null=True)
    specialised_level = serializers.ChoiceField(choices=SpecialisedLevel.choices)
    tech_sme_number = serializers.CharField()
    created_at = serializers.DateTimeField()


class FirmMeApi(APIView):
    permission_classes = [IsFirmAdminForWrites]

    class FirmMeInputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200, required=False)
        legal_representative = serializers.CharField(max_length=100, required=False, allow_blank=True)
        industry = serializers.SlugRelatedField(slug_field="code", queryset=Industry.objects.all(), required=False)
        founded_on = serializers.DateField(required=False, allow_null=True)
        high_tech_certificate_number = serializers.CharField(max_length=40, required=False, allow_blank=True)
        high_tech_certificate_expires_on = serializers.DateField(required=False, allow_null=True)
        specialised_level = serializers.ChoiceField(choices=SpecialisedLevel.choices, required=False)
        tech_sme_number = serializers.CharField(max_length=40, required=False, allow_blank=True)

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            unknown = sorted(set(self.initial_data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: [_("This field cannot be changed here.")] for name in unknown})
            return attrs

    @extend_schema(operation_id="firm_me", responses={200: FirmOutputSerializer, **problem_responses(401, 403)})
    def get(self, request: Request) -> Response:
        firm = selectors.firm_get_for_user(user=request.user)
        return Response(FirmOutputSerializer(firm).data)

    @extend_schema(
        operation_id="firm_me_update",
        request=FirmMeInputSerializer,
        responses={200: FirmOutputSerializer, **problem_responses(400, 401, 403)},
    )
    def patch(self, request: Request) -> Response:
        serializer = self.FirmMeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        if "industry" in changes:
            changes["industry_code"] = changes.pop("industry").code
        firm = selectors.firm_get_for_user(user=request.user)
        firm = services.firm_update(firm=firm, actor=request.user.as_actor, **changes)
        return Response(FirmOutputSerializer(firm).data)


def _money(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=20, decimal_places=2, **kwargs)


class FirmIndicatorSerializer(serializers.Serializer):
    year = serializers.IntegerField(read_only=True)
    revenue = _money(min_value=0)
    rd_expense = _money(min_value=0)
    staff_count = serializers.IntegerField(min_value=0)
    rd_staff_count = serializers.IntegerField(min_value=0)
    invention_applications = serializers.IntegerField(min_value=0, default=0)
    pct_applications = serializers.IntegerField(min_value=0, default=0)
    tech_contract_turnover = _money(min_value=0, default="0")
    hightech_product_revenue = _money(min_value=0, default="0")
    net_assets = _money(required=False, allow_null=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["rd_staff_count"] > attrs["staff_count"]:
            raise serializers.ValidationError({"rd_staff_count": [_("R&D staff cannot exceed total staff.")]})
        if attrs["rd_expense"] > attrs["revenue"] > 0 and attrs["rd_expense"] > attrs["revenue"] * 10:
            raise serializers.ValidationError({"rd_expense": [_("R&D expense is more than ten times revenue.")]})
        return attrs


class FirmIndicatorListApi(APIView):
    permission_classes = [IsFirmAdminForWrites]

    @extend_schema(
        operation_id="firm_indicator_list",
        responses={200: FirmIndicatorSerializer(many=True), **problem_responses(401, 403)},
    )
    def get(self, request: Request) -> Response:
        firm = selectors.firm_get_for_user(user=request.user)
        return Response(FirmIndicatorSerializer(firm.indicators.order_by("-year"), many=True).data)


class FirmIndicatorDetailApi(APIView):
    permission_classes = [IsFirmAdminForWrites]

    @extend_schema(
        operation_id="firm_indicator_put",
        request=FirmIndicatorSerializer,
        responses={200: FirmIndicatorSerializer, 201: FirmIndicatorSerializer, **problem_responses(400, 401, 403)},
    )
    def put(self, request: Request, year: int) -> Response:
        if not 1980 <= year <= timezone.localdate().year:
            raise ValidationFailed(
                _("The year must be between 1980 and this year."), errors={"year": [_("Out of range.")]}
            )
        serializer = FirmIndicatorSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        firm = selectors.firm_get_for_user(user=request.user)
        indicator, created = services.firm_indicator_upsert(
            firm=firm, year=year, actor=request.user.as_actor, values=dict(serializer.validated_data)
        )
        return Response(FirmIndicatorSerializer(indicator).data, status=201 if created else 200)


class FirmMemberSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(max_length=150)
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    role = serializers.ChoiceField(choices=[User.Role.FIRM_ADMIN, User.Role.FIRM_MEMBER], default=User.Role.FIRM_MEMBER)
    password = serializers.CharField(write_only=True, min_length=10, max_length=128)
    is_active = serializers.BooleanField(read_only=True)

    def validate_password(self, value: str) -> str:
        validate_password(value)
        return value


class FirmMemberListApi(APIView):
    pagination_class = CursorPagination
    permission_classes = [IsFirmAdminForWrites]

    @extend_schema(
        operation_id="firm_member_list", responses={200: FirmMemberSerializer(many=True), **problem_responses(401, 403)}
    )
    def get(self, request: Request) -> Response:
        return paginate(request, self, User.objects.filter(firm_id=request.user.firm_id), FirmMemberSerializer)

    @extend_schema(
        operation_id="firm_member_create",
        request=FirmMemberSerializer,
        responses={201: FirmMemberSerializer, **problem_responses(400, 401, 403, 409)},
    )
    def post(self, request: Request) -> Response:
        serializer = FirmMemberSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if User.objects.filter(username=data["username"]).exists():
            raise Conflict(_("This username is taken."), errors={"username": [_("Already taken.")]})
        user = services.user_create(
            username=data["username"],
            password=data["password"],
            role=data["role"],
            email=data["email"],
            firm=request.user.firm,
            actor=request.user.as_actor,
        )
        return Response(FirmMemberSerializer(user).data, status=status.HTTP_201_CREATED)


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
    documents = DocumentFileOutputSerializer(many=True, help_text="Evidence files, newest first.")
    marks = serializers.SerializerMethodField(
        help_text="Warnings: lapsed, expired, invalidated, pending, term_ended (patents), expired (trademarks), "
        "registration_expired, personal_info (data). Rights that ended are valued at zero; the margin watch "
        "counts lapsed, expired, invalidated, term_ended and registration_expired assets as no cover."
    )
    rejection_reason = serializers.CharField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_marks(self, asset: Asset) -> list[str]:
        return asset_marks(kind=asset.kind, details=asset.details, today=timezone.localdate())


ASSET_FILTERS = [
    OpenApiParameter("kind", str, enum=[k.value for k in Asset.Kind]),
    OpenApiParameter("status", str, enum=[s.value for s in Asset.Status]),
]


class AssetListCreateApi(APIView):
    pagination_class = CursorPagination
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
        services.asset_update(asset=asset, actor=request.user.as_actor, user=request.user, **serializer.validated_data)
        return Response(AssetOutputSerializer(selectors.asset_get_for_user(user=request.user, asset_id=asset_id)).data)


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


class ReasonOptionalSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class VersionPagination(CursorPagination):
    ordering = "-number"


class AssetRetireApi(APIView):
    permission_classes = [IsFirmAdminOrReviewer]

    @extend_schema(
        operation_id="asset_retire",
        request=ReasonOptionalSerializer,
        responses={200: AssetOutputSerializer, **problem_responses(400, 401, 403, 404, 409)},
    )
    def post(self, request: Request, asset_id: int) -> Response:
        serializer = ReasonOptionalSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        asset = selectors.asset_get_for_user(user=request.user, asset_id=asset_id)
        services.asset_retire(asset=asset, actor=request.user.as_actor, reason=serializer.validated_data["reason"])
        return Response(AssetOutputSerializer(selectors.asset_get_for_user(user=request.user, asset_id=asset_id)).data)


class AssetVersionOutputSerializer(serializers.Serializer):
    class AssetVersionChangeSerializer(serializers.Serializer):
        field = serializers.CharField()
        before = serializers.JSONField(allow_null=True)
        after = serializers.JSONField(allow_null=True)

    number = serializers.IntegerField()
    title = serializers.CharField()
    details = serializers.JSONField()
    change = serializers.CharField()
    changes = AssetVersionChangeSerializer(source="diff", many=True)
    changed_by = serializers.CharField(source="created_by.username", allow_null=True, default=None)
    changed_at = serializers.DateTimeField(source="created_at")
    is_approved_version = serializers.SerializerMethodField()

    def get_is_approved_version(self, version: AssetVersion) -> bool:
        return version.number == self.context["approved_version"]


class AssetVersionListApi(APIView):
    pagination_class = VersionPagination
    permission_classes = [IsFirmUserOrReviewer]

    @extend_schema(
        operation_id="asset_version_list",
        responses={200: AssetVersionOutputSerializer(many=True), **problem_responses(401, 403, 404)},
    )
    def get(self, request: Request, asset_id: int) -> Response:
        asset = selectors.asset_get_for_user(user=request.user, asset_id=asset_id)
        versions = asset.versions.select_related("created_by").order_by("-number")
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(versions, request, view=self)
        return paginator.get_paginated_response(
            AssetVersionOutputSerializer(page, many=True, context={"approved_version": asset.approved_version}).data
        )


class AssetReviewOutputSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    reviewer = serializers.CharField(source="reviewer.username")
    decision = serializers.CharField()
    reason = serializers.CharField()
    decided_at = serializers.DateTimeField(source="created_at")


class AssetReviewListApi(APIView):
    pagination_class = CursorPagination
    permission_classes = [IsFirmUserOrReviewer]

    @extend_schema(
        operation_id="asset_review_list",
        responses={200: AssetReviewOutputSerializer(many=True), **problem_responses(401, 403, 404)},
    )
    def get(self, request: Request, asset_id: int) -> Response:
        asset = selectors.asset_get_for_user(user=request.user, asset_id=asset_id)
        return paginate(request, self, asset.reviews.select_related("reviewer"), AssetReviewOutputSerializer)


# --- review -----------------------------------------------------------------------------------------


class ReviewAssetQueueApi(APIView):
    pagination_class = CursorPagination
    permission_classes = [IsReviewer]

    class ReviewAssetQueueFilterSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=Asset.Kind.choices, required=False)
        firm = serializers.CharField(required=False, max_length=18)
        older_than_days = serializers.IntegerField(required=False, min_value=0, max_value=3650)

    @extend_schema(
        operation_id="review_asset_queue",
        parameters=[
            OpenApiParameter("kind", str, enum=[k.value for k in Asset.Kind]),
            OpenApiParameter("firm", str, description="USCC"),
            OpenApiParameter("older_than_days", int, description="submitted at least this many days ago"),
        ],
        responses={200: AssetOutputSerializer(many=True), **problem_responses(400, 401, 403)},
    )
    def get(self, request: Request) -> Response:
        filters = self.ReviewAssetQueueFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        qs = selectors.asset_review_queue(
            kind=filters.validated_data.get("kind"),
            firm_uscc=filters.validated_data.get("firm"),
            older_than_days=filters.validated_data.get("older_than_days"),
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
    pagination_class = CursorPagination
    permission_classes = [IsFirmUserOrReviewer, IsFirmAdminOrReadOnly]

    class ConsentListCreateInputSerializer(serializers.Serializer):
        bank = serializers.CharField(max_length=32, help_text="The bank's code.")
        expires_at = serializers.DateTimeField()
        scopes = serializers.ListField(
            child=serializers.ChoiceField(choices=Consent.Scope.choices),
            min_length=1,
            max_length=len(Consent.Scope.choices),
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
    permission_classes = [IsFirmAdminForWrites]

    @extend_schema(operation_id="consent_revoke", responses={204: None, **problem_responses(401, 403, 404)})
    def delete(self, request: Request, consent_id: int) -> Response:
        consent = selectors.consent_get_for_firm_user(user=request.user, consent_id=consent_id)
        services.consent_revoke(consent=consent, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ConsentingFirmOutputSerializer(serializers.Serializer):
    uscc = serializers.CharField(source="firm.uscc")
    name = serializers.CharField(source="firm.name")
    industry = serializers.CharField(source="firm.industry_id")
    region_code = serializers.CharField(source="firm.region_code")
    scopes = serializers.ListField(child=serializers.CharField())
    consent_expires_at = serializers.DateTimeField(source="expires_at")


class ConsentingFirmListApi(APIView):
    pagination_class = CursorPagination
    permission_classes = [IsBank]

    @extend_schema(
        operation_id="consenting_firm_list",
        responses={200: ConsentingFirmOutputSerializer(many=True), **problem_responses(401, 403)},
    )
    def get(self, request: Request) -> Response:
        qs = selectors.consent_list_for_user(user=request.user)
        return paginate(request, self, qs, ConsentingFirmOutputSerializer)


# --- audit ------------------------------------------------------------------------------------------


class AuditEventOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        # The same fields, in the same order, as `manage.py export_audit` writes: whoever holds the API's answers
        # can re-check each event's hash and its link to the previous one (common/audit_chain.py).
        fields = EXPORTED_FIELDS


class AuditListApi(APIView):
    pagination_class = CursorPagination
    permission_classes = [IsReviewer]

    class AuditListFilterSerializer(serializers.Serializer):
        actor = serializers.CharField(required=False, help_text="actor label, e.g. user:alice")
        object_type = serializers.CharField(required=False)
        object_id = serializers.CharField(required=False)
        action = serializers.CharField(required=False)
        result = serializers.ChoiceField(choices=AuditEvent.Result.choices, required=False)
        since = serializers.DateTimeField(required=False)
        until = serializers.DateTimeField(required=False)

    @extend_schema(
        operation_id="audit_list",
        parameters=[OpenApiParameter(n, str) for n in ("actor", "object_type", "object_id", "action", "result")]
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
        for name in ("object_type", "object_id", "action", "result"):
            if name in f:
                qs = qs.filter(**{name: f[name]})
        if "since" in f:
            qs = qs.filter(occurred_at__gte=f["since"])
        if "until" in f:
            qs = qs.filter(occurred_at__lt=f["until"])
        return paginate(request, self, qs, AuditEventOutputSerializer)
