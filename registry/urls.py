from django.urls import path

from registry import apis, apis_catalog, apis_documents, apis_imports

app_name = "registry"

urlpatterns = [
    path("auth/token/", apis.AuthTokenApi.as_view(), name="auth-token"),
    # firms/me/ itself is served by valuation.urls: the profile plus innovation points (valuation sits above).
    path("firms/me/indicators/", apis.FirmIndicatorListApi.as_view(), name="firm-indicator-list"),
    path("firms/me/indicators/<int:year>/", apis.FirmIndicatorDetailApi.as_view(), name="firm-indicator-detail"),
    path("firms/me/members/", apis.FirmMemberListApi.as_view(), name="firm-member-list"),
    path("consenting-firms/", apis.ConsentingFirmListApi.as_view(), name="consenting-firm-list"),
    path("assets/", apis.AssetListCreateApi.as_view(), name="asset-list"),
    path("assets/<int:asset_id>/", apis.AssetDetailApi.as_view(), name="asset-detail"),
    path("assets/<int:asset_id>/submit/", apis.AssetSubmitApi.as_view(), name="asset-submit"),
    path("assets/<int:asset_id>/retire/", apis.AssetRetireApi.as_view(), name="asset-retire"),
    path("assets/<int:asset_id>/versions/", apis.AssetVersionListApi.as_view(), name="asset-version-list"),
    path("assets/<int:asset_id>/reviews/", apis.AssetReviewListApi.as_view(), name="asset-review-list"),
    path("review/assets/", apis.ReviewAssetQueueApi.as_view(), name="review-asset-queue"),
    path("review/assets/<int:asset_id>/approve/", apis.ReviewAssetApproveApi.as_view(), name="review-asset-approve"),
    path("review/assets/<int:asset_id>/reject/", apis.ReviewAssetRejectApi.as_view(), name="review-asset-reject"),
    path("consents/", apis.ConsentListCreateApi.as_view(), name="consent-list"),
    path("consents/<int:consent_id>/", apis.ConsentRevokeApi.as_view(), name="consent-revoke"),
    path("audit/", apis.AuditListApi.as_view(), name="audit-list"),
    path("assets/<int:asset_id>/documents/", apis_documents.DocumentListUploadApi.as_view(), name="document-list"),
    path(
        "assets/<int:asset_id>/documents/<int:document_id>/download/",
        apis_documents.DocumentDownloadApi.as_view(),
        name="document-download",
    ),
    path("imports/", apis_imports.ImportJobListCreateApi.as_view(), name="import-job-list"),
    path("imports/<int:job_id>/", apis_imports.ImportJobDetailApi.as_view(), name="import-job-detail"),
    path("imports/<int:job_id>/errors/", apis_imports.ImportJobErrorListApi.as_view(), name="import-job-error-list"),
    path("imports/templates/<slug:kind>.<slug:fmt>", apis_imports.ImportTemplateApi.as_view(), name="import-template"),
    path("catalog/", apis_catalog.CatalogApi.as_view(), name="catalog"),
]
