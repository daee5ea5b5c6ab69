"""The approvals inbox: every decision a person may take now, of every request kind, in one list.

The core knows no app. Each app registers an ``InboxKind`` from its ``AppConfig.ready()``: the
queryset of items the user may decide now (its own selectors: team scoping and separation of
duties already applied), how to turn a batch of them into rows (a constant number of queries,
whatever the batch size), and approve/deny callables that call the app's own services, which
check everything again. The inbox only lists, filters, sorts and forwards decisions.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Callable

from django.core.exceptions import PermissionDenied
from django.db.models import Value
from django.utils import timezone

from portal.errors import DomainError

RISKS = ("low", "medium", "high")


@dataclass(frozen=True)
class InboxKind:
    key: str                                   # stable: "provisioning_request", "model_version", ...
    label: str                                 # shown to people
    visible: Callable[[Any], bool]             # user -> may they decide items of this kind at all (cheap)
    decidable: Callable[..., Any]              # (user, delegate=None) -> QuerySet of items ``user`` may decide
                                               # now; with ``delegate``: minus those the delegate may not touch
                                               # (their own request, their card, their first approval...)
    rows: Callable[[Any, list], list]          # (user, items) -> [InboxRow]; constant queries per batch
    approve: Callable[..., Any]                # (actor=, item=, comment=, on_behalf_of=None) -> via the app's service
    deny: Callable[..., Any]                   # idem; the service wants a comment
    undecidable: Callable[[], list] | None = None   # () -> [InboxRow] with ``reason``: nobody can decide them
    team_path: str = "team"                    # ORM path to the item's Team, for the team/line filters
    order: int = 100
    delegable: bool = True                     # False: the kind's own queue and services already apply
                                               # delegations (governance's model queue)
    pending: Callable[[], Any] | None = None   # () -> QuerySet of every item waiting for a decision, for
    deciders: Callable[[Any], Any] | None = None   # reminders: (item) -> the users who may decide it


@dataclass
class InboxRow:
    kind: str
    kind_label: str
    id: int
    title: str
    team: str
    team_slug: str
    line_of_business: str
    waiting_since: datetime
    url: str
    summary: str = ""
    amount: Decimal | None = None              # money at stake per month (estimate or budget), if any
    over_budget: bool = False
    risk: str = "low"
    reason: str = ""                           # undecidable rows: why nobody can decide
    on_behalf_of: str = ""                     # a delegated row: whose decision the user takes
    context: dict = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"

    @property
    def age(self) -> timedelta:
        return max(timezone.now() - self.waiting_since, timedelta(0))

    @property
    def age_days(self) -> int:
        return self.age.days


_KINDS: dict[str, InboxKind] = {}


def register_kind(kind: InboxKind) -> None:
    """Called from an app's ready(); registering a key twice keeps the first (tests re-run ready)."""
    _KINDS.setdefault(kind.key, kind)


def kinds() -> list[InboxKind]:
    return sorted(_KINDS.values(), key=lambda kind: (kind.order, kind.key))


def kind_for(key: str) -> InboxKind:
    return _KINDS[key]


def kinds_for(user) -> list[InboxKind]:
    """The kinds ``user`` may decide items of (role checks only, no item query)."""
    if not getattr(user, "is_authenticated", False):
        return []
    return [kind for kind in kinds() if kind.visible(user)]


def may_use(user) -> bool:
    """Who sees the inbox: anyone who decides some kind, platform admins (undecidable items) and
    delegates while a delegation to them runs."""
    from portal.permissions import is_platform_admin
    from portal.selectors import active_delegations_to
    if not getattr(user, "is_authenticated", False):
        return False
    return bool(kinds_for(user)) or is_platform_admin(user) or active_delegations_to(user).exists()


