"""A declarative route × persona matrix, in the spirit of NetBox's view and API test cases.

Each app declares ``RouteCase``s for its routes; ``run_case`` checks every persona against the
expectation: who succeeds, who gets 403, who gets 404 (another team's object), and that anonymous
visitors are sent to sign in (pages) or get 401 (API). ``uncovered_routes`` lists the named
routes nobody declared, so a new route without a case fails the suite.
"""
from dataclasses import dataclass, field
from typing import Callable

from django.urls import URLPattern, URLResolver, get_resolver, reverse

# Routes served by libraries that have their own tests upstream (sign-in, MFA, SSO), by the
# top-level package of the view, with the reason. Exact: a portal view never matches, whatever
# its route is called.
EXEMPT_PACKAGES = {
    "allauth": "django-allauth's sign-in, MFA and SSO pages (sign-in and MFA covered by tests/portal/test_auth.py; "
               "SSO only active when configured)",
}


@dataclass
class RouteCase:
    name: str                                    # URL name, e.g. "portal:team_detail"
    allowed: set[str]                            # personas that succeed
    method: str = "get"
    kwargs: Callable = lambda world: {}          # fn(world) -> URL kwargs
    data: Callable = lambda world: {}            # fn(world) -> request body
    api: bool = False                            # API route: anonymous gets 401 and bodies are JSON
    public: bool = False                         # anonymous succeeds too
    not_found: set[str] = field(default_factory=set)   # personas for whom the object is invisible
    success: tuple | None = None                 # default: 200 for GET; 200/201/204/302 for writes

    @property
    def label(self) -> str:
        return f"{self.method.upper()} {self.name}"


def _routes(resolver, namespace: str = ""):
    """(name, view) of every named route, namespaced."""
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _routes(pattern, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{namespace}{pattern.name}", pattern.callback


def is_exempt(view) -> bool:
    """Whether ``view`` belongs to a package of EXEMPT_PACKAGES (class-based views carry their
    class's module)."""
    return (getattr(view, "__module__", None) or "").split(".")[0] in EXEMPT_PACKAGES


def uncovered_routes(cases: list[RouteCase]) -> set[str]:
    covered = {case.name for case in cases}
    return {name for name, view in _routes(get_resolver()) if name not in covered and not is_exempt(view)}


def run_case(case: RouteCase, world, persona: str, client_factory) -> None:
    """Make the request as ``persona`` (or anonymously) and check the status it gets."""
    client = client_factory()
    if persona != "anonymous":
        client.force_login(world[persona])
    url = reverse(case.name, kwargs=case.kwargs(world))
    body = case.data(world)
    if case.method == "get":
        response = client.get(url, body)
    elif case.api:
        response = getattr(client, case.method)(url, body, format="json")
    else:
        response = getattr(client, case.method)(url, body)
    status = response.status_code
    context = f"{case.label} as {persona}: got {status}"
    if persona == "anonymous" and not case.public:
        if case.api:
            assert status in (401, 403), context
        else:
            assert status == 302 and "/accounts/login/" in response["Location"], context
    elif persona in case.allowed or case.public:
        expected = case.success or ((200,) if case.method == "get" else (200, 201, 204, 302))
        assert status in expected, context
    elif persona in case.not_found:
        assert status == 404, context
    else:
        assert status == 403, context
