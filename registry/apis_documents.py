"""Evidence-file endpoints: upload, list and download the documents of an asset. Thin views: parse, fetch
through the selectors (404 for what is not yours), call the service in registry.documents, serialize."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from django.http import FileResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api.pagination import CursorPagination
from common.api.problems import problem_responses
from common.exceptions import PermissionDenied
from registry import documents, selectors, uploads
from registry.models import Asset, Document, User
from registry.permissions import IsFirmUserOrReviewer


class DocumentKindField(serializers.ChoiceField):
    """``Document.Kind``, described once as the ``DocumentKindEnum`` component (asset ``kind`` is another set)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=Document.Kind.choices, **kwargs)


class DocumentKindFieldExtension(OpenApiSerializerFieldExtension):
    target_class = "registry.apis_documents.DocumentKindField"

    def map_serializer_field(self, auto_schema, direction):  # type: ignore[no-untyped-def]
        component = ResolvedComponent(
            name="DocumentKindEnum",
            type=ResolvedComponent.SCHEMA,
            object="DocumentKindEnum",
            schema={
                "type": "string",
                "enum": [kind.value for kind in Document.Kind],
                "description": "\n".join(f"* `{kind.value}` - {kind.label}" for kind in Document.Kind),
            },
        )
        auto_schema.registry.register_on_missing(component)
        return component.ref


class DocumentFileOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = DocumentKindField()
    original_name = serializers.CharField(help_text="The name the file was uploaded with (base name only).")
    content_type = serializers.CharField(help_text="Detected from the file's content, not from its name.")
    size = serializers.IntegerField(help_text="Bytes.")
    sha256 = serializers.CharField(help_text="SHA-256 of the content, lowercase hex.")
    uploaded_at = serializers.DateTimeField(source="created_at")
    download_url = serializers.SerializerMethodField()

    def get_download_url(self, document: Document) -> str:
        path = reverse("registry:document-download", kwargs={"asset_id": document.asset_id, "document_id": document.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class DocumentFileDuplicateOutputSerializer(DocumentFileOutputSerializer):
    duplicate = serializers.BooleanField(help_text="Always true: these bytes were already on the asset.")


class DocumentUploadInputSerializer(serializers.Serializer):
    file = serializers.FileField(
        allow_empty_file=True,  # the service refuses an empty file with its own code
        use_url=False,
        help_text="PDF, PNG, JPEG, XLSX or CSV; the type is read from the content.",
    )
    kind = DocumentKindField()


def document_upload_from_input(*, data: Mapping[str, Any], asset: Asset, user: User) -> tuple[Document, bool]:
    """Parse the upload's multipart input and store the file (this API and the firm portal's page). The caller has
    made the size check (``registry.uploads``) before reading the body."""
    serializer = DocumentUploadInputSerializer(data=data)
    serializer.is_valid(raise_exception=True)
    return documents.document_upload(
        asset=asset,
        uploaded_file=serializer.validated_data["file"],
        kind=serializer.validated_data["kind"],
        user=user,
        actor=user.as_actor,
    )


class DocumentDownloadNegotiation(DefaultContentNegotiation):
    """The download answers with the file whatever the Accept header asks for; errors stay problem details."""

    def select_renderer(self, request: Request, renderers: list[Any], format_suffix: str | None = None) -> Any:
        return renderers[0], renderers[0].media_type


def _paginate(request: Request, view: DocumentListUploadApi, queryset: Any) -> Response:
    paginator = view.pagination_class()
    page = paginator.paginate_queryset(queryset, request, view=view)
    data = DocumentFileOutputSerializer(page, many=True, context={"request": request}).data
    return paginator.get_paginated_response(data)


class DocumentListUploadApi(APIView):
    permission_classes = [IsFirmUserOrReviewer]
    parser_classes = [MultiPartParser]
    pagination_class = CursorPagination  # read by the schema generator: the list is {next, previous, results}

    @extend_schema(
        operation_id="asset_document_list",
        responses={200: DocumentFileOutputSerializer(many=True), **problem_responses(401, 403, 404)},
    )
    def get(self, request: Request, asset_id: int) -> Response:
        asset = selectors.asset_get_for_user(user=request.user, asset_id=asset_id)
        return _paginate(request, self, documents.document_list_for_asset(asset=asset))

    @extend_schema(
        operation_id="asset_document_upload",
        request={"multipart/form-data": DocumentUploadInputSerializer},
        responses={
            201: DocumentFileOutputSerializer,
            200: OpenApiResponse(
                DocumentFileDuplicateOutputSerializer,
                description="The same bytes were already on this asset: the existing document, nothing stored.",
            ),
            **problem_responses(400, 401, 403, 404, 409),
            413: OpenApiResponse(
                response=problem_responses(400)[400].response,
                description="The file is larger than the evidence limit (problem details, `document_too_large`).",
            ),
            415: OpenApiResponse(
                response=problem_responses(400)[400].response,
                description="The content is not PDF, PNG, JPEG, XLSX or CSV (problem details, "
                "`document_type_unsupported`).",
            ),
        },
    )
    def post(self, request: Request, asset_id: int) -> Response:
        if not request.user.is_firm_user:
            raise PermissionDenied(_("Only the firm's users upload evidence."))
        asset = selectors.asset_get_for_user(user=request.user, asset_id=asset_id)
        uploads.document_upload_size_check(request=request)  # refuse before the body is read
        document, created = document_upload_from_input(data=request.data, asset=asset, user=request.user)
        data = DocumentFileOutputSerializer(document, context={"request": request}).data
        if created:
            return Response(data, status=status.HTTP_201_CREATED)
        return Response({**data, "duplicate": True}, status=status.HTTP_200_OK)


def _content_disposition(name: str) -> str:
    fallback = "".join(ch if ch.isascii() and ch.isprintable() and ch not in '"\\;' else "_" for ch in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


class DocumentDownloadApi(APIView):
    permission_classes = [IsFirmUserOrReviewer]
    content_negotiation_class = DocumentDownloadNegotiation

    @extend_schema(
        operation_id="asset_document_download",
        responses={
            **{
                (200, content_type): OpenApiResponse(
                    OpenApiTypes.BINARY, description="The file, as an attachment, with its detected content type."
                )
                for content_type in documents.ACCEPTED_CONTENT_TYPES
            },
            **problem_responses(401, 403, 404),
        },
    )
    def get(self, request: Request, asset_id: int, document_id: int) -> FileResponse:
        asset = selectors.asset_get_for_user(user=request.user, asset_id=asset_id)
        document = documents.document_get_for_asset(asset=asset, document_id=document_id)
        response = FileResponse(documents.document_open(document=document), content_type=document.content_type)
        response["Content-Disposition"] = _content_disposition(document.original_name)
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response["Cache-Control"] = "private, no-store"
        return response
