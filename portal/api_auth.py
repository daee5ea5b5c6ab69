"""API token authentication: ``Authorization: Bearer mlp_…`` (or ``Token mlp_…``)."""
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.permissions import SAFE_METHODS

from portal.services import api_token_authenticate


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keywords = ("bearer", "token")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0].lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Send the token as 'Authorization: Bearer <token>'.")
        token = api_token_authenticate(header[1])
        if token is None:
            raise exceptions.AuthenticationFailed("The API token is unknown, expired or revoked.")
        if token.scope == token.Scope.READ and request.method not in SAFE_METHODS:
            raise exceptions.PermissionDenied("This API token is read-only; use a read-and-write token to change things.")
        return token.user, token

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """Documents the token scheme in the OpenAPI schema."""
    target_class = "portal.api_auth.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "mlp_<prefix>_<secret>",
                "description": "Create a token on the portal's API tokens page or with "
                               "`manage.py create_api_token USERNAME`."}
