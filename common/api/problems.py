"""OpenAPI description of the problem details body, for drf-spectacular."""

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

ProblemSerializer = inline_serializer(
    name="Problem",
    fields={
        "type": serializers.CharField(),
        "title": serializers.CharField(),
        "status": serializers.IntegerField(),
        "detail": serializers.CharField(),
        "code": serializers.CharField(help_text="Stable machine-readable error code."),
        "errors": serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()),
            required=False,
            help_text="Field path (dotted) to messages.",
        ),
        "request_id": serializers.CharField(required=False),
    },
)

_DESCRIPTIONS = {
    400: "Malformed request or invalid fields (problem details).",
    401: "Missing or bad credentials (problem details).",
    403: "Authenticated but not allowed (problem details).",
    404: "Not found, or not yours to see (problem details).",
    409: "Conflicts with the current state (problem details).",
    413: "Request body too large (problem details).",
    415: "Unsupported media type (problem details).",
    422: "Well-formed but violates a business rule (problem details).",
    429: "Throttled (problem details).",
}


def problem_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    return {s: OpenApiResponse(response=ProblemSerializer, description=_DESCRIPTIONS[s]) for s in statuses}
