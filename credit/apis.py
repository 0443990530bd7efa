from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api.idempotency import idempotent
from common.api.pagination import CursorPagination, paginate
from common.api.problems import problem_responses
from common.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS, RATE_DECIMAL_PLACES, RATE_MAX_DIGITS
from credit import exports, selectors, services, webhooks
from credit.models import CreditLine, CreditLineEvent, CreditLineMovement, CreditProduct, Pledge, PledgeEvent
from registry.models import BankApiKey
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
    throttle_scope = "limit"  # its own budget per bank API key (common/api/throttling.py)
    # One output serializer for every request: to_representation keeps no per-call state, while building a
    # serializer per request deep-copies its declared fields and nested serializers. Same output as ``.data``.
    output = CreditLimitOutputSerializer()

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
            self.output.to_representation(
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
            )
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
            raise serializers.ValidationError(
                _("Unknown tiers: %(tiers)s (use A to E).") % {"tiers": ", ".join(unknown)}
            )
        return value


class ProductListCreateApi(APIView):
    pagination_class = CursorPagination
    permission_classes = [IsBank]

    @extend_schema(
        operation_id="credit_product_list", responses={200: ProductSerializer(many=True), **problem_responses(401, 403)}
    )
    def get(self, request: Request) -> Response:
        return paginate(
            request, self, selectors.product_list_for_bank(bank=request.user.acting_bank), ProductSerializer
        )

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
    coverage = serializers.DecimalField(
        max_digits=24,
        decimal_places=4,
        allow_null=True,
        help_text="Pledged collateral (current approved low x pledge rate) over the secured drawn balance; "
        "null while nothing secured is drawn. Below 1 puts the line at risk.",
    )
    coverage_computed_at = serializers.DateTimeField(allow_null=True)
    pledges = LinePledgeSerializer(many=True)
    created_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)


class CreditLineListCreateApi(APIView):
    pagination_class = CursorPagination
    permission_classes = [IsBankOrFirmOrReviewer]

    class CreditLineListCreateInputSerializer(serializers.Serializer):
        firm = serializers.CharField(max_length=18, help_text="The firm's USCC.")
        product = serializers.CharField(max_length=40)
        amount = money_field(min_value=Decimal("0.01"))
        assets = serializers.ListField(
            child=serializers.IntegerField(min_value=1, max_value=2**63 - 1), min_length=1, max_length=200
        )
        term_months = serializers.IntegerField(min_value=1, max_value=360, required=False)
        registrations = serializers.DictField(
            child=serializers.CharField(max_length=100),
            required=False,
            help_text='Optional external pledge registration numbers by asset id, e.g. {"12": "CNIPA-2025-001"}.',
        )

        def validate_registrations(self, value: dict[str, str]) -> dict[int, str]:
            bad = [k for k in value if not str(k).isdigit()]
            if bad:
                raise serializers.ValidationError(
                    _("Keys must be asset ids; got %(keys)s.") % {"keys": ", ".join(map(str, bad))}
                )
            return {int(k): v.strip() for k, v in value.items()}

    @extend_schema(
        operation_id="credit_line_list",
        responses={200: CreditLineOutputSerializer(many=True), **problem_responses(401, 403)},
    )
    def get(self, request: Request) -> Response:
        qs = selectors.credit_line_qs_for_user(user=request.user).prefetch_related("pledges")
        return paginate(request, self, qs, CreditLineOutputSerializer)

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
                registrations=data.get("registrations"),
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
        return paginate(request, self, qs, PledgeOutputSerializer)


# --- draws, repayments, close ----------------------------------------------------------------------------------


class MovementOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    credit_line = serializers.IntegerField(source="credit_line_id")
    kind = serializers.ChoiceField(choices=CreditLineMovement.Kind.choices)
    amount = money_field()
    currency = serializers.CharField()
    drawn_after = money_field()
    actor = serializers.CharField()
    created_at = serializers.DateTimeField()


class MovementInputSerializer(serializers.Serializer):
    amount = money_field(min_value=Decimal("0.01"))


class _MovementApi(APIView):
    permission_classes = [IsBank]
    service = staticmethod(services.credit_line_draw)

    def post(self, request: Request, credit_line_id: int) -> Response:
        line = selectors.credit_line_get_for_user(user=request.user, credit_line_id=credit_line_id)
        serializer = MovementInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)

        def move() -> Response:
            movement = self.service(
                credit_line=line, amount=serializer.validated_data["amount"], actor=request.user.as_actor
            )
            fresh = selectors.credit_line_get_for_user(user=request.user, credit_line_id=line.pk)
            body = {**MovementOutputSerializer(movement).data, "credit_line": CreditLineOutputSerializer(fresh).data}
            return Response(body, status=status.HTTP_201_CREATED)

        return idempotent(request, move, required=True)


