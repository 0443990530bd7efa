from django.urls import path

from portal.firm import views

app_name = "portal_firm"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("assets/", views.asset_list, name="asset-list"),
    path("assets/new/", views.asset_register_choose, name="asset-register-choose"),
    path("assets/new/<slug:kind>/", views.asset_register, name="asset-register"),
    path("assets/<int:asset_id>/", views.asset_detail, name="asset-detail"),
    path("assets/<int:asset_id>/submit/", views.asset_submit, name="asset-submit"),
    path("assets/<int:asset_id>/documents/", views.document_upload, name="document-upload"),
    path("imports/", views.import_list, name="import-list"),
    path("imports/new/", views.import_new, name="import-new"),
    path("imports/<int:job_id>/", views.import_detail, name="import-detail"),
    path("imports/<int:job_id>/progress/", views.import_progress, name="import-progress"),
    path("consents/", views.consents, name="consents"),
    path("consents/<int:consent_id>/revoke/", views.consent_revoke, name="consent-revoke"),
]
