from rest_framework import pagination


class CursorPagination(pagination.CursorPagination):
    """Cursor pagination: page 1,000 costs what page 1 costs. Newest first by primary key."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


def paginate(request, view, queryset, serializer_class, *, context=None):  # type: ignore[no-untyped-def]
    """One page of ``queryset`` serialised as ``{next, previous, results}``, with the view's paginator."""
    paginator = (getattr(view, "pagination_class", None) or CursorPagination)()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True, context=context or {}).data)
