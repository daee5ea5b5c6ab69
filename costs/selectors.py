"""Cost reads shared by pages and the API. Scoped first (``cost_scope``), and read only from the
rollups (CostTeamDay, CostMonthly, CostDaily narrowed by team or by a few edge days), so the
number of queries and their cost do not grow with the raw data. Never calls Cost Explorer.
"""
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, Sum, Value
from django.db.models.functions import Concat
from django.http import Http404

from costs.models import (UNALLOCATED, CostAnomaly, CostDaily, CostForecast, CostMonthly, CostSyncRun, CostTagDaily,
                          CostTeamDay, EndpointVariant, Metric, UsageSyncRun)
from costs.services import last_complete_day, month_start, next_month, today
from portal.budgets import BudgetExcess
from portal.models import GlobalRole, Membership, RoleAssignment, Team
from portal.permissions import SYSTEM, global_roles, has_perm, team_roles

ZERO = Decimal(0)
RECENT_DAYS = 14      # a team's share of recent spend splits the organisation's forecast
RUN_RATE_DAYS = 7
MAX_RANGE_DAYS = 427  # 13 months + a month


@dataclass(frozen=True)
class CostScope:
    """What cost data a user may read: every team and the unallocated cost, or some teams."""
    all_teams: bool
    team_ids: frozenset = frozenset()
    dashboard: bool = False       # a global reader (admin, auditor, executive)

    def filter(self, queryset, field: str = "team"):
        if self.all_teams:
            return queryset
        return queryset.filter(**{f"{field}__in": self.team_ids})

    def teams(self):
        return self.filter(Team.objects.all(), "id")

    def sees(self, team_id) -> bool:
        return self.all_teams or team_id in self.team_ids


def cost_scope(user) -> CostScope:
    """Platform admins and auditors: everything. Executives: everything, or the teams of their
    line(s) of business. Team members: their teams. Anyone else: PermissionDenied."""
    if user is SYSTEM:
        return CostScope(all_teams=True, dashboard=True)
    if not getattr(user, "is_authenticated", False) or not has_perm(user, "view", CostDaily):
        raise PermissionDenied("Cost reports are for executives, auditors, platform admins and team members.")
    roles = global_roles(user)
    member_teams = frozenset(team_roles(user))
    if roles & {GlobalRole.PLATFORM_ADMIN, GlobalRole.AUDITOR}:
        return CostScope(all_teams=True, dashboard=True)
    if GlobalRole.EXECUTIVE in roles:
        lines = set(RoleAssignment.objects.filter(user=user, role=GlobalRole.EXECUTIVE)
                    .values_list("line_of_business", flat=True))
        if "" in lines:
            return CostScope(all_teams=True, dashboard=True)
        ids = frozenset(Team.objects.filter(line_of_business__in=lines).values_list("id", flat=True))
        return CostScope(all_teams=False, team_ids=ids | member_teams, dashboard=True)
    return CostScope(all_teams=False, team_ids=member_teams)


def can_see_dashboard(user) -> bool:
    return bool(global_roles(user) & {GlobalRole.PLATFORM_ADMIN, GlobalRole.AUDITOR, GlobalRole.EXECUTIVE})


def can_see_team_costs(user) -> bool:
    return has_perm(user, "view", CostDaily)


def can_subscribe_to_digest(user) -> bool:
    from portal.models import TeamRole
    return can_see_dashboard(user) or TeamRole.LEAD in team_roles(user).values()


def digest_context(user, *, as_of: date) -> dict:
    """Headline figures, teams and top services of the month so far, within the user's scope."""
    scope = cost_scope(user)
    rows = sorted(cost_by_team(user, as_of=as_of, scope=scope), key=lambda r: r["month_to_date"], reverse=True)
    summary = cost_summary(user, as_of=as_of, rows=rows, scope=scope)
    services = cost_by_service(user, start=month_start(as_of), end=as_of, scope=scope)[:5] \
        if as_of.day > 1 else []
    return {"user": user, "summary": summary, "rows": rows, "services": services, "as_of": as_of,
            "anomalies": cost_anomalies(user, start=as_of - timedelta(days=7), end=as_of, scope=scope)}


