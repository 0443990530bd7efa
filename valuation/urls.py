from django.urls import path

from valuation import apis, apis_innovation, apis_reports

app_name = "valuation"

urlpatterns = [
    path("firms/me/", apis_innovation.FirmMeWithPointsApi.as_view(), name="firm-me"),
    path("valuation-jobs/", apis.ValuationJobCreateApi.as_view(), name="valuation-job-create"),
    path("valuation-jobs/<int:job_id>/", apis.ValuationJobDetailApi.as_view(), name="valuation-job-detail"),
    path("valuations/", apis.ValuationListApi.as_view(), name="valuation-list"),
    path("valuations/<int:valuation_id>/", apis.ValuationDetailApi.as_view(), name="valuation-detail"),
    path(
        "valuations/<int:valuation_id>/report.pdf",
        apis_reports.ValuationReportPdfApi.as_view(),
        name="valuation-report-pdf",
    ),
    path(
        "review/valuations/<int:valuation_id>/approve/",
        apis.ReviewValuationApproveApi.as_view(),
        name="review-valuation-approve",
    ),
    path(
        "review/valuations/<int:valuation_id>/reject/",
        apis.ReviewValuationRejectApi.as_view(),
        name="review-valuation-reject",
    ),
    path("firms/me/innovation/", apis_innovation.InnovationScoreListApi.as_view(), name="firm-innovation-list"),
]
