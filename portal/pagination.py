"""API pagination (its own module: DRF imports it while its views module is still loading)."""
import base64
import binascii
from datetime import datetime

from rest_framework import exceptions
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination, PageNumberPagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param


def _positive_int(request, name: str) -> int | None:
    """The query parameter ``name`` as an integer of at least 1, None when absent; anything else is
    a 400 naming the parameter (DRF would ignore a bad page size and answer 404 for a bad page)."""
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1 or not raw.strip().isdigit():
        raise exceptions.ValidationError({name: ["A whole number of at least 1."]})
    return value


class Pagination(PageNumberPagination):
    """?page=N&page_size=M (at most 500: more is served as 500); every list answers with count,
    next, previous, results. A page or page size that is not a whole number of at least 1 is a 400
    naming it; a page past the last one is a 404."""
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request):
        size = _positive_int(request, self.page_size_query_param)
        return self.page_size if size is None else min(size, self.max_page_size)

    def paginate_queryset(self, queryset, request, view=None):
        if request.query_params.get(self.page_query_param) not in self.last_page_strings:
            _positive_int(request, self.page_query_param)
        return super().paginate_queryset(queryset, request, view)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
        return parameters


class InvalidCursor(ValueError):
    pass


def _encode_cursor(moment, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{moment.isoformat()}|{pk}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str):
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, _, pk = text.partition("|")
        value = datetime.fromisoformat(moment)
        if value.tzinfo is None:
            raise ValueError
        return value, int(pk)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidCursor("This cursor is not valid: start again from the first page.") from None


def keyset_page(queryset, field: str, cursor: str | None, size: int) -> tuple[list, str | None]:
    """One page of ``queryset`` ordered by (``field`` desc, id desc), after ``cursor``, and the
    cursor of the next page (None on the last). Seeks with the index instead of counting and
    skipping rows, so page 1000 costs what page 1 costs and no row is repeated or skipped when
    new rows arrive between pages. Raises InvalidCursor."""
    queryset = queryset.order_by(f"-{field}", "-id")
    if cursor:
        moment, pk = _decode_cursor(cursor)
        queryset = queryset.filter(**{f"{field}__lte": moment}).exclude(**{field: moment, "id__gte": pk})
    rows = list(queryset[:size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return rows, (_encode_cursor(getattr(rows[-1], field), rows[-1].pk) if more and rows else None)


class KeysetPagination(BasePagination):
    """?cursor=…&page_size=M (at most ``max_page_size``) over (``ordering_field`` desc, id desc):
    answers with next (a URL, or null on the last page) and results; no count (counting millions
    of rows is what keyset paging avoids). Subclasses name ``ordering_field``."""
    ordering_field = "created_at"
    page_size = 50
    max_page_size = 200
    cursor_query_param = "cursor"
    page_size_query_param = "page_size"

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        size = _positive_int(request, self.page_size_query_param) or self.page_size
        if size > self.max_page_size:
            raise ValidationError({self.page_size_query_param: [f"Choose 1 to {self.max_page_size}."]})
        try:
            rows, self.next_cursor = keyset_page(queryset, self.ordering_field,
                                                 request.query_params.get(self.cursor_query_param), size)
        except InvalidCursor as error:
            raise ValidationError({self.cursor_query_param: [str(error)]}) from None
        return rows

    def get_next_link(self):
        if not self.next_cursor:
            return None
        return replace_query_param(self.request.build_absolute_uri(), self.cursor_query_param, self.next_cursor)

    def get_paginated_response(self, data):
        return Response({"next": self.get_next_link(), "results": data})

    def get_paginated_response_schema(self, schema):
        return {"type": "object", "required": ["results"], "properties": {
            "next": {"type": "string", "nullable": True, "format": "uri"}, "results": schema}}
