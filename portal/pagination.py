"""API pagination (its own module: DRF imports it while its views module is still loading)."""
from rest_framework import exceptions
from rest_framework.pagination import PageNumberPagination


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
