from django.utils.translation import gettext as _
from rest_framework import pagination

from common.exceptions import ValidationFailed


class CursorPagination(pagination.CursorPagination):
    """Cursor pagination: page 1,000 costs what page 1 costs. Newest first by primary key."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request):  # type: ignore[no-untyped-def]
        """``page_size`` is a whole number from 1 (above the maximum it is cut to the maximum); anything else is a
        400, where DRF would silently fall back to the default."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            return pagination._positive_int(raw, strict=True, cutoff=self.max_page_size)
        except ValueError:
            message = _("page_size must be a whole number from 1.")
            raise ValidationFailed(message, errors={self.page_size_query_param: [message]}) from None

    def get_schema_operation_parameters(self, view):  # type: ignore[no-untyped-def]
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["minimum"] = 1
        return parameters


def paginate(request, view, queryset, serializer_class, *, context=None):  # type: ignore[no-untyped-def]
    """One page of ``queryset`` serialised as ``{next, previous, results}``, with the view's paginator."""
    paginator = (getattr(view, "pagination_class", None) or CursorPagination)()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True, context=context or {}).data)