def dashboard_scope(user) -> CostScope:
    scope = cost_scope(user)
    if not scope.dashboard:
        raise PermissionDenied("The executive dashboard is for executives, auditors and platform admins; "
                               "your team's report is under Costs → Team cost reports.")
    return scope


def team_for_costs(user, slug: str) -> Team:
    """The team whose costs ``user`` may read; Http404 when it is not visible to them."""
    scope = cost_scope(user)
    team = scope.teams().filter(slug=slug).first()
    if team is None:
        raise Http404("No such team, or you may not see its costs.")
    return team


# --- periods --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Periods:
    """Month-to-date counts complete days ([first of month, as_of)); the same period last month has
    the same number of days; the forecast covers [as_of, end of month)."""
    as_of: date

    @property
    def mtd(self):
        return month_start(self.as_of), self.as_of

    @property
    def previous(self):
        start = month_start(month_start(self.as_of) - timedelta(days=1))
        return start, min(start + timedelta(days=self.as_of.day - 1), month_start(self.as_of))

    @property
    def recent(self):
        return self.as_of - timedelta(days=RECENT_DAYS), self.as_of

    @property
    def days_left(self) -> int:
        return (next_month(self.as_of) - self.as_of).days


def _between(start, end, field="day") -> Q:
    return Q(**{f"{field}__gte": start, f"{field}__lt": end})


def _pct(part, whole):
    return (Decimal(part) * 100 / whole).quantize(Decimal("0.1")) if whole else None


# --- the organisation's forecast -----------------------------------------------------------------
def stored_forecast(metric: str, as_of: date):
    return CostForecast.objects.filter(month=month_start(as_of), metric=metric).first()


def _team_totals(scope: CostScope, metric: str, periods: Periods, start: date, end: date) -> dict:
    """team id (None: unallocated) -> range, mtd, previous, recent and last-week sums, one query."""
    windows = {"range": (start, end), "mtd": periods.mtd, "previous": periods.previous,
               "recent": periods.recent, "week": (periods.as_of - timedelta(days=RUN_RATE_DAYS), periods.as_of)}
    lowest = min(w[0] for w in windows.values())
    highest = max(w[1] for w in windows.values())
    rows = (scope.filter(CostTeamDay.objects.filter(_between(lowest, highest)))
            .values("team").annotate(**{name: Sum(metric, filter=_between(*window))
                                        for name, window in windows.items()}).order_by())
    return {row["team"]: {name: row[name] or ZERO for name in windows} for row in rows}


def cost_by_team(user, *, metric: str = Metric.UNBLENDED, start: date | None = None, end: date | None = None,
                 as_of: date | None = None, scope: CostScope | None = None) -> list[dict]:
    """One row per visible team (and "unallocated" for readers of everything): spend in
    [start, end), month to date, the same period last month, change, budget, budget used,
    forecast to month end, anomalies in the range. Constant number of queries."""
    scope = scope or cost_scope(user)
    periods = Periods(as_of or today())
    start, end = start or periods.mtd[0], end or periods.as_of + timedelta(days=1)
    totals = _team_totals(scope, metric, periods, start, end)
    forecast = stored_forecast(metric, periods.as_of)
    org_recent = _org_recent(metric, periods) if forecast else ZERO
    anomalies = dict(scope.filter(CostAnomaly.objects.filter(_between(start, end))).values("team")
                     .annotate(n=Count("id")).order_by().values_list("team", "n"))
    rows = []
    teams = list(scope.teams().only("id", "name", "slug", "line_of_business", "monthly_budget_usd"))
    entries = [(team.id, team) for team in teams] + ([(None, None)] if scope.all_teams else [])
    for team_id, team in entries:
        sums = totals.get(team_id, dict.fromkeys(("range", "mtd", "previous", "recent", "week"), ZERO))
        if team is None and not any(sums.values()):
            continue
        projected, source = _month_end(sums, periods, forecast, org_recent)
        budget = team.monthly_budget_usd if team else ZERO
        rows.append({
            "team_id": team_id, "team": team.name if team else "Unallocated", "slug": team.slug if team else UNALLOCATED,
            "line_of_business": team.line_of_business if team else "Unallocated",
            "amount": sums["range"], "month_to_date": sums["mtd"], "previous_period": sums["previous"],
            "change": sums["mtd"] - sums["previous"], "change_pct": _pct(sums["mtd"] - sums["previous"], sums["previous"]),
            "budget": budget, "budget_used_pct": _pct(sums["mtd"], budget), "forecast": projected,
            "forecast_source": source, "forecast_pct": _pct(projected, budget), "anomalies": anomalies.get(team_id, 0),
            "_forecast": forecast})
    return rows


