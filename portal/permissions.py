"""The one permission mechanism, used by pages and API alike (DESIGN.md §7).

Each model registers a policy: which global roles and which team roles may do each action, and
the path from the model to its team. ``scope`` narrows a queryset to what the user may act on
before anything else touches it; objects outside it answer 404. ``has_perm`` answers "may this
user do this action here at all?" (403 when not).
"""
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db.models import Model, Q, QuerySet
from rest_framework.permissions import BasePermission

from portal.models import GlobalRole, Membership, RoleAssignment, Team, TeamRole

ALL_TEAM_ROLES = frozenset(TeamRole.values)


class SystemActor:
    """The actor for work no person started (workers, beat, seed and import commands).
    It may do everything; its audit events read "system"."""
    is_authenticated = True
    is_active = True
    pk = None

    def get_username(self) -> str:
        return "system"

    def __str__(self):
        return "system"


SYSTEM = SystemActor()


@dataclass(frozen=True)
class Rule:
    global_roles: frozenset = frozenset()
    team_roles: frozenset = frozenset()


@dataclass
class Policy:
    team_path: str | None            # ORM path from the model to its Team; None for global objects
    rules: dict[str, Rule] = field(default_factory=dict)


_POLICIES: dict[str, Policy] = {}


def register(model: type[Model], *, team_path: str | None, rules: dict[str, Rule]) -> None:
    """Declare who may do what with ``model``. Called by each app's policies module at start-up."""
    _POLICIES[model._meta.label_lower] = Policy(team_path=team_path, rules=rules)


def policy_for(model: type[Model]) -> Policy:
    try:
        return _POLICIES[model._meta.label_lower]
    except KeyError:
        raise LookupError(f"No permission policy is registered for {model._meta.label}") from None


def role_scopes(user) -> dict[str, frozenset | None]:
    """role -> the lines of business it is limited to, or None for all (cached on the user)."""
    if not user.is_authenticated or user is SYSTEM:
        return {}
    if not hasattr(user, "_portal_role_scopes"):
        scopes: dict[str, set | None] = {}
        for role, line in RoleAssignment.objects.filter(user=user).values_list("role", "line_of_business"):
            if not line or scopes.get(role, set()) is None:
                scopes[role] = None
            else:
                scopes.setdefault(role, set()).add(line)
        user._portal_role_scopes = {role: None if lines is None else frozenset(lines) for role, lines in scopes.items()}
    return user._portal_role_scopes


def global_roles(user) -> frozenset:
    """The user's global roles, whatever their line-of-business scope."""
    return frozenset(role_scopes(user))


def team_roles(user) -> dict[int, str]:
    """team id -> the user's role in that team (cached on the user object for the request)."""
    if not user.is_authenticated or user is SYSTEM:
        return {}
    if not hasattr(user, "_portal_team_roles"):
        user._portal_team_roles = dict(Membership.objects.filter(user=user).values_list("team_id", "role"))
    return user._portal_team_roles


def is_platform_admin(user) -> bool:
    return user is SYSTEM or role_scopes(user).get(GlobalRole.PLATFORM_ADMIN, ()) is None


def _rule(model, action: str) -> Rule:
    return policy_for(model).rules.get(action, Rule())


def teams_for(user, model, action: str) -> set[int] | None:
    """Team ids where ``user`` may do ``action`` on ``model``; None means every team (global role)."""
    if user is SYSTEM:
        return None
    rule = _rule(model, action)
    teams = {team_id for team_id, role in team_roles(user).items() if role in rule.team_roles}
    lines: set[str] = set()
    for role, scoped_lines in role_scopes(user).items():
        if role in rule.global_roles:
            if scoped_lines is None:
                return None
            lines |= scoped_lines
    if lines:
        teams |= set(Team.objects.filter(line_of_business__in=lines).values_list("pk", flat=True))
    return teams


def scope(user, queryset: QuerySet, action: str = "view") -> QuerySet:
    """Restrict ``queryset`` to the objects ``user`` may ``action``. Deny by default."""
    if not user.is_authenticated:
        return queryset.none()
    model = queryset.model
    teams = teams_for(user, model, action)
    if teams is None:
        return queryset
    path = policy_for(model).team_path
    if path is None or not teams:
        return queryset.none()
    return queryset.filter(**{f"{path}__in": teams})


def has_perm(user, action: str, model, team_id: int | None = None) -> bool:
    """May ``user`` do ``action`` on ``model`` at all (team_id None), or within that team?"""
    if not user.is_authenticated:
        return False
    teams = teams_for(user, model, action)
    if teams is None:
        return True
    return bool(teams) if team_id is None else team_id in teams


def users_with_perm(action: str, model, team_id: int | None = None) -> QuerySet:
    """The active users ``has_perm`` lets do ``action`` on ``model`` (within ``team_id`` when
    given): holders of the rule's global roles (unscoped, or scoped to the team's line of business)
    and the team's members with one of its team roles. The one answer to "who could decide or fix
    this?"; callers narrow it further (e.g. not the requester)."""
    from django.contrib.auth import get_user_model

    rule = _rule(model, action)
    roles = Q(role_assignments__role__in=rule.global_roles)
    query = roles & Q(role_assignments__line_of_business="")
    if team_id is not None:
        line = Team.objects.filter(pk=team_id).values_list("line_of_business", flat=True).first()
        if line:
            query |= roles & Q(role_assignments__line_of_business=line)
        query |= Q(memberships__team_id=team_id, memberships__role__in=rule.team_roles)
    return get_user_model().objects.filter(query, is_active=True).distinct()


def require(user, action: str, model, team_id: int | None = None) -> None:
    """Raise PermissionDenied unless ``has_perm``. Services call this before every write."""
    if not has_perm(user, action, model, team_id):
        raise PermissionDenied(f"You may not {action} {model._meta.verbose_name_plural} here.")


class DenyByDefault(BasePermission):
    """The API default: nothing is allowed unless a view declares its policy."""
    def has_permission(self, request, view):
        return False


class PolicyPermission(BasePermission):
    """For viewsets with ``policy_model``. List routes: the action must be allowed somewhere.
    Object routes: the object must be in the user's view scope (else 404, via ``get_queryset``)
    and the action allowed in its team (else 403). (Read-only tokens are stopped at authentication.)"""
    action_map = {"list": "view", "retrieve": "view", "create": "add", "update": "change",
                  "partial_update": "change", "destroy": "delete"}

    def _action(self, view) -> str:
        return getattr(view, "policy_actions", {}).get(view.action) or self.action_map.get(view.action, "view")

    def has_permission(self, request, view):
        user = request.user
        if not user or not user.is_authenticated:
            return False
        if view.kwargs.get(view.lookup_url_kwarg or view.lookup_field):
            return True   # decided per object, after the scoped lookup
        return has_perm(user, self._action(view), view.policy_model)

    def has_object_permission(self, request, view, obj):
        return has_perm(request.user, self._action(view), view.policy_model, team_id_of(obj))


def team_id_of(obj) -> int | None:
    """The team id of ``obj`` following its policy's team path."""
    path = policy_for(type(obj)).team_path
    if path is None:
        return None
    value = obj
    for part in path.split("__"):
        if part == "id" or value is None:
            break
        value = getattr(value, part)
    return getattr(value, "pk", value)


def deny(message: str = "You may not do that here.") -> None:
    raise PermissionDenied(message)
