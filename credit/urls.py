from django.urls import path

from credit import apis

app_name = "credit"

urlpatterns = [
    path("credit/limits/<str:uscc>/", apis.CreditLimitApi.as_view(), name="credit-limit"),
    path("credit/products/", apis.ProductListCreateApi.as_view(), name="credit-product-list"),
    path("credit-lines/", apis.CreditLineListCreateApi.as_view(), name="credit-line-list"),
    path("credit-lines/<int:credit_line_id>/", apis.CreditLineDetailApi.as_view(), name="credit-line-detail"),
    path("pledges/", apis.PledgeListApi.as_view(), name="pledge-list"),
]