def _org_recent(metric: str, periods: Periods) -> Decimal:
    return CostTeamDay.objects.filter(_between(*periods.recent)).aggregate(s=Sum(metric))["s"] or ZERO


def _month_end(sums: dict, periods: Periods, forecast, org_recent: Decimal) -> tuple[Decimal, str]:
    """Month-end projection: month to date plus this team's share (of the last RECENT_DAYS) of
    Cost Explorer's forecast for the rest of the month; without a stored forecast, the last
    week's daily run rate."""
    if forecast and org_recent > 0:
        return (sums["mtd"] + forecast.mean * sums["recent"] / org_recent).quantize(Decimal("0.01")), "cost_explorer"
    return (sums["mtd"] + sums["week"] / RUN_RATE_DAYS * periods.days_left).quantize(Decimal("0.01")), "run_rate"


def cost_by_line_of_business(rows: list[dict]) -> list[dict]:
    lines = {}
    for row in rows:
        entry = lines.setdefault(row["line_of_business"], {"line_of_business": row["line_of_business"], "amount": ZERO,
                                                          "month_to_date": ZERO, "budget": ZERO, "forecast": ZERO,
                                                          "teams": 0})
        for key in ("amount", "month_to_date", "budget", "forecast"):
            entry[key] += row[key]
        entry["teams"] += 1
    return sorted(lines.values(), key=lambda e: e["amount"], reverse=True)


def cost_summary(user, *, metric: str = Metric.UNBLENDED, as_of: date | None = None,
                 rows: list[dict] | None = None, scope: CostScope | None = None) -> dict:
    """Headline figures of the current month for the user's scope."""
    scope = scope or cost_scope(user)
    periods = Periods(as_of or today())
    rows = rows if rows is not None else cost_by_team(user, metric=metric, as_of=periods.as_of, scope=scope)
    mtd = sum((r["month_to_date"] for r in rows), ZERO)
    previous = sum((r["previous_period"] for r in rows), ZERO)
    budget = sum((r["budget"] for r in rows), ZERO)
    forecast = next((r["_forecast"] for r in rows), None) if rows else stored_forecast(metric, periods.as_of)
    if scope.all_teams and forecast:
        projected, source = (mtd + forecast.mean).quantize(Decimal("0.01")), "cost_explorer"
    else:
        projected = sum((r["forecast"] for r in rows), ZERO)
        source = rows[0]["forecast_source"] if rows else "run_rate"
    unallocated = sum((r["month_to_date"] for r in rows if r["team_id"] is None), ZERO)
    return {"metric": metric, "as_of": periods.as_of, "month": month_start(periods.as_of),
            "month_to_date": mtd, "previous_period": previous, "change": mtd - previous,
            "change_pct": _pct(mtd - previous, previous), "budget": budget, "budget_used_pct": _pct(mtd, budget),
            "forecast": projected, "forecast_source": source,
            "forecast_lower": (mtd + forecast.lower).quantize(Decimal("0.01")) if forecast and scope.all_teams else None,
            "forecast_upper": (mtd + forecast.upper).quantize(Decimal("0.01")) if forecast and scope.all_teams else None,
            "unallocated": unallocated, "unallocated_pct": _pct(unallocated, mtd), "last_sync": last_sync()}