class MovementResponseSerializer(MovementOutputSerializer):
    credit_line = CreditLineOutputSerializer()  # type: ignore[assignment]


class CreditLineDrawApi(_MovementApi):
    service = staticmethod(services.credit_line_draw)

    @extend_schema(
        operation_id="credit_line_draw",
        request=MovementInputSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: MovementResponseSerializer, **problem_responses(400, 401, 403, 404, 409, 422)},
        description="Draw from the line. 409 `credit_line_at_risk` or `credit_line_closed`; "
        "422 `credit_limit_exceeded` above the available amount.",
    )
    def post(self, request: Request, credit_line_id: int) -> Response:
        return super().post(request, credit_line_id)


class CreditLineRepaymentApi(_MovementApi):
    service = staticmethod(services.credit_line_repay)

    @extend_schema(
        operation_id="credit_line_repay",
        request=MovementInputSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: MovementResponseSerializer, **problem_responses(400, 401, 403, 404, 409, 422)},
        description="Repay into the line. 409 `credit_line_closed`; 422 `repayment_exceeds_drawn`.",
    )
    def post(self, request: Request, credit_line_id: int) -> Response:
        return super().post(request, credit_line_id)


class CreditLineCloseApi(APIView):
    permission_classes = [IsBank]

    @extend_schema(
        operation_id="credit_line_close",
        request=None,
        responses={200: CreditLineOutputSerializer, **problem_responses(401, 403, 404, 409)},
        description="Close a line with nothing drawn and release its pledges. "
        "409 `credit_line_has_balance` while anything is drawn, `credit_line_closed` when already closed.",
    )
    def post(self, request: Request, credit_line_id: int) -> Response:
        line = selectors.credit_line_get_for_user(user=request.user, credit_line_id=credit_line_id)
        services.credit_line_close(credit_line=line, actor=request.user.as_actor)
        fresh = selectors.credit_line_get_for_user(user=request.user, credit_line_id=line.pk)
        return Response(CreditLineOutputSerializer(fresh).data)


class CreditLineMarginCheckApi(APIView):
    permission_classes = [IsBank]

    @extend_schema(
        operation_id="credit_line_margin_check",
        request=None,
        responses={200: CreditLineOutputSerializer, **problem_responses(401, 403, 404)},
        description="Recompute the line's coverage now (the margin watch on demand); "
        "below 1 the line goes at risk, back at 1 or above it recovers.",
    )
    def post(self, request: Request, credit_line_id: int) -> Response:
        line = selectors.credit_line_get_for_user(user=request.user, credit_line_id=credit_line_id)
        services.margin_watch(line_ids=[line.pk], actor=request.user.as_actor)
        fresh = selectors.credit_line_get_for_user(user=request.user, credit_line_id=line.pk)
        return Response(CreditLineOutputSerializer(fresh).data)


class CreditLineEventOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    type = serializers.ChoiceField(choices=CreditLineEvent.Type.choices)
    data = serializers.JSONField()
    actor = serializers.CharField()
    created_at = serializers.DateTimeField()


class CreditLineEventListApi(APIView):
    pagination_class = CursorPagination
    permission_classes = [IsBankOrFirmOrReviewer]

    @extend_schema(
        operation_id="credit_line_event_list",
        responses={200: CreditLineEventOutputSerializer(many=True), **problem_responses(401, 403, 404)},
    )
    def get(self, request: Request, credit_line_id: int) -> Response:
        line = selectors.credit_line_get_for_user(user=request.user, credit_line_id=credit_line_id)
        return paginate(request, self, selectors.credit_line_events(credit_line=line), CreditLineEventOutputSerializer)


class CreditLineMovementListApi(APIView):
    pagination_class = CursorPagination
    permission_classes = [IsBankOrFirmOrReviewer]

    @extend_schema(
        operation_id="credit_line_movement_list",
        responses={200: MovementOutputSerializer(many=True), **problem_responses(401, 403, 404)},
    )
    def get(self, request: Request, credit_line_id: int) -> Response:
        line = selectors.credit_line_get_for_user(user=request.user, credit_line_id=credit_line_id)
        return paginate(request, self, selectors.credit_line_movements(credit_line=line), MovementOutputSerializer)


# --- pledges -----------------------------------------------------------------------------------------------------


class PledgeEventOutputSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=PledgeEvent.Type.choices)
    data = serializers.JSONField()
    actor = serializers.CharField()
    created_at = serializers.DateTimeField()


class PledgeDetailOutputSerializer(PledgeOutputSerializer):
    history = PledgeEventOutputSerializer(source="events.all", many=True)


class PledgeDetailApi(APIView):
    def get_permissions(self) -> list:  # type: ignore[type-arg]
        return [IsBank()] if self.request.method == "PATCH" else [IsBankOrFirmOrReviewer()]

    class PledgeUpdateInputSerializer(serializers.Serializer):
        external_registration_number = serializers.CharField(max_length=100, allow_blank=False)

    @extend_schema(
        operation_id="pledge_get",
        responses={200: PledgeDetailOutputSerializer, **problem_responses(401, 403, 404)},
    )
    def get(self, request: Request, pledge_id: int) -> Response:
        pledge = selectors.pledge_get_for_user(user=request.user, pledge_id=pledge_id)
        return Response(PledgeDetailOutputSerializer(pledge).data)

    @extend_schema(
        operation_id="pledge_update",
        request=PledgeUpdateInputSerializer,
        responses={200: PledgeDetailOutputSerializer, **problem_responses(400, 401, 403, 404, 409)},
        description="Set the pledge's external registration number (the bank of the line only). "
        "409 `pledge_not_active` once released.",
    )
    def patch(self, request: Request, pledge_id: int) -> Response:
        selectors.pledge_get_for_user(user=request.user, pledge_id=pledge_id)  # 404 for what is not yours
        serializer = self.PledgeUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.pledge_registration_set(
            bank=request.user.acting_bank,
            actor=request.user.as_actor,
            pledge_id=pledge_id,
            number=serializer.validated_data["external_registration_number"].strip(),
        )
        pledge = selectors.pledge_get_for_user(user=request.user, pledge_id=pledge_id)
        return Response(PledgeDetailOutputSerializer(pledge).data)


# --- webhooks ----------------------------------------------------------------------------------------------------


class WebhookOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.URLField()
    events = serializers.ListField(child=serializers.ChoiceField(choices=webhooks.EVENT_TYPES))
    created_at = serializers.DateTimeField()


class WebhookCreatedOutputSerializer(WebhookOutputSerializer):
    secret = serializers.CharField(help_text="Shown once: verify X-Softasset-Signature with it.")


class WebhookListCreateApi(APIView):
    pagination_class = CursorPagination
    permission_classes = [IsBank]

    class WebhookCreateInputSerializer(serializers.Serializer):
        url = serializers.URLField(max_length=500)
        events = serializers.ListField(
            child=serializers.ChoiceField(choices=webhooks.EVENT_TYPES),
            min_length=1,
            max_length=len(webhooks.EVENT_TYPES),
        )

    @extend_schema(
        operation_id="webhook_list", responses={200: WebhookOutputSerializer(many=True), **problem_responses(401, 403)}
    )
    def get(self, request: Request) -> Response:
        return paginate(
            request, self, webhooks.webhook_qs_for_bank(bank=request.user.acting_bank), WebhookOutputSerializer
        )

    @extend_schema(
        operation_id="webhook_create",
        request=WebhookCreateInputSerializer,
        responses={201: WebhookCreatedOutputSerializer, **problem_responses(400, 401, 403)},
        description="Subscribe a URL to events. Each delivery is a JSON POST with headers X-Softasset-Event, "
        "X-Softasset-Delivery, X-Softasset-Timestamp and X-Softasset-Signature `t=<timestamp>,v1=<hex>` where "
        "the hex is HMAC-SHA256 with the secret over `<timestamp>.<body>`. Non-2xx answers are retried with "
        "exponential backoff.",
    )
    def post(self, request: Request) -> Response:
        serializer = self.WebhookCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        subscription = webhooks.webhook_subscribe(
            bank=request.user.acting_bank, actor=request.user.as_actor, **serializer.validated_data
        )
        return Response(WebhookCreatedOutputSerializer(subscription).data, status=status.HTTP_201_CREATED)


