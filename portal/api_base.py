"""What every API endpoint shares: pagination, the error shape, scoping, Idempotency-Key.

Errors always look like ``{"error": {"code": "...", "message": "...", "fields": {...}}}`` with a
stable ``code``: scripts branch on the code, people read the message.
"""
import hashlib
import json
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from portal.errors import DomainError
from portal.models import IdempotencyRecord
from portal.permissions import PolicyPermission, scope


_CODES = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.ValidationError: "validation_error",
    exceptions.ParseError: "parse_error",
    exceptions.Throttled: "throttled",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.NotAcceptable: "not_acceptable",
}


def error_response(code: str, message: str, status_code: int, fields: dict | None = None) -> Response:
    body = {"error": {"code": code, "message": message}}
    if fields:
        body["error"]["fields"] = fields
    return Response(body, status=status_code)


def exception_handler(exc, context):
    """Turn every error into the one JSON error shape."""
    if isinstance(exc, DomainError):
        return error_response(exc.code, exc.message, exc.status, exc.fields)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("Not found: it does not exist or you may not see it.")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or "You may not do that.")
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code = next((c for cls, c in _CODES.items() if isinstance(exc, cls)), "error")
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        return error_response(code, "Some fields need attention: see 'fields'.", response.status_code, fields)
    message = str(exc.detail) if hasattr(exc, "detail") else str(exc)
    response.data = {"error": {"code": code, "message": message}}
    return response


def _body_hash(request) -> str:
    return hashlib.sha256(json.dumps(request.data, sort_keys=True, default=str).encode()).hexdigest()


class IdempotentCreateMixin:
    """Honours ``Idempotency-Key`` on create: same key + same body replays the first response;
    same key while the first is still running → 409; same key + another body → 422. Keys are
    scoped to the user and the route. A key whose first request never finished (the process died)
    is taken over after IDEMPOTENCY_ABANDONED_MINUTES. Fields in ``idempotency_redact`` (secrets)
    are not stored, so a replay returns them as null."""
    idempotency_redact: tuple[str, ...] = ()

    def create(self, request, *args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if not key:
            return super().create(request, *args, **kwargs)
        if len(key) > 255:
            return error_response("idempotency_key_invalid", "Idempotency-Key must be at most 255 characters.", 400)
        route, body_hash = request.path, _body_hash(request)
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(user=request.user, route=route, key=key,
                                                          body_hash=body_hash)
        except IntegrityError:
            existing = IdempotencyRecord.objects.filter(user=request.user, route=route, key=key).first()
            if existing is None:       # the first request failed and released the key in the meantime
                return self.create(request, *args, **kwargs)
            if existing.body_hash != body_hash:
                return error_response("idempotency_key_reused",
                                      "This Idempotency-Key was used with a different body; use a new key.", 422)
            abandoned = timezone.now() - timedelta(minutes=settings.IDEMPOTENCY_ABANDONED_MINUTES)
            if not existing.completed and existing.created_at < abandoned:
                existing.delete()
                return self.create(request, *args, **kwargs)
            if not existing.completed:
                return error_response("idempotency_key_in_progress",
                                      "A request with this Idempotency-Key is still being processed; retry later.", 409)
            response = Response(existing.response_body, status=existing.response_status)
            response["Idempotent-Replayed"] = "true"
            return response
        try:
            response = super().create(request, *args, **kwargs)
        except Exception:
            record.delete()   # nothing was created (errors roll back): the key may be retried
            raise
        stored = json.loads(json.dumps(response.data, default=str))
        for field in self.idempotency_redact:
            if isinstance(stored, dict) and field in stored:
                stored[field] = None
        IdempotencyRecord.objects.filter(pk=record.pk).update(
            completed=True, response_status=response.status_code, response_body=stored)
        return response


class ScopedViewSetMixin:
    """Scopes ``queryset`` to what the user may see before anything else; others' objects 404."""
    permission_classes = [PolicyPermission]
    policy_model = None
    policy_actions: dict = {}

    def get_queryset(self):
        return scope(self.request.user, super().get_queryset(), "view")


class ReadOnlyScopedViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    pass


class ScopedCreateListViewSet(ScopedViewSetMixin, IdempotentCreateMixin, mixins.CreateModelMixin,
                              viewsets.ReadOnlyModelViewSet):
    pass


# --- Request kinds: the same verbs and the same step log for every kind (portal.workflow) ----------
class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, help_text="Why (required): the requester reads it.")


def deny_reason(request) -> str:
    """The required ``reason`` of a ``deny``: 400 ``validation_error`` naming ``reason`` when missing or blank."""
    body = ReasonSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    return body.validated_data["reason"]


class StepLogSerializer(serializers.Serializer):
    """One line of a request's step log, the same for every kind (``portal.models.StepLog``)."""
    action = serializers.CharField()
    outcome = serializers.CharField()
    detail = serializers.CharField()
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField()


class StepLogMixin:
    """``GET <kind>/{id}/steps/``: the object's step log, oldest first, paginated."""

    @extend_schema(responses=StepLogSerializer(many=True))
    @action(detail=True, methods=["get"])
    def steps(self, request, pk=None):
        page = self.paginate_queryset(self.get_object().steps.order_by("id"))
        return self.get_paginated_response(StepLogSerializer(page, many=True).data)