def last_sync():
    run = CostSyncRun.objects.filter(status=CostSyncRun.Status.SUCCEEDED).order_by("-finished_at").first()
    return run.finished_at if run else None


def _range_parts(start: date, end: date):
    """Split [start, end) into whole months (read from CostMonthly) and edge days (CostDaily).
    A range that reaches past today covers its last month so far, which CostMonthly holds."""
    first_whole = start if start.day == 1 else next_month(start)
    reaches_today = end > today()
    last_whole = next_month(month_start(min(end - timedelta(days=1), today()))) if reaches_today else month_start(end)
    if first_whole >= last_whole:
        return [], [(start, end)]
    months, month = [], first_whole
    while month < last_whole:
        months.append(month)
        month = next_month(month)
    edges = [(start, first_whole)] + ([] if reaches_today else [(last_whole, end)])
    return months, [(a, b) for a, b in edges if a < b]


def cost_by_service(user, *, metric: str = Metric.UNBLENDED, start: date, end: date, team: Team | None = None,
                    scope: CostScope | None = None) -> list[dict]:
    """Spend per service in [start, end), largest first (at most two queries)."""
    scope = scope or cost_scope(user)
    months, edges = _range_parts(start, end)
    totals: dict[str, Decimal] = {}

    def add(queryset):
        if team is not None:
            queryset = queryset.filter(team=team)
        for service, amount in scope.filter(queryset).values("service").annotate(s=Sum(metric)).order_by() \
                .values_list("service", "s"):
            totals[service] = totals.get(service, ZERO) + (amount or ZERO)
    if months:
        add(CostMonthly.objects.filter(month__in=months))
    if edges:
        condition = Q()
        for a, b in edges:
            condition |= _between(a, b)
        add(CostDaily.objects.filter(condition))
    return [{"service": s, "amount": a} for s, a in sorted(totals.items(), key=lambda i: i[1], reverse=True)]


def cost_daily(user, *, metric: str = Metric.UNBLENDED, start: date, end: date, team: Team | None = None,
               scope: CostScope | None = None) -> list[dict]:
    """Spend per complete day in [start, end): days from today on are left out, their cost still
    accrues and would plot as a false drop (one query, on the team-day rollup)."""
    scope = scope or cost_scope(user)
    end = min(end, last_complete_day() + timedelta(days=1))
    queryset = scope.filter(CostTeamDay.objects.filter(_between(start, end)))
    if team is not None:
        queryset = queryset.filter(team=team)
    amounts = dict(queryset.values("day").annotate(s=Sum(metric)).order_by().values_list("day", "s"))
    days = max((end - start).days, 0)
    return [{"day": start + timedelta(days=i), "amount": amounts.get(start + timedelta(days=i)) or ZERO}
            for i in range(days)]


def cost_anomalies(user, *, start: date, end: date, team: Team | None = None, scope: CostScope | None = None,
                   limit: int = 20) -> list:
    scope = scope or cost_scope(user)
    queryset = scope.filter(CostAnomaly.objects.filter(_between(start, end)).select_related("team"))
    if team is not None:
        queryset = queryset.filter(team=team)
    return list(queryset.order_by("-day", "-amount")[:limit])


def biggest_movers(rows: list[dict], limit: int = 5) -> list[dict]:
    return sorted((r for r in rows if r["change"]), key=lambda r: abs(r["change"]), reverse=True)[:limit]


