"""The API's JSON parser (a module of its own: DRF reads it from settings while importing its views)."""
from rest_framework import exceptions, parsers

NUL_MESSAGE = "Null characters are not allowed."


def nul_paths(value, path: str = ""):
    """Dotted paths (``a.b.0``) of every string, key or value, in ``value`` that holds a NUL
    character: PostgreSQL stores none in text or JSON."""
    if isinstance(value, str):
        if "\x00" in value:
            yield path or "non_field_errors"
    elif isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                yield inner
            else:
                yield from nul_paths(item, inner)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from nul_paths(item, f"{path}.{index}" if path else str(index))


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing a body with a NUL character in any string (400 naming each
    field) before a serializer or a JSON column could pass it to the database."""
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        fields = {path: [NUL_MESSAGE] for path in nul_paths(data)}
        if fields:
            raise exceptions.ValidationError(fields)
        return data
