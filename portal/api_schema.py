"""The API's OpenAPI schema: drf-spectacular's, plus what every operation shares and the view
code does not say. Every operation documents the error answers it can give, each with the one
error body of ``portal.api_base`` (``{"error": {"code", "message", "fields"?}}``):

- 401 (no or a bad credential) and 403 (the role may not, or a read-only token writes): all;
- 400: an operation that reads query parameters or a body, and every write (a service's
  ``DomainError`` is a 400 with the field named);
- 404: an object named in the path, a list's page past the last one, or what the view declares in
  ``schema_error_statuses`` (e.g. a ``?team=`` the caller cannot see);
- 409 (the object's state does not allow it, ``Conflict``): every write;
- 415 (a body in another media type): operations with a body;
- 422 (an ``Idempotency-Key`` reused with another body): creates that honour the key, which
  also document the header.

The CI contract test (tests/portal/test_api_contract.py) holds the schema to the answers.
"""
from django.core.exceptions import FieldDoesNotExist
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import serializers

ERROR_DESCRIPTIONS = {
    400: "Bad input: `fields` names each parameter or field and what is wrong with it.",
    401: "No credential, or an unknown, expired or revoked token.",
    403: "The caller's role may not do this, or a read-only token tries to write.",
    404: "Not found: it does not exist or the caller may not see it.",
    409: "The object's state does not allow this now, or it conflicts with another.",
    415: "The body is not in a media type the API reads (send application/json).",
    422: "This Idempotency-Key was used with another body.",
}

Error = inline_serializer("Error", fields={
    "error": inline_serializer("ErrorDetail", fields={
        "code": serializers.CharField(help_text="Stable: scripts branch on it (validation_error, not_found, "
                                                "permission_denied, conflict, invalid_transition, …)."),
        "message": serializers.CharField(help_text="For people."),
        "fields": serializers.DictField(required=False, child=serializers.JSONField(),
                                        help_text="Per parameter or field (dotted for nested ones): what is wrong."),
    }),
})

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
    description="At most 255 characters. The same key with the same body replays the first answer "
                "(header `Idempotent-Replayed: true`); with another body: 422; while the first still runs: 409.")


def _reads_through_null(field) -> bool:
    """A read-only field whose ``source`` passes a nullable model field (``team`` of an account
    not yet assigned, ``webhook.team.slug``...) answers null: drf-spectacular marks only fields
    declared ``allow_null``."""
    model = getattr(getattr(field.parent, "Meta", None), "model", None)
    if model is None or field.source == "*":
        return False
    for attr in field.source_attrs:
        try:
            model_field = model._meta.get_field(attr)
        except FieldDoesNotExist:
            return False
        if getattr(model_field, "null", False):
            return True
        model = model_field.related_model
        if model is None:
            return False
    return False


def _decimal_pattern(field) -> str:
    """drf-spectacular's pattern lets "" and "-" pass; a decimal has at least one digit, and no
    sign when it may not be negative."""
    whole, places = field.max_whole_digits, field.decimal_places
    sign = "" if field.min_value is not None and field.min_value >= 0 else "-?"
    return rf"^{sign}(?:\d{{1,{whole}}}(?:\.\d{{0,{places}}})?|\.\d{{1,{places}}})$"


class PortalAutoSchema(AutoSchema):
    """DEFAULT_SCHEMA_CLASS of the API (see the module's docstring)."""

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if field.read_only and not field.allow_null and "$ref" not in schema and _reads_through_null(field):
            schema["nullable"] = True
        if (isinstance(field, serializers.DecimalField) and "pattern" in schema and field.max_whole_digits
                and field.decimal_places):
            schema["pattern"] = _decimal_pattern(field)
        return schema

    def _is_write(self) -> bool:
        return self.method not in ("GET", "HEAD", "OPTIONS")

    def _honours_idempotency_key(self) -> bool:
        from portal.api_base import IdempotentCreateMixin

        return self.method == "POST" and isinstance(self.view, IdempotentCreateMixin) and self._is_create_operation()

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if self._honours_idempotency_key():
            parameters.append(IDEMPOTENCY_KEY)
        return parameters

    def error_statuses(self, operation: dict) -> set[int]:
        statuses = {401, 403}
        parameters = operation.get("parameters", [])
        has_body = "requestBody" in operation
        if self._is_write() or has_body or any(p["in"] == "query" for p in parameters):
            statuses.add(400)
        if any(p["in"] == "path" for p in parameters) or any(p["name"] == "page" for p in parameters):
            statuses.add(404)
        if self._is_write():
            statuses.add(409)
        if has_body:
            statuses.add(415)
        if self._honours_idempotency_key():
            statuses.add(422)
        return statuses | set(getattr(self.view, "schema_error_statuses", ()))

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        error = self.resolve_serializer(Error, "response").ref
        for status in sorted(self.error_statuses(operation)):
            operation["responses"].setdefault(str(status), {
                "description": ERROR_DESCRIPTIONS[status],
                "content": {"application/json": {"schema": error}},
            })
        return operation
