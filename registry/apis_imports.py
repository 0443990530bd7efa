"""Bulk import endpoints: upload a file (202, processed by a Celery job), follow the job, list its row errors,
download the templates. Thin views: parse, fetch through the selectors (404 for what is not yours), call the
service in registry.imports, serialize."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api.idempotency import idempotent
from common.api.pagination import CursorPagination
from common.api.problems import problem_responses
from common.exceptions import NotFound, PermissionDenied
from registry import selectors, uploads
from registry.apis import paginate
from registry.apis_documents import DocumentDownloadNegotiation
from registry.imports import columns
from registry.imports import selectors as import_selectors
from registry.imports import services as import_services
from registry.models import Asset, ImportJob
from registry.permissions import IsFirmUserOrReviewer


class ImportAssetKindField(serializers.ChoiceField):
    """``Asset.Kind``, described as the ``ImportAssetKindEnum`` component."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=Asset.Kind.choices, **kwargs)


class ImportJobStatusField(serializers.ChoiceField):
    """``ImportJob.Status``, described as the ``ImportJobStatusEnum`` component."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=ImportJob.Status.choices, **kwargs)


class _NamedEnumExtension(OpenApiSerializerFieldExtension):
    component_name = ""
    choices: Any = None

    def map_serializer_field(self, auto_schema, direction):  # type: ignore[no-untyped-def]
        component = ResolvedComponent(
            name=self.component_name,
            type=ResolvedComponent.SCHEMA,
            object=self.component_name,
            schema={
                "type": "string",
                "enum": [choice.value for choice in self.choices],
                "description": "\n".join(f"* `{choice.value}` - {choice.label}" for choice in self.choices),
            },
        )
        auto_schema.registry.register_on_missing(component)
        return component.ref


class ImportAssetKindFieldExtension(_NamedEnumExtension):
    target_class = "registry.apis_imports.ImportAssetKindField"
    component_name = "ImportAssetKindEnum"
    choices = Asset.Kind


class ImportJobStatusFieldExtension(_NamedEnumExtension):
    target_class = "registry.apis_imports.ImportJobStatusField"
    component_name = "ImportJobStatusEnum"
    choices = ImportJob.Status


class ImportRowErrorOutputSerializer(serializers.Serializer):
    row = serializers.IntegerField(
        help_text="As a spreadsheet shows it (the header is row 1, the first data row 2); JSON items from 1."
    )
    field = serializers.CharField(
        help_text="The column (CSV, XLSX) or the dotted path (JSON, e.g. details.number); empty for the whole row."
    )
    message = serializers.CharField()


class ImportJobListOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = ImportAssetKindField()
    format = serializers.ChoiceField(choices=ImportJob.Format.choices, help_text="Detected from the content.")
    original_name = serializers.CharField()
    sha256 = serializers.CharField(help_text="SHA-256 of the uploaded file, lowercase hex.")
    dry_run = serializers.BooleanField()
    status = ImportJobStatusField()
    total = serializers.IntegerField(allow_null=True, help_text="Data rows in the file; null until counted.")
    processed = serializers.IntegerField()
    created = serializers.IntegerField(source="created_count", help_text="In a dry run: would be created.")
    unchanged = serializers.IntegerField(
        source="unchanged_count", help_text="Rows whose content the firm had already registered."
    )
    failed = serializers.IntegerField(source="failed_count")
    message = serializers.CharField()
    errors_total = serializers.IntegerField(default=0)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


class ImportJobOutputSerializer(ImportJobListOutputSerializer):
    errors = serializers.SerializerMethodField(help_text="The first 200 row errors, in row order.")

    @extend_schema_field(ImportRowErrorOutputSerializer(many=True))
    def get_errors(self, job: ImportJob) -> list[dict[str, Any]]:
        return ImportRowErrorOutputSerializer(import_selectors.import_row_errors_first(job=job), many=True).data


class ImportCreateInputSerializer(serializers.Serializer):
    file = serializers.FileField(
        allow_empty_file=True,  # the service refuses an empty file with its own code
        use_url=False,
        help_text="CSV (UTF-8 or GB18030), XLSX (first sheet) or JSON (an array of {title, details}); "
        "the format is read from the content.",
    )
    kind = ImportAssetKindField()
    dry_run = serializers.BooleanField(default=False, help_text="Validate every row but write no asset.")


class ImportErrorPagination(CursorPagination):
    ordering = "id"  # the order rows were processed in: row order


def _job_body(request: Request, job_id: int) -> dict[str, Any]:
    job = import_selectors.import_job_get_for_user(user=request.user, job_id=job_id)
    return ImportJobOutputSerializer(job).data


class ImportJobListCreateApi(APIView):
    permission_classes = [IsFirmUserOrReviewer]
    parser_classes = [MultiPartParser]
    pagination_class = CursorPagination

    @extend_schema(
        operation_id="import_job_list",
        responses={200: ImportJobListOutputSerializer(many=True), **problem_responses(401, 403)},
    )
    def get(self, request: Request) -> Response:
        jobs = import_selectors.import_job_qs_for_user(user=request.user)
        return paginate(request, self, jobs, ImportJobListOutputSerializer)

    @extend_schema(
        operation_id="import_job_create",
        request={"multipart/form-data": ImportCreateInputSerializer},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)],
        responses={
            202: ImportJobOutputSerializer,
            **problem_responses(400, 401, 403, 422),
            413: OpenApiResponse(
                response=problem_responses(400)[400].response,
                description="The file is larger than the import limit (problem details, `import_file_too_large`).",
            ),
            415: OpenApiResponse(
                response=problem_responses(400)[400].response,
                description="A ZIP that is not an XLSX workbook (problem details, `import_file_unsupported`).",
            ),
        },
    )
    def post(self, request: Request) -> Response:
        if not request.user.is_firm_user:
            raise PermissionDenied(_("Only a firm's users import assets."))
        uploads.import_upload_size_check(request=request)  # refuse before the body is read
        serializer = ImportCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data

        def create() -> Response:
            job = import_services.import_job_create(
                firm=selectors.firm_get_for_user(user=request.user),
                user=request.user,
                actor=request.user.as_actor,
                kind=data["kind"],
                uploaded_file=data["file"],
                dry_run=data["dry_run"],
            )
            return Response(_job_body(request, job.pk), status=status.HTTP_202_ACCEPTED)

        return idempotent(request, create)


class ImportJobDetailApi(APIView):
    permission_classes = [IsFirmUserOrReviewer]

    @extend_schema(
        operation_id="import_job_get",
        responses={200: ImportJobOutputSerializer, **problem_responses(401, 403, 404)},
    )
    def get(self, request: Request, job_id: int) -> Response:
        return Response(_job_body(request, job_id))


class ImportJobErrorListApi(APIView):
    permission_classes = [IsFirmUserOrReviewer]
    pagination_class = ImportErrorPagination

    @extend_schema(
        operation_id="import_job_error_list",
        responses={200: ImportRowErrorOutputSerializer(many=True), **problem_responses(401, 403, 404)},
    )
    def get(self, request: Request, job_id: int) -> Response:
        job = import_selectors.import_job_get_for_user(user=request.user, job_id=job_id)
        return paginate(request, self, import_selectors.import_row_errors(job=job), ImportRowErrorOutputSerializer)


class ImportTemplateApi(APIView):
    permission_classes = [IsFirmUserOrReviewer]
    content_negotiation_class = DocumentDownloadNegotiation

    @extend_schema(
        operation_id="import_template_download",
        parameters=[
            OpenApiParameter("kind", str, OpenApiParameter.PATH, enum=[k.value for k in Asset.Kind]),
            OpenApiParameter(
                "fmt", str, OpenApiParameter.PATH, enum=list(columns.TEMPLATE_BUILDERS), description="csv, xlsx or json"
            ),
        ],
        responses={
            **{
                (200, content_type.split(";")[0]): OpenApiResponse(
                    {"type": "array", "items": {"type": "object"}} if fmt == "json" else OpenApiTypes.BINARY,
                    description="The template: the header row and one example row (CSV, XLSX), "
                    "or an array with one example object (JSON).",
                )
                for fmt, content_type in columns.TEMPLATE_CONTENT_TYPES.items()
            },
            **problem_responses(401, 403, 404),
        },
    )
    def get(self, request: Request, kind: str, fmt: str) -> HttpResponse:
        if kind not in Asset.Kind.values or fmt not in columns.TEMPLATE_BUILDERS:
            raise NotFound(_("There is no such import template."))
        response = HttpResponse(columns.TEMPLATE_BUILDERS[fmt](kind), content_type=columns.TEMPLATE_CONTENT_TYPES[fmt])
        response["Content-Disposition"] = f'attachment; filename="import-template-{kind}.{fmt}"'
        response["X-Content-Type-Options"] = "nosniff"
        return response