class WebhookDetailApi(APIView):
    permission_classes = [IsBank]

    @extend_schema(operation_id="webhook_delete", responses={204: None, **problem_responses(401, 403, 404)})
    def delete(self, request: Request, webhook_id: int) -> Response:
        webhooks.webhook_unsubscribe(bank=request.user.acting_bank, actor=request.user.as_actor, webhook_id=webhook_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookAttemptOutputSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    status_code = serializers.IntegerField(allow_null=True)
    error = serializers.CharField()
    duration_ms = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class WebhookDeliveryOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    webhook = serializers.IntegerField(source="subscription_id")
    event = serializers.IntegerField(source="event_id")
    event_type = serializers.CharField(source="event.type")
    payload = serializers.JSONField(source="event.payload")
    status = serializers.CharField()
    attempts = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    attempt_log = WebhookAttemptOutputSerializer(many=True)


class WebhookDeliveryListApi(APIView):
    pagination_class = CursorPagination
    permission_classes = [IsBank]

    @extend_schema(
        operation_id="webhook_delivery_list",
        responses={200: WebhookDeliveryOutputSerializer(many=True), **problem_responses(401, 403, 404)},
    )
    def get(self, request: Request, webhook_id: int) -> Response:
        subscription = webhooks.webhook_get_for_bank(bank=request.user.acting_bank, webhook_id=webhook_id)
        qs = subscription.deliveries.select_related("event").prefetch_related("attempt_log")
        return paginate(request, self, qs, WebhookDeliveryOutputSerializer)


class WebhookDeliveryReplayApi(APIView):
    permission_classes = [IsBank]

    @extend_schema(
        operation_id="webhook_delivery_replay",
        request=None,
        responses={202: WebhookDeliveryOutputSerializer, **problem_responses(401, 403, 404)},
        description="Send this delivery again, whatever its state.",
    )
    def post(self, request: Request, delivery_id: int) -> Response:
        webhooks.webhook_delivery_replay(
            bank=request.user.acting_bank, actor=request.user.as_actor, delivery_id=delivery_id
        )
        delivery = webhooks.delivery_get_for_bank(bank=request.user.acting_bank, delivery_id=delivery_id)
        return Response(WebhookDeliveryOutputSerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


# --- portfolio ---------------------------------------------------------------------------------------------------


class PortfolioSumsSerializer(serializers.Serializer):
    lines = serializers.IntegerField()
    amount = money_field()
    drawn = money_field()


class PortfolioIndustrySerializer(PortfolioSumsSerializer):
    industry = serializers.CharField()
    industry_name = serializers.CharField()


class PortfolioAssetKindSerializer(serializers.Serializer):
    asset_kind = serializers.CharField()
    pledges = serializers.IntegerField()
    lines = serializers.IntegerField()
    collateral_value = money_field()
    secured_amount = money_field()


# The bucket names ("1_to_1_5", ...) are not Python identifiers, so the fields are declared from the selector's
# buckets: the OpenAPI document then names the keys exactly as the response does.
PortfolioCoverageSerializer = type(
    "PortfolioCoverageSerializer",
    (serializers.Serializer,),
    {bucket: serializers.IntegerField() for bucket in selectors.COVERAGE_BUCKETS},
)


class PortfolioOutputSerializer(serializers.Serializer):
    currency = serializers.CharField()
    totals = PortfolioSumsSerializer()
    at_risk = PortfolioSumsSerializer()
    by_industry = PortfolioIndustrySerializer(many=True)
    by_asset_kind = PortfolioAssetKindSerializer(many=True)
    coverage_distribution = PortfolioCoverageSerializer()


class PortfolioApi(APIView):
    permission_classes = [IsBank]

    @extend_schema(
        operation_id="credit_portfolio_get",
        responses={200: PortfolioOutputSerializer, **problem_responses(401, 403)},
        description="The bank's open lines (active and at risk) in aggregate: totals, at risk, by industry, by "
        "pledged asset kind, and the coverage distribution (below 1, 1 to 1.5, 1.5 to 2, 2 and above, and "
        "no_drawing for lines with nothing secured drawn).",
    )
    def get(self, request: Request) -> Response:
        return Response(PortfolioOutputSerializer(selectors.portfolio_for_bank(bank=request.user.acting_bank)).data)


class PortfolioExportNegotiation(DefaultContentNegotiation):
    """The export answers with its file whatever the Accept header asks for; errors stay problem details."""

    def select_renderer(self, request: Request, renderers: list[Any], format_suffix: str | None = None) -> Any:
        return renderers[0], renderers[0].media_type


class _PortfolioExportApi(APIView):
    permission_classes = [IsBank]
    content_negotiation_class = PortfolioExportNegotiation
    fmt = "csv"

    class PortfolioExportFilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=CreditLine.Status.choices, required=False)

    def get(self, request: Request) -> HttpResponse:
        filters = self.PortfolioExportFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        bank = request.user.acting_bank
        lines = selectors.credit_line_export_qs(bank=bank, status=filters.validated_data.get("status"))
        body = exports.BUILDERS[self.fmt](lines.iterator(chunk_size=2000))
        response = HttpResponse(body, content_type=exports.CONTENT_TYPES[self.fmt])
        filename = exports.export_filename(bank_code=bank.code, fmt=self.fmt)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["X-Content-Type-Options"] = "nosniff"
        return response


def _export_schema(fmt: str) -> Any:
    return extend_schema(
        operation_id=f"credit_portfolio_export_{fmt}",
        parameters=[
            OpenApiParameter(
                "status", str, enum=[s.value for s in CreditLine.Status], description="Only lines in this status."
            )
        ],
        responses={
            (200, exports.CONTENT_TYPES[fmt].split(";")[0]): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="One row per credit line of the bank (all statuses unless `status` is given): firm "
                "name and USCC, industry, product, currency, limit, drawn to date, outstanding, available, "
                "collateral value of the active pledges, coverage ratio, status, issue, maturity and closing "
                "dates. The header row is in the request language."
                + (
                    " UTF-8 with a byte order mark; amounts as exact decimal strings."
                    if fmt == "csv"
                    else " Amounts are numeric cells with a 0.00 number format."
                ),
            ),
            **problem_responses(400, 401, 403),
        },
    )


