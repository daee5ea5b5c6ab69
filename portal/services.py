"""Every write to the core models: permission check, change, audit event, one transaction.

Services take the acting user explicitly (``actor``), keyword-only arguments, and raise
``PermissionDenied`` or ``DomainError`` (never half-record anything).
"""
import hashlib
import secrets
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from portal.audit import audit_record
from portal.errors import Conflict, DomainError
from portal.models import ApiToken, AwsAccount, Membership, RoleAssignment, Team
from portal.permissions import is_platform_admin, require

TEAM_FIELDS = ("name", "slug", "line_of_business", "cost_center", "monthly_budget_usd", "description")


def full_clean_or_explain(obj) -> None:
    """Run the model's validation; turn Django's ValidationError into a DomainError that pages show
    on the fields and the API returns as validation_error (never a 500)."""
    try:
        obj.full_clean()
    except ValidationError as error:
        raise DomainError("Some fields need attention.", code="validation_error",
                          fields=getattr(error, "message_dict", {"__all__": error.messages})) from None


def _snapshot(obj, fields) -> dict:
    return {name: getattr(obj, name) for name in fields}


def team_create(*, actor, name: str, slug: str, line_of_business: str, cost_center: str,
                monthly_budget_usd: Decimal = Decimal("0"), description: str = "") -> Team:
    """Create a team. Writes the team and an audit event. A repeated call fails on the unique slug."""
    require(actor, "add", Team)
    with transaction.atomic():
        if Team.objects.filter(slug=slug).exists():
            raise Conflict(f"A team with the slug '{slug}' already exists.", fields={"slug": ["Already taken."]})
        if Team.objects.filter(name__iexact=name).exists():
            raise Conflict(f"A team called '{name}' already exists.", fields={"name": ["Already taken."]})
        team = Team(name=name, slug=slug, line_of_business=line_of_business, cost_center=cost_center,
                    monthly_budget_usd=monthly_budget_usd, description=description)
        full_clean_or_explain(team)
        team.save()
        audit_record(actor=actor, action="team.create", target=team, team=team,
                     after=_snapshot(team, TEAM_FIELDS))
    return team


def team_update(*, actor, team: Team, **changes) -> Team:
    """Change a team's details (not its slug, which is the AWS tag). Audited with before/after."""
    require(actor, "change", Team)
    if "slug" in changes and changes["slug"] != team.slug:
        raise DomainError("A team's slug is its AWS tag and cannot be changed.", fields={"slug": ["Cannot change."]})
    changes.pop("slug", None)
    with transaction.atomic():
        team = Team.objects.select_for_update().get(pk=team.pk)
        before = _snapshot(team, TEAM_FIELDS)
        for name, value in changes.items():
            if name not in TEAM_FIELDS:
                raise DomainError(f"Unknown team field '{name}'.")
            setattr(team, name, value)
        if Team.objects.filter(name__iexact=team.name).exclude(pk=team.pk).exists():
            raise Conflict(f"A team called '{team.name}' already exists.", fields={"name": ["Already taken."]})
        full_clean_or_explain(team)
        team.save()
        audit_record(actor=actor, action="team.update", target=team, team=team, before=before,
                     after=_snapshot(team, TEAM_FIELDS))
    return team


def membership_set(*, actor, team: Team, user, role: str) -> Membership:
    """Add ``user`` to ``team`` with ``role``, or change their role. Idempotent for the same role."""
    require(actor, "add", Membership)
    with transaction.atomic():
        membership = Membership.objects.select_for_update().filter(team=team, user=user).first()
        before = {"role": membership.role} if membership else None
        if membership and membership.role == role:
            return membership
        if membership:
            membership.role = role
            full_clean_or_explain(membership)
            membership.save(update_fields=["role"])
        else:
            membership = Membership(team=team, user=user, role=role)
            full_clean_or_explain(membership)
            membership.save()
        audit_record(actor=actor, action="membership.set", target=membership, team=team,
                     before=before, after={"user": user.get_username(), "role": role})
    return membership


def membership_remove(*, actor, membership: Membership) -> None:
    """Remove a member from a team. Audited."""
    require(actor, "delete", Membership)
    with transaction.atomic():
        audit_record(actor=actor, action="membership.remove", target=membership, team=membership.team,
                     before={"user": membership.user.get_username(), "role": membership.role})
        membership.delete()


