from django.urls import path

from credit import apis

app_name = "credit"

urlpatterns = [
    path("credit/limits/<str:uscc>/", apis.CreditLimitApi.as_view(), name="credit-limit"),
    path("credit/products/", apis.ProductListCreateApi.as_view(), name="credit-product-list"),
    path("credit/portfolio/", apis.PortfolioApi.as_view(), name="credit-portfolio"),
    path("credit/portfolio/export.csv", apis.PortfolioExportCsvApi.as_view(), name="credit-portfolio-export-csv"),
    path("credit/portfolio/export.xlsx", apis.PortfolioExportXlsxApi.as_view(), name="credit-portfolio-export-xlsx"),
    path("credit/api-keys/", apis.ApiKeyListCreateApi.as_view(), name="credit-api-key-list"),
    path("credit/api-keys/<str:prefix>/", apis.ApiKeyDetailApi.as_view(), name="credit-api-key-detail"),
    path("credit-lines/", apis.CreditLineListCreateApi.as_view(), name="credit-line-list"),
    path("credit-lines/<int:credit_line_id>/", apis.CreditLineDetailApi.as_view(), name="credit-line-detail"),
    path("credit-lines/<int:credit_line_id>/draws/", apis.CreditLineDrawApi.as_view(), name="credit-line-draw"),
    path(
        "credit-lines/<int:credit_line_id>/repayments/",
        apis.CreditLineRepaymentApi.as_view(),
        name="credit-line-repayment",
    ),
    path("credit-lines/<int:credit_line_id>/close/", apis.CreditLineCloseApi.as_view(), name="credit-line-close"),
    path(
        "credit-lines/<int:credit_line_id>/margin-check/",
        apis.CreditLineMarginCheckApi.as_view(),
        name="credit-line-margin-check",
    ),
    path("credit-lines/<int:credit_line_id>/events/", apis.CreditLineEventListApi.as_view(), name="credit-line-events"),
    path(
        "credit-lines/<int:credit_line_id>/movements/",
        apis.CreditLineMovementListApi.as_view(),
        name="credit-line-movements",
    ),
    path("pledges/", apis.PledgeListApi.as_view(), name="pledge-list"),
    path("pledges/<int:pledge_id>/", apis.PledgeDetailApi.as_view(), name="pledge-detail"),
    path("webhooks/", apis.WebhookListCreateApi.as_view(), name="webhook-list"),
    path("webhooks/<int:webhook_id>/", apis.WebhookDetailApi.as_view(), name="webhook-detail"),
    path("webhooks/<int:webhook_id>/deliveries/", apis.WebhookDeliveryListApi.as_view(), name="webhook-delivery-list"),
    path(
        "webhooks/deliveries/<int:delivery_id>/replay/",
        apis.WebhookDeliveryReplayApi.as_view(),
        name="webhook-delivery-replay",
    ),
]