class PortfolioExportCsvApi(_PortfolioExportApi):
    fmt = "csv"

    @_export_schema("csv")
    def get(self, request: Request) -> HttpResponse:
        return super().get(request)


class PortfolioExportXlsxApi(_PortfolioExportApi):
    fmt = "xlsx"

    @_export_schema("xlsx")
    def get(self, request: Request) -> HttpResponse:
        return super().get(request)


# --- API keys of banks -------------------------------------------------------------------------------------------


class IsBankStaffForWrites(IsBank):
    """Bank systems and bank staff may list keys; only a bank's staff (a person) creates or revokes them."""

    message = "Only a bank's staff can create or revoke API keys."

    def has_permission(self, request: Request, view: object) -> bool:
        if not super().has_permission(request, view):
            return False
        return request.method in ("GET", "HEAD", "OPTIONS") or bool(
            getattr(request.user, "is_bank_user", False) and request.user.pk
        )


class ApiKeyOutputSerializer(serializers.Serializer):
    prefix = serializers.CharField()
    name = serializers.CharField()
    created_at = serializers.DateTimeField(source="created")
    expires_at = serializers.DateTimeField(source="expiry_date", allow_null=True)
    revoked = serializers.BooleanField()


class ApiKeyCreatedOutputSerializer(ApiKeyOutputSerializer):
    key = serializers.CharField(help_text="Shown once. Send as `Authorization: Api-Key <key>`.")


class ApiKeyListCreateApi(APIView):
    pagination_class = CursorPagination
    permission_classes = [IsBankStaffForWrites]

    class ApiKeyCreateInputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=50)
        expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)

        def validate_expires_at(self, value: object) -> object:
            from django.utils import timezone

            if value is not None and value <= timezone.now():  # type: ignore[operator]
                raise serializers.ValidationError(_("Must be in the future."))
            return value

    @extend_schema(
        operation_id="bank_api_key_list",
        responses={200: ApiKeyOutputSerializer(many=True), **problem_responses(401, 403)},
    )
    def get(self, request: Request) -> Response:
        qs = BankApiKey.objects.filter(bank=request.user.acting_bank).order_by("-created")
        paginator = self.pagination_class()
        paginator.ordering = "-created"
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(ApiKeyOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="bank_api_key_create",
        request=ApiKeyCreateInputSerializer,
        responses={201: ApiKeyCreatedOutputSerializer, **problem_responses(400, 401, 403)},
        description="Bank staff only: a new key for the bank's systems, shown once.",
    )
    def post(self, request: Request) -> Response:
        serializer = self.ApiKeyCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        api_key, key = services.api_key_create(
            user=request.user,
            name=serializer.validated_data["name"],
            expires_at=serializer.validated_data["expires_at"],
        )
        api_key.key = key
        return Response(ApiKeyCreatedOutputSerializer(api_key).data, status=status.HTTP_201_CREATED)


class ApiKeyDetailApi(APIView):
    permission_classes = [IsBankStaffForWrites]

    @extend_schema(
        operation_id="bank_api_key_revoke",
        responses={204: None, **problem_responses(401, 403, 404)},
        description="Bank staff only: revoke a key of the bank at once.",
    )
    def delete(self, request: Request, prefix: str) -> Response:
        services.api_key_revoke(user=request.user, prefix=prefix)
        return Response(status=status.HTTP_204_NO_CONTENT)
