from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api.idempotency import idempotent
from common.api.pagination import CursorPagination
from common.api.problems import problem_responses
from common.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS, RATE_DECIMAL_PLACES, RATE_MAX_DIGITS
from credit import selectors, services
from credit.models import CreditLine, CreditProduct, Pledge
from registry.permissions import IsBank, IsBankOrFirmOrReviewer


def money_field(**kwargs: object) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES, **kwargs)  # type: ignore[arg-type]


IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    description="Required. The same key and body within 24 h returns the first response and creates nothing new.",
)


class LimitLineSerializer(serializers.Serializer):
    asset = serializers.IntegerField()
    kind = serializers.CharField()
    valuation = serializers.IntegerField()
    collateral_value = money_field()
    pledge_rate = serializers.DecimalField(max_digits=RATE_MAX_DIGITS, decimal_places=RATE_DECIMAL_PLACES)
    amount = money_field()


class LimitExclusionSerializer(serializers.Serializer):
    asset = serializers.IntegerField()
    reason = serializers.CharField()


class CreditLimitOutputSerializer(serializers.Serializer):
    firm = serializers.CharField()
    product = serializers.CharField()
    limit = money_field()
    secured = money_field()
    unsecured = money_field()
    currency = serializers.CharField()
    tier = serializers.CharField(allow_null=True)
    valid_until = serializers.DateTimeField()
    explanation = LimitLineSerializer(many=True)
    excluded = LimitExclusionSerializer(many=True)
    caps_applied = serializers.ListField(child=serializers.CharField())


class CreditLimitApi(APIView):
    permission_classes = [IsBank]

    class CreditLimitFilterSerializer(serializers.Serializer):
        product = serializers.CharField(required=False, max_length=40)
        purpose = serializers.CharField(required=False, max_length=200)

    @extend_schema(
        operation_id="credit_limit_get",
        parameters=[
            OpenApiParameter(
                "product", str, description="Product code; optional when the bank has exactly one active product."
            ),
            OpenApiParameter("purpose", str, description="Why the bank asks (audited)."),
        ],
        responses={200: CreditLimitOutputSerializer, **problem_responses(400, 401, 403, 404)},
    )
    def get(self, request: Request, uscc: str) -> Response:
        filters = self.CreditLimitFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        limit = services.credit_limit_query(
            bank=request.user.acting_bank,
            actor=request.user.as_actor,
            uscc=uscc,
            product_code=filters.validated_data.get("product"),
            purpose=filters.validated_data.get("purpose", ""),
        )
        r = limit.result
        return Response(
            CreditLimitOutputSerializer(
                {
                    "firm": limit.firm.uscc,
                    "product": limit.product.code,
                    "limit": r.limit,
                    "secured": r.secured,
                    "unsecured": r.unsecured,
                    "currency": r.currency,
                    "tier": r.tier,
                    "valid_until": limit.valid_until,
                    "explanation": r.lines,
                    "excluded": r.excluded,
                    "caps_applied": r.caps_applied,
                }
            ).data
        )


class ProductSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    code = serializers.RegexField(r"^[A-Za-z0-9_-]{2,40}$", max_length=40)
    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=CreditProduct.Kind.choices, default=CreditProduct.Kind.PLEDGE)
    pledge_rates = serializers.DictField(
        child=serializers.CharField(),
        default=dict,
        help_text='Asset kind to rate, e.g. {"patent": "0.25"}; at most 0.50.',
    )
    unsecured_by_tier = serializers.DictField(child=money_field(min_value=Decimal("0")), default=dict)
    max_amount = money_field(min_value=Decimal("0.01"), required=False, allow_null=True, default=None)
    max_term_months = serializers.IntegerField(min_value=1, max_value=360, default=36)
    max_valuation_age_days = serializers.IntegerField(min_value=1, max_value=3650, default=365)
    currency = serializers.CharField(read_only=True)
    is_active = serializers.BooleanField(read_only=True)

    def validate_unsecured_by_tier(self, value: dict[str, Decimal]) -> dict[str, Decimal]:
        unknown = sorted(set(value) - {"A", "B", "C", "D", "E"})
        if unknown:
            raise serializers.ValidationError(f"Unknown tiers: {', '.join(unknown)} (use A to E).")
        return value


class ProductListCreateApi(APIView):
    pagination_class = CursorPagination
    permission_classes = [IsBank]

    @extend_schema(
        operation_id="credit_product_list", responses={200: ProductSerializer(many=True), **problem_responses(401, 403)}
    )
    def get(self, request: Request) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            selectors.product_list_for_bank(bank=request.user.acting_bank), request, view=self
        )
        return paginator.get_paginated_response(ProductSerializer(page, many=True).data)

    @extend_schema(
        operation_id="credit_product_create",
        request=ProductSerializer,
        responses={201: ProductSerializer, **problem_responses(400, 401, 403, 409)},
    )
    def post(self, request: Request) -> Response:
        serializer = ProductSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        product = services.product_create(
            bank=request.user.acting_bank, actor=request.user.as_actor, **serializer.validated_data
        )
        return Response(ProductSerializer(product).data, status=status.HTTP_201_CREATED)


class PledgeOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    credit_line = serializers.IntegerField(source="credit_line_id")
    asset = serializers.IntegerField(source="asset_id")
    asset_kind = serializers.CharField(source="asset.kind")
    asset_title = serializers.CharField(source="asset.title")
    firm = serializers.CharField(source="credit_line.firm.uscc")
    bank = serializers.CharField(source="credit_line.bank.code")
    valuation = serializers.IntegerField(source="valuation_id")
    collateral_value = money_field()
    pledge_rate = serializers.DecimalField(max_digits=RATE_MAX_DIGITS, decimal_places=RATE_DECIMAL_PLACES)
    secured_amount = money_field()
    currency = serializers.CharField()
    status = serializers.ChoiceField(choices=Pledge.Status.choices)
    external_registration_number = serializers.CharField()
    created_at = serializers.DateTimeField()
    released_at = serializers.DateTimeField(allow_null=True)


class CreditLineOutputSerializer(serializers.Serializer):
    class LinePledgeSerializer(serializers.Serializer):
        asset = serializers.IntegerField(source="asset_id")
        valuation = serializers.IntegerField(source="valuation_id")
        collateral_value = money_field()
        pledge_rate = serializers.DecimalField(max_digits=RATE_MAX_DIGITS, decimal_places=RATE_DECIMAL_PLACES)
        secured_amount = money_field()
        status = serializers.CharField()

    id = serializers.IntegerField()
    firm = serializers.CharField(source="firm.uscc")
    bank = serializers.CharField(source="bank.code")
    product = serializers.CharField(source="product.code")
    amount = money_field()
    drawn = money_field(source="drawn_amount")
    secured_amount = money_field()
    unsecured_amount = money_field()
    currency = serializers.CharField()
    status = serializers.ChoiceField(choices=CreditLine.Status.choices)
    term_months = serializers.IntegerField()
    matures_on = serializers.DateField()
    pledges = LinePledgeSerializer(many=True)
    created_at = serializers.DateTimeField()


class CreditLineListCreateApi(APIView):
    pagination_class = CursorPagination
    permission_classes = [IsBankOrFirmOrReviewer]

    class CreditLineListCreateInputSerializer(serializers.Serializer):
        firm = serializers.CharField(max_length=18, help_text="The firm's USCC.")
        product = serializers.CharField(max_length=40)
        amount = money_field(min_value=Decimal("0.01"))
        assets = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1, max_length=200)
        term_months = serializers.IntegerField(min_value=1, max_value=360, required=False)

    @extend_schema(
        operation_id="credit_line_list",
        responses={200: CreditLineOutputSerializer(many=True), **problem_responses(401, 403)},
    )
    def get(self, request: Request) -> Response:
        qs = selectors.credit_line_qs_for_user(user=request.user).prefetch_related("pledges")
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(CreditLineOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="credit_line_issue",
        request=CreditLineListCreateInputSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: CreditLineOutputSerializer, **problem_responses(400, 401, 403, 404, 409, 422)},
    )
    def post(self, request: Request) -> Response:
        self.permission_denied_unless_bank(request)
        serializer = self.CreditLineListCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data

        def issue() -> Response:
            line = services.credit_line_issue(
                bank=request.user.acting_bank,
                actor=request.user.as_actor,
                uscc=data["firm"],
                product_code=data["product"],
                amount=data["amount"],
                asset_ids=data["assets"],
                term_months=data.get("term_months"),
            )
            return Response(CreditLineOutputSerializer(line).data, status=status.HTTP_201_CREATED)

        return idempotent(request, issue, required=True)

    def permission_denied_unless_bank(self, request: Request) -> None:
        if getattr(request.user, "acting_bank", None) is None:
            self.permission_denied(request, message="Only banks issue credit lines.")


class CreditLineDetailApi(APIView):
    permission_classes = [IsBankOrFirmOrReviewer]

    @extend_schema(
        operation_id="credit_line_get", responses={200: CreditLineOutputSerializer, **problem_responses(401, 403, 404)}
    )
    def get(self, request: Request, credit_line_id: int) -> Response:
        line = selectors.credit_line_get_for_user(user=request.user, credit_line_id=credit_line_id)
        return Response(CreditLineOutputSerializer(line).data)


class PledgeListApi(APIView):
    pagination_class = CursorPagination
    permission_classes = [IsBankOrFirmOrReviewer]

    class PledgeListFilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=Pledge.Status.choices, required=False)

    @extend_schema(
        operation_id="pledge_list",
        parameters=[OpenApiParameter("status", str, enum=[s.value for s in Pledge.Status])],
        responses={200: PledgeOutputSerializer(many=True), **problem_responses(400, 401, 403)},
    )
    def get(self, request: Request) -> Response:
        filters = self.PledgeListFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        qs = selectors.pledge_list_for_user(user=request.user, status=filters.validated_data.get("status"))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(PledgeOutputSerializer(page, many=True).data)