def team_report(user, team: Team, *, metric: str = Metric.UNBLENDED, start: date, end: date,
                as_of: date | None = None) -> dict:
    """A team's report: daily trend, by service, by account and environment, budget burn with
    the projected overrun date, anomalies. Constant number of queries."""
    scope = cost_scope(user)
    periods = Periods(as_of or today())
    row = next(r for r in cost_by_team(user, metric=metric, start=start, end=end, as_of=periods.as_of, scope=scope)
               if r["team_id"] == team.id)
    accounts = list(CostDaily.objects.filter(_between(start, end), team=team)
                    .values("account_id", "environment").annotate(amount=Sum(metric)).order_by("-amount"))
    burn = budget_burn(team, metric=metric, periods=periods)
    tagged = {key: list(cost_by_tag(user, metric=metric, start=start, end=end, team=team, key=key,
                                    scope=scope)[:TAG_ROWS_PER_KEY])
              for key in CostTagDaily.Key.values}     # one query per tag key, so products never crowd out models
    return {"team": team, "row": row, "metric": metric, "recent": recent_provisioning_estimate(team),
            "projects": tagged["project"], "models": tagged["model"], "domains": tagged["domain"],
            "products": _with_request_names(team, tagged["request"]),
            "daily": cost_daily(user, metric=metric, start=start, end=end, team=team, scope=scope),
            "services": cost_by_service(user, metric=metric, start=start, end=end, team=team, scope=scope),
            "accounts": accounts, "burn": burn,
            "anomalies": cost_anomalies(user, start=start, end=end, team=team, scope=scope)}


TAG_ROWS_PER_KEY = 25


def cost_by_tag(user, *, metric: str = Metric.UNBLENDED, start: date, end: date, team: Team | None = None,
                key: str = "", scope: CostScope | None = None):
    """Spend in [start, end) per team and project, model, SageMaker domain or portal-request tag
    (``key`` narrows to one), largest first; tagged cost only. A lazy queryset of dicts: callers
    slice or paginate it in SQL."""
    scope = scope or cost_scope(user)
    queryset = scope.filter(CostTagDaily.objects.filter(_between(start, end)))
    if team is not None:
        queryset = queryset.filter(team=team)
    if key:
        queryset = queryset.filter(key=key)
    return (queryset.values("team__slug", "key", "value").annotate(amount=Sum(metric))
            .order_by("-amount", "key", "value"))


def _with_request_names(team: Team, entries: list[dict]) -> list[dict]:
    """Add ``request`` (the team's provisioning request the ``portal-request`` tag names, or None
    for a value that names none) to each entry: one query, none without the provisioning app."""
    model = _installed_model("provisioning", "ProvisioningRequest")
    ids = {int(entry["value"]) for entry in entries if entry["value"].isdigit()}
    found = ({request.pk: request for request in model.objects.filter(team=team, pk__in=ids).select_related("product")}
             if ids and model is not None else {})
    return [{**entry, "request": found.get(int(entry["value"])) if entry["value"].isdigit() else None}
            for entry in entries]


RECENT_PROVISIONING_HOURS = 48


def recent_provisioning_estimate(team: Team, *, now=None) -> dict:
    """What the team provisioned in the last 48 hours and still runs, priced from the catalog's
    hourly prices: Cost Explorer shows such cost only after a day or so, so this is an estimate
    (one query; empty when the provisioning app is not installed)."""
    from django.utils import timezone

    model = _installed_model("provisioning", "ProvisionedProduct")
    if model is None:
        return {"items": [], "so_far": ZERO, "daily": ZERO}
    now = now or timezone.now()
    items = []
    for product in (model.objects.filter(team=team, terminated_at__isnull=True,
                                         created_at__gte=now - timedelta(hours=RECENT_PROVISIONING_HOURS))
                    .select_related("product").order_by("-created_at")[:50]):
        hourly = product.product.hourly_price_usd
        hours = Decimal((now - product.created_at).total_seconds() / 3600).quantize(Decimal("0.1"))
        items.append({"name": product.name, "product": product.product.name, "created_at": product.created_at,
                      "hourly": hourly, "so_far": (hourly * hours).quantize(Decimal("0.01")),
                      "daily": (hourly * 24).quantize(Decimal("0.01"))})
    return {"items": items, "so_far": sum((i["so_far"] for i in items), ZERO),
            "daily": sum((i["daily"] for i in items), ZERO)}


# --- usage ----------------------------------------------------------------------------------------
GONE_ENDPOINT_STATUSES = ("Deleting", "Failed")
USAGE_COUNTS = ("active_users", "domains", "user_profiles", "mlops_projects", "models_in_prod", "endpoints")