def _sources(user):
    """(kind, queryset, delegator or None) for everything ``user`` may decide: their own queue of
    each kind, then each active delegator's queue of the delegable kinds, minus what the delegate
    may not touch. Queries: one per kind and per delegation, none per item."""
    from portal.selectors import active_delegations_to
    own = kinds_for(user)
    for kind in own:
        yield kind, kind.decidable(user), None
    if not getattr(user, "is_authenticated", False):
        return
    for delegation in active_delegations_to(user):
        for kind in kinds_for(delegation.delegator):
            if kind.delegable:
                yield kind, kind.decidable(delegation.delegator, delegate=user), delegation.delegator
            elif kind not in own:   # its own queue already holds what the delegate decides for others
                own.append(kind)
                yield kind, kind.decidable(user), delegation.delegator


@dataclass
class InboxFilter:
    kind: str = ""
    team: str = ""
    line_of_business: str = ""
    min_age_days: int | None = None
    max_age_days: int | None = None
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    over_budget: bool | None = None
    risk: str = ""
    order: str = "oldest"                      # or "newest"

    def keeps(self, row: InboxRow) -> bool:
        if self.min_age_days is not None and row.age_days < self.min_age_days:
            return False
        if self.max_age_days is not None and row.age_days > self.max_age_days:
            return False
        if self.min_amount is not None and (row.amount is None or row.amount < self.min_amount):
            return False
        if self.max_amount is not None and (row.amount is None or row.amount > self.max_amount):
            return False
        if self.over_budget is not None and row.over_budget != self.over_budget:
            return False
        return not self.risk or row.risk == self.risk


def _narrow(kind: InboxKind, queryset, filters: InboxFilter):
    if filters.team:
        queryset = queryset.filter(**{f"{kind.team_path}__slug": filters.team})
    if filters.line_of_business:
        queryset = queryset.filter(**{f"{kind.team_path}__line_of_business": filters.line_of_business})
    return queryset


def _sorted(rows: list[InboxRow], order: str) -> list[InboxRow]:
    return sorted(rows, key=lambda row: (row.waiting_since, row.kind, row.id), reverse=order == "newest")


def inbox_for(user, filters: InboxFilter | None = None) -> list[InboxRow]:
    """Every item ``user`` may decide now, of every registered kind, filtered and sorted (oldest
    first by default). Queries: a few per kind, none per row."""
    filters = filters or InboxFilter()
    rows: list[InboxRow] = []
    seen: set[str] = set()
    for kind, queryset, delegator in _sources(user):
        if filters.kind and kind.key != filters.kind:
            continue
        items = [item for item in _narrow(kind, queryset, filters) if f"{kind.key}:{item.pk}" not in seen]
        for row in kind.rows(user, items) if items else []:
            seen.add(row.key)
            row.on_behalf_of = delegator.get_username() if delegator else ""
            if filters.keeps(row):
                rows.append(row)
    return _sorted(rows, filters.order)


def inbox_count(user) -> int:
    """How many items wait for ``user`` (the navigation badge): one query for every kind (a UNION
    ALL of each kind's ids), so the badge costs every page the same whatever the user decides."""
    ids = [queryset.order_by().annotate(inbox_kind=Value(kind.key)).values_list("inbox_kind", "pk")
           for kind, queryset, _delegator in _sources(user)]
    if not ids:
        return 0
    return ids[0].union(*ids[1:]).count() if len(ids) > 1 else ids[0].count()


def undecidable_for(user, filters: InboxFilter | None = None) -> list[InboxRow]:
    """Platform admins only: items no existing person may decide, each with the reason."""
    from portal.permissions import is_platform_admin
    if not getattr(user, "is_authenticated", False) or not is_platform_admin(user):
        return []
    filters = filters or InboxFilter()
    rows = []
    for kind in kinds():
        if kind.undecidable is None or (filters.kind and kind.key != filters.kind):
            continue
        rows.extend(row for row in kind.undecidable() if filters.keeps(row)
                    and (not filters.team or row.team_slug == filters.team)
                    and (not filters.line_of_business or row.line_of_business == filters.line_of_business))
    return _sorted(rows, filters.order)


def risk_of(*, high: bool = False, medium: bool = False) -> str:
    """The one wording of risk every kind uses: high when the decision reaches production or spends
    beyond a budget, medium when it spends money or gates a later decision, else low."""
    return "high" if high else "medium" if medium else "low"


