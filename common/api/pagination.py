from rest_framework import pagination


class CursorPagination(pagination.CursorPagination):
    """Cursor pagination: page 1,000 costs what page 1 costs. Newest first by primary key."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
