from django.urls import path

from portal.bank import views

app_name = "portal_bank"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("firms/", views.firm_list, name="firms"),
    path("firms/<str:uscc>/", views.firm_detail, name="firm"),
    path("lines/", views.line_list, name="lines"),
    path("lines/<int:line_id>/", views.line_detail, name="line"),
    path("lines/<int:line_id>/draw/", views.line_draw, name="line_draw"),
    path("lines/<int:line_id>/repay/", views.line_repay, name="line_repay"),
    path("lines/<int:line_id>/close/", views.line_close, name="line_close"),
    path("api-keys/", views.api_keys, name="api_keys"),
    path("api-keys/<str:prefix>/revoke/", views.api_key_revoke, name="api_key_revoke"),
    path("webhooks/", views.webhook_list, name="webhooks"),
    path("webhooks/<int:webhook_id>/", views.webhook_detail, name="webhook"),
    path("webhooks/<int:webhook_id>/delete/", views.webhook_delete, name="webhook_delete"),
]