def _installed_model(app_label: str, name: str):
    """Another app's model, or None when that app is not installed (costs only reads it)."""
    from django.apps import apps
    try:
        return apps.get_model(app_label, name)
    except LookupError:
        return None


def _live_endpoints(scope: CostScope, team_ids=None):
    queryset = scope.filter(EndpointVariant.objects.exclude(status__in=GONE_ENDPOINT_STATUSES))
    return queryset if team_ids is None else queryset.filter(team_id__in=team_ids)


def usage_by_team(user, teams, *, scope: CostScope | None = None) -> list[dict]:
    """One row per team of ``teams`` (within the user's scope): active members, the SageMaker
    domains, user profiles and MLOps projects the portal provisioned and that still run, model
    versions in production, and endpoints by instance type (from the last usage sync). A constant
    number of queries, whatever the number of teams."""
    scope = scope or cost_scope(user)
    teams = [team for team in teams if scope.sees(team.id)]
    ids = [team.id for team in teams]
    counts = {team_id: defaultdict(int) for team_id in ids}
    for row in (Membership.objects.filter(team_id__in=ids, user__is_active=True).values("team")
                .annotate(n=Count("user", distinct=True)).order_by()):
        counts[row["team"]]["active_users"] = row["n"]
    products = _installed_model("provisioning", "ProvisionedProduct")
    if products is not None:   # kinds by the parameter that names what the product creates
        kinds = {"domains": "DomainName", "user_profiles": "UserProfileName", "mlops_projects": "SageMakerProjectName"}
        for row in (products.objects.filter(team_id__in=ids, terminated_at__isnull=True).values("team")
                    .annotate(**{kind: Count("id", filter=Q(request__parameters__has_key=parameter))
                                 for kind, parameter in kinds.items()}).order_by()):
            counts[row["team"]].update({kind: row[kind] for kind in kinds})
    versions = _installed_model("governance", "ModelVersion")
    if versions is not None:
        for row in (versions.objects.filter(team_id__in=ids, stage="in_prod").values("team")
                    .annotate(n=Count("id")).order_by()):
            counts[row["team"]]["models_in_prod"] = row["n"]
    endpoint_key = Concat("account_id", Value("/"), "endpoint_name")
    for row in (_live_endpoints(scope, ids).values("team").annotate(n=Count(endpoint_key, distinct=True))
                .order_by()):
        counts[row["team"]]["endpoints"] = row["n"]
    by_type = defaultdict(list)
    for row in (_live_endpoints(scope, ids).values("team", "instance_type")
                .annotate(endpoints=Count(endpoint_key, distinct=True), instances=Sum("instance_count"))
                .order_by("team", "-endpoints", "instance_type")):
        by_type[row["team"]].append({"instance_type": row["instance_type"] or "serverless",
                                     "endpoints": row["endpoints"], "instances": row["instances"] or 0})
    rows = []
    for team in teams:
        count = counts[team.id]
        rows.append({"team": team, "slug": team.slug, "name": team.name, "line_of_business": team.line_of_business,
                     **{key: count[key] for key in USAGE_COUNTS},
                     "instances": sum(entry["instances"] for entry in by_type[team.id]),
                     "by_instance_type": by_type[team.id]})
    return rows


def usage_summary(user, *, scope: CostScope | None = None) -> dict:
    """Endpoints by instance type over every team in scope, and when the usage sync last read the
    endpoints (None: it never ran), with the accounts it could not read (two queries)."""
    scope = scope or cost_scope(user)
    endpoint_key = Concat("account_id", Value("/"), "endpoint_name")
    by_type = [{"instance_type": row["instance_type"] or "serverless", "endpoints": row["n"]}
               for row in _live_endpoints(scope).values("instance_type")
               .annotate(n=Count(endpoint_key, distinct=True)).order_by("-n", "instance_type")]
    last = UsageSyncRun.objects.order_by("-started_at", "-id").first()
    return {"by_instance_type": by_type, "endpoints_synced_at": last.finished_at if last else None,
            "unread_accounts": sorted(last.errors) if last else []}


