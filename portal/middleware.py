"""Response headers every answer carries; request id and client IP for audit events; idle and
absolute session timeouts."""
import re
import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.core.exceptions import BadRequest
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.cache import patch_cache_control
from django.urls import Resolver404, get_resolver, resolve

from portal.context import current_request_id, request_context

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def client_ip(request) -> str | None:
    """REMOTE_ADDR, or the client address a trusted proxy put in X-Forwarded-For."""
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR")


class ResponseHeadersMiddleware:
    """Outermost: ``Permissions-Policy`` on every response, static files included; and
    ``Cache-Control: no-store`` on everything a signed-in user or an API token gets (pages, API
    answers, CSV exports), so no browser or shared cache keeps another person's data."""
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        user = getattr(request, "user", None)      # set by the session or, for the API, by DRF's token auth
        if user is not None and user.is_authenticated or request.path.startswith("/api/"):
            patch_cache_control(response, no_store=True, private=True)
        return response


class NulQueryMiddleware:
    """Refuses a query string with a NUL character (PostgreSQL stores and compares none): 400
    naming the parameters, as the API's error shape under /api/ and the portal's 400 page
    elsewhere, before any view turns the value into SQL."""
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        names = sorted({name for name, values in request.GET.lists()
                        if "\x00" in name or any("\x00" in value for value in values)})
        if not names:
            return self.get_response(request)
        message = f"Null characters are not allowed (in {', '.join(names)})."
        if request.path.startswith("/api/"):
            return JsonResponse({"error": {"code": "validation_error", "message": message,
                                           "fields": {name: ["Null characters are not allowed."] for name in names}}},
                                status=400)
        raise BadRequest(message)


class HealthzMiddleware:
    """Answers /healthz/ before host validation and the HTTPS redirect, so load balancers and
    container health checks can probe the process by IP over plain HTTP."""
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == "/healthz/":
            return HttpResponse("ok", content_type="text/plain")
        return self.get_response(request)


class RequestContextMiddleware:
    """Binds a request id (from X-Request-ID when well-formed) and the client IP; echoes the id."""
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        with request_context(request_id=incoming if _REQUEST_ID.match(incoming) else None,
                             ip_address=client_ip(request)):
            request.request_id = current_request_id()
            response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        return response


class SessionTimeoutMiddleware:
    """Signs a browser session out after SESSION_ABSOLUTE_SECONDS, however active it is.
    (The idle timeout is SESSION_COOKIE_AGE, refreshed on every request.)"""
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated and hasattr(request, "session"):
            started = request.session.setdefault("signed_in_at", time.time())   # set at login, see below
            if time.time() - started > settings.SESSION_ABSOLUTE_SECONDS:
                logout(request)
                messages.info(request, "Your session reached its maximum length. Please sign in again.")
                return redirect(settings.LOGIN_URL)
        return self.get_response(request)


@receiver(user_logged_in)
def _start_absolute_session_clock(sender, request, user, **kwargs):
    """The absolute session timeout counts from the moment of signing in."""
    if request is not None and hasattr(request, "session"):
        request.session["signed_in_at"] = time.time()


class DebugErrorPagesMiddleware:
    """Local settings only (DEBUG): Django would answer a 404 with its technical page, which lists
    every URL; this answers with the portal's 404 page, as production does. 403s already use the
    portal's page; server errors keep Django's technical page (docs/decisions.md). Listed last, so
    CommonMiddleware still adds a missing slash first."""
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        urlconf = getattr(request, "urlconf", None)
        try:
            resolve(request.path_info, urlconf)
        except Resolver404 as error:
            return get_resolver(urlconf).resolve_error_handler(404)(request, error)
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, Http404):
            return get_resolver(getattr(request, "urlconf", None)).resolve_error_handler(404)(request, exception)
        return None