def role_grant(*, actor, user, role: str, line_of_business: str = "") -> RoleAssignment:
    """Grant a global role. Idempotent: granting a role the user has returns the existing one."""
    require(actor, "add", RoleAssignment)
    with transaction.atomic():
        assignment, created = RoleAssignment.objects.get_or_create(
            user=user, role=role, line_of_business=line_of_business)
        if created:
            full_clean_or_explain(assignment)
            audit_record(actor=actor, action="role.grant", target=assignment,
                         after={"user": user.get_username(), "role": role, "line_of_business": line_of_business})
    return assignment


def role_revoke(*, actor, assignment: RoleAssignment) -> None:
    """Revoke a global role. Refuses to remove the last platform admin."""
    require(actor, "delete", RoleAssignment)
    with transaction.atomic():
        admins = RoleAssignment.objects.select_for_update().filter(role="platform_admin")
        if assignment.role == "platform_admin" and admins.count() <= 1:
            raise DomainError("This is the last platform admin; grant the role to someone else first.")
        audit_record(actor=actor, action="role.revoke", target=assignment,
                     before={"user": assignment.user.get_username(), "role": assignment.role,
                             "line_of_business": assignment.line_of_business})
        assignment.delete()


def user_create(*, actor, username: str, email: str, password: str | None = None,
                first_name: str = "", last_name: str = ""):
    """Create a portal user (there is no self sign-up). Without a password, the user signs in by
    SSO or sets one through password reset."""
    require(actor, "add", RoleAssignment)
    User = get_user_model()
    with transaction.atomic():
        if User.objects.filter(username__iexact=username).exists():
            raise Conflict(f"The username '{username}' is taken.", fields={"username": ["Already taken."]})
        if email and User.objects.filter(email__iexact=email).exists():
            raise Conflict(f"Another user already has the e-mail address {email}.",
                           fields={"email": ["Already used by another user."]})
        user = User(username=username, email=email, first_name=first_name, last_name=last_name)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        full_clean_or_explain(user)
        user.save()
        audit_record(actor=actor, action="user.create", target_type="auth.user", target_id=str(user.pk),
                     target_label=username, after={"username": username, "email": email})
    return user


def account_link(*, actor, account_id: str, name: str, environment: str, team: Team | None,
                 ou_path: str = "", email: str = "", status: str = "ACTIVE") -> AwsAccount:
    """Record (or update) an AWS account and its owning team. Idempotent on the account id."""
    require(actor, "change", AwsAccount)
    with transaction.atomic():
        account = AwsAccount.objects.select_for_update().filter(account_id=account_id).first()
        values = {"name": name, "environment": environment, "team": team, "ou_path": ou_path,
                  "email": email, "status": status}
        if account and all(getattr(account, k) == v for k, v in values.items()):
            return account
        before = ({k: str(getattr(account, k)) for k in values} if account else None)
        account = account or AwsAccount(account_id=account_id)
        for key, value in values.items():
            setattr(account, key, value)
        full_clean_or_explain(account)
        account.save()
        audit_record(actor=actor, action="account.link", target=account, team=team, before=before,
                     after={k: str(v) for k, v in values.items()})
    return account


def _hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def api_token_create(*, actor, name: str, scope: str = ApiToken.Scope.WRITE,
                     expires_in_days: int = 90, via_token: ApiToken | None = None) -> tuple[ApiToken, str]:
    """Create a personal API token for ``actor``. Returns the row and the secret, shown once;
    only its SHA-256 is stored. Audited (without the secret). A token created through another
    token (``via_token``) may neither outlive it nor have more scope than it."""
    if not actor.is_authenticated:
        raise PermissionDenied("Sign in first.")
    if not 1 <= expires_in_days <= settings.API_TOKEN_MAX_DAYS:
        raise DomainError(f"Choose an expiry between 1 and {settings.API_TOKEN_MAX_DAYS} days.",
                          fields={"expires_in_days": [f"Between 1 and {settings.API_TOKEN_MAX_DAYS}."]})
    if not name.strip():
        raise DomainError("Give the token a name that says what uses it.", fields={"name": ["Required."]})
    expires_at = timezone.now() + timedelta(days=expires_in_days)
    if via_token is not None:
        if expires_at > via_token.expires_at:
            raise DomainError(f"A token created with another token cannot outlive it: the token you use expires "
                              f"on {via_token.expires_at:%Y-%m-%d %H:%M} UTC; choose fewer days or create the "
                              "token on the API tokens page.",
                              fields={"expires_in_days": ["Longer than the token you use."]})
        if via_token.scope == ApiToken.Scope.READ and scope != ApiToken.Scope.READ:
            raise DomainError("A read-only token can only create read-only tokens.",
                              fields={"scope": ["More than the token you use."]})
    prefix = secrets.token_hex(4)
    secret = f"mlp_{prefix}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=actor, name=name.strip(), prefix=prefix, token_hash=_hash_token(secret), scope=scope,
            expires_at=expires_at)
        audit_record(actor=actor, action="api_token.create", target=token,
                     after={"name": token.name, "scope": scope, "expires_at": token.expires_at})
    return token, secret


