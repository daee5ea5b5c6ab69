"""API pagination (its own module: DRF imports it while its views module is still loading)."""
from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):
    """?page=N&page_size=M (at most 500); every list answers with count, next, previous, results."""
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