MAX_BULK = 100


def _parse_keys(keys) -> dict[str, list[int]]:
    """"kind:id" strings -> {kind: [ids]} in the order given, duplicates dropped; bad keys -> 400."""
    wanted: dict[str, list[int]] = {}
    bad = []
    for key in keys or []:
        kind, _sep, pk = str(key).partition(":")
        if kind not in _KINDS or not pk.isdigit():
            bad.append(str(key)[:60])
            continue
        if int(pk) not in wanted.setdefault(kind, []):
            wanted[kind].append(int(pk))
    if bad:
        raise DomainError(f"Unknown items: {', '.join(bad)}.", fields={"keys": ["Use the keys the inbox lists."]})
    total = sum(len(ids) for ids in wanted.values())
    if not total or total > MAX_BULK:
        raise DomainError(f"Choose between 1 and {MAX_BULK} items.",
                          fields={"keys": [f"Between 1 and {MAX_BULK} items."]})
    return wanted


def inbox_decide(*, actor, keys, outcome: str, comment: str = "") -> list[dict]:
    """Approve or deny several inbox items at once, all or nothing at the check: every item must be
    one ``actor`` may decide now (the kind's own queue, separation of duties included), else nothing
    is decided (PermissionDenied naming them). Then each decision goes through its kind's service
    one by one (each checks again and writes its own audit event and step log). A later decision
    that fails (someone decided it meanwhile) stops the run: the ones before it stand, the error
    names them. Returns [{"key", "url"}] of the items decided."""
    if outcome not in ("approve", "deny"):
        raise DomainError("Choose approve or deny.", fields={"outcome": ["approve or deny"]})
    comment = (comment or "").strip()
    if outcome == "deny" and not comment:
        raise DomainError("Say why you deny: the requesters read your comment.",
                          fields={"comment": ["A comment is required to deny."]})
    wanted = _parse_keys(keys)
    found, urls = {}, {}   # (kind, pk) -> (item, delegator or None)
    for kind, queryset, delegator in _sources(actor):
        ids = [pk for pk in wanted.get(kind.key, []) if (kind.key, pk) not in found]
        if not ids:
            continue
        items = list(queryset.filter(pk__in=ids))
        found.update({(kind.key, item.pk): (item, delegator) for item in items})
        urls.update({(kind.key, row.id): row.url for row in kind.rows(actor, items)} if items else {})
    missing = [f"{key}:{pk}" for key, ids in wanted.items() for pk in ids if (key, pk) not in found]
    if missing:
        raise PermissionDenied(f"You may not decide {', '.join(missing)} now (not yours to decide, or already "
                               "decided); nothing was decided.")
    done = []
    for key, pk in [(key, pk) for key, ids in wanted.items() for pk in ids]:
        kind, (item, delegator) = _KINDS[key], found[(key, pk)]
        extra = {"on_behalf_of": delegator} if delegator else {}
        try:
            (kind.approve if outcome == "approve" else kind.deny)(actor=actor, item=item, comment=comment, **extra)
        except DomainError as error:
            decided = ", ".join(row["key"] for row in done) or "none"
            raise type(error)(f"{key}:{pk}: {error.message} Decided before it: {decided}.", code=error.code,
                              fields=error.fields) from error
        done.append({"key": f"{key}:{pk}", "url": urls[(key, pk)]})
    return done


# -- reminders and escalation -----------------------------------------------------------------------
LEVELS = {0: "reminder", 1: "escalated to the line of business", 2: "escalated to the platform admins"}


def _thresholds() -> list[tuple[int, timedelta]]:
    from django.conf import settings
    return [(0, timedelta(hours=getattr(settings, "APPROVAL_REMINDER_HOURS", 48))),
            (1, timedelta(hours=getattr(settings, "APPROVAL_ESCALATION_LOB_HOURS", 96))),
            (2, timedelta(hours=getattr(settings, "APPROVAL_ESCALATION_ADMIN_HOURS", 168)))]