def api_token_revoke(*, actor, token: ApiToken) -> ApiToken:
    """Revoke a token (owner or platform admin). Idempotent: revoking twice changes nothing."""
    if token.user_id != actor.pk and not is_platform_admin(actor):
        raise PermissionDenied("You may only revoke your own tokens.")
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().get(pk=token.pk)
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            audit_record(actor=actor, action="api_token.revoke", target=token)
    return token


def api_token_authenticate(secret: str) -> ApiToken | None:
    """The active token for ``secret``, or None. Updates last_used_at at most once a minute."""
    parts = secret.split("_")
    if len(parts) < 3 or parts[0] != "mlp":
        return None
    token = ApiToken.objects.select_related("user").filter(prefix=parts[1]).first()
    if token is None or not secrets.compare_digest(token.token_hash, _hash_token(secret)):
        return None
    if not token.is_active or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


# -- delegation while away ---------------------------------------------------------------------------
MAX_DELEGATION_DAYS = 90


def delegation_create(*, actor, delegate, ends_at, starts_at=None, reason: str = ""):
    """Let ``delegate`` take every decision the actor could take (every kind in the approvals
    inbox) from ``starts_at`` (default now) until ``ends_at``, at most 90 days ahead. Side effects:
    the row, an audit event, a notification to the delegate. A repeat makes another (overlapping)
    delegation, which changes nothing in effect."""
    from portal import inbox
    from portal.models import ApprovalDelegation
    from portal.notifications import notify
    if not inbox.kinds_for(actor):
        raise PermissionDenied("You take no decisions, so there is nothing to delegate.")
    now = timezone.now()
    starts_at = starts_at or now
    if delegate is None or not delegate.is_active:
        raise DomainError("Name an active colleague to delegate to.", fields={"delegate": ["Unknown or inactive user."]})
    if delegate.pk == actor.pk:
        raise DomainError("Delegate to someone else.", fields={"delegate": ["You cannot delegate to yourself."]})
    if ends_at <= max(now, starts_at) or (ends_at - now).days >= MAX_DELEGATION_DAYS:
        raise DomainError(f"Choose an end after the start, within the next {MAX_DELEGATION_DAYS} days.",
                          fields={"ends_at": [f"After the start, at most {MAX_DELEGATION_DAYS} days away."]})
    if starts_at < now - timedelta(minutes=5):
        raise DomainError("A delegation cannot start in the past.", fields={"starts_at": ["Now or later."]})
    with transaction.atomic():
        delegation = ApprovalDelegation.objects.create(delegator=actor, delegate=delegate, starts_at=starts_at,
                                                       ends_at=ends_at, reason=reason.strip()[:200])
        audit_record(actor=actor, action="approval_delegation.create", target=delegation,
                     after={"delegate": delegate.get_username(), "starts_at": starts_at, "ends_at": ends_at,
                            "reason": delegation.reason})
        notify(users=[delegate], kind="approval.delegated", url="/approvals/",
               subject=f"{actor.get_username()} delegated their approvals to you from {starts_at:%Y-%m-%d} "
                       f"until {ends_at:%Y-%m-%d}", body=delegation.reason)
    return delegation


def delegation_revoke(*, actor, delegation):
    """End a delegation now (its delegator or a platform admin). Idempotent."""
    from portal.models import ApprovalDelegation
    if delegation.delegator_id != actor.pk and not is_platform_admin(actor):
        raise PermissionDenied("Only the person who delegated may end the delegation.")
    with transaction.atomic():
        delegation = ApprovalDelegation.objects.select_for_update().get(pk=delegation.pk)
        if delegation.revoked_at is None:
            delegation.revoked_at = timezone.now()
            delegation.save(update_fields=["revoked_at"])
            audit_record(actor=actor, action="approval_delegation.revoke", target=delegation)
    return delegation
