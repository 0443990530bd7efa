"""GET /api/v1/catalog/: the public DCAT-AP 3 catalog of approved data assets (registry/catalog.py)."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.views import APIView

from common.api.problems import problem_responses
from common.api.throttling import READ_SCOPE
from common.exceptions import NotFound
from registry import catalog

TURTLE = "text/turtle"
JSONLD = "application/ld+json"


class CatalogNegotiation(DefaultContentNegotiation):
    """The view picks the RDF format itself (``?format``, then Accept); errors are problem details. DRF's own
    ``?format=`` override is not consulted, so ``format=ttl`` does not mean a DRF renderer."""

    def select_renderer(self, request: Request, renderers: list[Any], format_suffix: str | None = None) -> Any:
        return renderers[0], renderers[0].media_type


def format_from_accept(accept: str) -> str:
    """``ttl`` when the Accept header prefers Turtle to JSON-LD, else ``jsonld`` (also for */* or nothing)."""
    best: tuple[float, int, str] | None = None
    for position, part in enumerate(accept.split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            name, _sep, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        media = media.lower()
        fmt = "ttl" if media == TURTLE else "jsonld" if media in (JSONLD, "application/json") else None
        if fmt and quality > 0 and (best is None or (quality, -position) > (best[0], best[1])):
            best = (quality, -position, fmt)
    return best[2] if best else catalog.DEFAULT_FORMAT


class CatalogApi(APIView):
    permission_classes = [AllowAny]
    throttle_scope = READ_SCOPE  # a read: the anonymous caller's budget is per client address
    content_negotiation_class = CatalogNegotiation

    class CatalogQuerySerializer(serializers.Serializer):
        format = serializers.ChoiceField(choices=list(catalog.FORMATS), required=False)
        page = serializers.IntegerField(min_value=1, max_value=1_000_000, required=False, default=1)

    @extend_schema(
        operation_id="catalog_get",
        summary="The public catalog of approved data assets (DCAT-AP 3)",
        description=(
            "Approved data assets as a DCAT-AP 3 `dcat:Catalog`: one `dcat:Dataset` per asset with its title, "
            "description, keywords, theme, publisher (the firm: name and unified social credit code), issue and "
            "modification times, time span, update frequency, access rights, licence and data registration "
            "number. Public fields only: never costs, revenue, valuations or personal data. JSON-LD by default; "
            f"Turtle with `format=ttl` or `Accept: {TURTLE}`. The catalog is paged by "
            f"{catalog.CATALOG_PAGE_SIZE} datasets (`page`, from 1); with more than one page a Hydra "
            "`PartialCollectionView` (`hydra:next`, `hydra:previous`, `hydra:first`, `hydra:last`) and a "
            '`Link: <...>; rel="next"` header point to the others. No authentication.'
        ),
        auth=[],
        parameters=[
            OpenApiParameter("format", str, enum=list(catalog.FORMATS), description="jsonld (default) or ttl"),
            OpenApiParameter("page", int, description="Page number, from 1."),
        ],
        responses={
            (200, JSONLD): OpenApiResponse(
                {"type": "object", "additionalProperties": True}, description="The catalog page as JSON-LD."
            ),
            (200, TURTLE): OpenApiResponse(OpenApiTypes.STR, description="The catalog page as Turtle."),
            **problem_responses(400, 404),
        },
    )
    def get(self, request: Request) -> HttpResponse:
        query = self.CatalogQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        fmt = query.validated_data.get("format") or format_from_accept(request.headers.get("Accept", ""))
        number = query.validated_data["page"]
        try:
            page = catalog.catalog_page_get(page=number, page_size=catalog.CATALOG_PAGE_SIZE)
        except catalog.CatalogPageNotFound:
            raise NotFound(_("The catalog has no page %(page)s.") % {"page": number}) from None
        catalog_url = request.build_absolute_uri(request.path)
        graph = catalog.catalog_graph(page=page, catalog_url=catalog_url, site_url=request.build_absolute_uri("/"))
        response = HttpResponse(catalog.catalog_serialize(graph, fmt=fmt), content_type=catalog.FORMATS[fmt])
        response["Vary"] = "Accept"
        if page.number < page.page_count:
            next_url = catalog.page_url(catalog_url, page.number + 1)
            if fmt == "ttl":
                next_url += "&format=ttl" if "?" in next_url else "?format=ttl"
            response["Link"] = f'<{next_url}>; rel="next"'
        return response