def _recipients(kind: InboxKind, item, row: InboxRow, level: int) -> list:
    """Level 0: whoever may decide the item (team leads, admins, approvers); 1: the executives of
    the team's line of business (its leads), or the platform admins when the line has none;
    2: the platform admins."""
    from django.contrib.auth import get_user_model

    from portal.models import GlobalRole
    users = get_user_model().objects.filter(is_active=True)
    if level == 0:
        return list(kind.deciders(item))
    if level == 1 and row.line_of_business:
        leads = list(users.filter(role_assignments__role=GlobalRole.EXECUTIVE,
                                  role_assignments__line_of_business=row.line_of_business).distinct())
        if leads:
            return leads
    return list(users.filter(role_assignments__role=GlobalRole.PLATFORM_ADMIN,
                             role_assignments__line_of_business="").distinct())


def approval_nudges_send(*, now=None) -> dict:
    """Remind and escalate what waits too long, for every kind that declares ``pending`` and
    ``deciders``: once its age passes APPROVAL_REMINDER_HOURS its deciders are reminded, past
    APPROVAL_ESCALATION_LOB_HOURS the line of business's executives are told, past
    APPROVAL_ESCALATION_ADMIN_HOURS the platform admins. Side effects per (item, level, wait): one
    ApprovalNudge row (unique: a repeat or a concurrent run sends nothing), notifications, an audit
    event ``approval.remind`` / ``approval.escalate``. A new wait (e.g. a second approval) starts
    again at level 0."""
    from django.db import IntegrityError, transaction

    from portal.audit import audit_record
    from portal.models import ApprovalNudge, Team
    from portal.notifications import notify
    from portal.permissions import SYSTEM
    now = now or timezone.now()
    sent = {"reminded": 0, "escalated": 0}
    thresholds = _thresholds()
    teams = {}
    for kind in kinds():
        if kind.pending is None or kind.deciders is None:
            continue
        items = list(kind.pending())
        by_id = {item.pk: item for item in items}
        for row in kind.rows(SYSTEM, items) if items else []:
            age = now - row.waiting_since
            for level, after in thresholds:
                if age < after:
                    continue
                try:
                    with transaction.atomic():
                        ApprovalNudge.objects.create(kind=kind.key, object_id=row.id, level=level,
                                                     waiting_since=row.waiting_since)
                        if row.team_slug not in teams:
                            teams[row.team_slug] = Team.objects.filter(slug=row.team_slug).first()
                        team = teams[row.team_slug]
                        users = _recipients(kind, by_id[row.id], row, level)
                        verb = "Reminder" if level == 0 else "Escalated"
                        notify(users=users, kind="approval.reminder" if level == 0 else "approval.escalated",
                               team=team, url=row.url,
                               subject=f"{verb}: {row.kind_label.lower()} {row.title} has waited {age.days} days "
                                       "for a decision", body=row.summary)
                        audit_record(actor=SYSTEM, action="approval.remind" if level == 0 else "approval.escalate",
                                     target_type=kind.key, target_id=str(row.id), target_label=row.title, team=team,
                                     after={"level": level, "to": LEVELS[level], "days_waiting": age.days,
                                            "recipients": sorted(user.get_username() for user in users)})
                except IntegrityError:
                    continue   # sent already (this run's twin or an earlier one)
                sent["reminded" if level == 0 else "escalated"] += 1
    return sent


def undecidable_rows(items, *, approver_ids, reason, row) -> list:
    """The rows of ``items`` nobody can decide: ``reason(item, ids of its team's approvers)`` says
    why (empty: someone can), ``row(item, reason)`` builds the row. Approvers are read once per
    team. Reads only."""
    approvers: dict[int, set[int]] = {}
    rows = []
    for item in items:
        if item.team_id not in approvers:
            approvers[item.team_id] = approver_ids(item.team_id)
        why = reason(item, approvers[item.team_id])
        if why:
            rows.append(row(item, why))
    return rows

