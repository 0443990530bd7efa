from django.urls import path

from registry import apis

app_name = "registry"

urlpatterns = [
    path("auth/token/", apis.AuthTokenApi.as_view(), name="auth-token"),
    path("firms/me/", apis.FirmMeApi.as_view(), name="firm-me"),
    path("assets/", apis.AssetListCreateApi.as_view(), name="asset-list"),
    path("assets/<int:asset_id>/", apis.AssetDetailApi.as_view(), name="asset-detail"),
    path("assets/<int:asset_id>/submit/", apis.AssetSubmitApi.as_view(), name="asset-submit"),
    path("review/assets/", apis.ReviewAssetQueueApi.as_view(), name="review-asset-queue"),
    path("review/assets/<int:asset_id>/approve/", apis.ReviewAssetApproveApi.as_view(), name="review-asset-approve"),
    path("review/assets/<int:asset_id>/reject/", apis.ReviewAssetRejectApi.as_view(), name="review-asset-reject"),
    path("consents/", apis.ConsentListCreateApi.as_view(), name="consent-list"),
    path("consents/<int:consent_id>/", apis.ConsentRevokeApi.as_view(), name="consent-revoke"),
    path("audit/", apis.AuditListApi.as_view(), name="audit-list"),
]