def budget_burn(team: Team, *, metric: str, periods: Periods) -> dict:
    """Cumulative spend of the month against the budget, and the day it is projected to be
    exceeded at the last week's daily run rate (None: not this month)."""
    start, end = periods.mtd
    daily = dict(CostTeamDay.objects.filter(team=team, day__gte=start - timedelta(days=RUN_RATE_DAYS), day__lt=end)
                 .values_list("day").annotate(s=Sum(metric)).order_by())
    cumulative, total, overrun = [], ZERO, None
    day = start
    while day < end:
        total += daily.get(day) or ZERO
        cumulative.append({"day": day, "amount": total})
        if overrun is None and team.monthly_budget_usd and total >= team.monthly_budget_usd:
            overrun = day
        day += timedelta(days=1)
    week = sum((daily.get(periods.as_of - timedelta(days=i)) or ZERO for i in range(1, RUN_RATE_DAYS + 1)), ZERO)
    rate = (week / RUN_RATE_DAYS).quantize(Decimal("0.01"))
    projected_overrun = overrun
    if overrun is None and team.monthly_budget_usd and rate > 0:
        days_needed = (team.monthly_budget_usd - total) / rate
        candidate = periods.as_of + timedelta(days=int(days_needed))
        projected_overrun = candidate if candidate < next_month(periods.as_of) else None
    return {"budget": team.monthly_budget_usd, "month_to_date": total, "daily_rate": rate,
            "cumulative": cumulative, "overrun_on": overrun, "projected_overrun": projected_overrun}


def team_budget_status(*, as_of: date, metric: str = Metric.UNBLENDED, scope: CostScope | None = None) -> list[dict]:
    """Every team in scope with its budget, month-to-date spend and month-end forecast
    (for budget alerts and the budgets API)."""
    scope = scope or CostScope(all_teams=True)
    rows = cost_by_team(SYSTEM, metric=metric, as_of=as_of, scope=scope)
    teams = {team.id: team for team in scope.teams()}
    return [{"team": teams[r["team_id"]], "budget": r["budget"], "actual": r["month_to_date"],
             "forecast": r["forecast"], "forecast_source": r["forecast_source"]}
            for r in rows if r["team_id"] is not None]


def budget_headroom(team: Team, *, as_of: date | None = None) -> dict:
    """What is left of ``team``'s monthly budget after its month-end forecast, for request forms
    that warn (and route to approval) when an estimate would exceed it. ``left`` is None when the
    team has no budget. Reads the local rollups only (a few queries, no Cost Explorer call)."""
    scope = CostScope(all_teams=False, team_ids=frozenset({team.pk}))
    row = next((r for r in cost_by_team(SYSTEM, as_of=as_of, scope=scope) if r["team_id"] == team.pk), None)
    forecast = row["forecast"] if row else ZERO
    budget = team.monthly_budget_usd
    return {"budget": budget, "forecast": forecast, "left": (budget - forecast) if budget else None}


def budget_excess(team: Team, monthly_estimate_usd: Decimal, *, as_of: date | None = None) -> BudgetExcess | None:
    """How ``monthly_estimate_usd``, prorated to the rest of the month, overruns what is left of the
    team's budget after the month-end forecast; None when it fits or the team has no budget.
    Registered as the portal's budget provider (``portal.budgets``) for request forms."""
    headroom = budget_headroom(team, as_of=as_of)
    if headroom["left"] is None or monthly_estimate_usd <= 0:
        return None
    periods = Periods(as_of or today())
    days_in_month = (next_month(periods.as_of) - month_start(periods.as_of)).days
    added = (monthly_estimate_usd * periods.days_left / days_in_month).quantize(Decimal("0.01"))
    if added <= headroom["left"]:
        return None
    return BudgetExcess(budget=headroom["budget"], left=headroom["left"].quantize(Decimal("0.01")), added=added)


def sync_runs():
    return CostSyncRun.objects.all()
