"""The valuation report as a PDF download (valuation/reports.py builds it)."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.views import APIView

from common.api.problems import problem_responses
from registry.apis_documents import DocumentDownloadNegotiation
from registry.permissions import IsFirmUserOrReviewer
from valuation import reports


class ValuationReportPdfApi(APIView):
    """Who sees the valuation (GET /api/v1/valuations/{id}/) gets its report; the session cookie works too."""

    permission_classes = [IsFirmUserOrReviewer]
    content_negotiation_class = DocumentDownloadNegotiation  # the PDF whatever Accept says; errors stay JSON

    @extend_schema(
        operation_id="valuation_report_pdf",
        summary="The valuation report as a PDF",
        description="Asset, status and dates, the value range (P10, P50, P90) with a chart, each method's value, "
        "weight, formula and drivers, the inputs, the parameter set and the reproducibility data (engine "
        "version, seed, inputs hash, fingerprint). Labels follow Accept-Language (zh-hans by default, en).",
        responses={
            (200, reports.PDF_CONTENT_TYPE): OpenApiResponse(
                OpenApiTypes.BINARY, description="The report, as an attachment named valuation-<id>.pdf."
            ),
            **problem_responses(401, 403, 404),
        },
    )
    def get(self, request: Request, valuation_id: int) -> HttpResponse:
        data = reports.valuation_report_data_for_user(user=request.user, valuation_id=valuation_id)
        response = HttpResponse(reports.valuation_report_pdf(data), content_type=reports.PDF_CONTENT_TYPE)
        response["Content-Disposition"] = f'attachment; filename="valuation-{data.valuation_id}.pdf"'
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        return response
