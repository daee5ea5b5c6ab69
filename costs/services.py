"""Every write of the costs app: the Cost Explorer sync, the rollups it maintains, budget alerts
and budget changes.

Attribution (DESIGN.md §3, issue 8): cost goes to the team named by its ``team`` tag; untagged
cost (or a tag that names no portal team) goes to the team that owns the account; cost in an
account no team owns is "unallocated" (team None), shown as such. The environment is the
account's. Cost Explorer allows two group-bys per request, so the sync reads team tag x service
and linked account x service and joins them per (day, service): a team's tagged cost is placed
in that team's accounts in proportion to their cost in that service (then in any account), and
whatever is left in an account is its untagged cost. When tags match account ownership (what the
portal provisions) this is exact.

Request budget: team x service and account x service (with their pages) and the two forecasts are
read on every run; the tag breakdowns (team x project, model, SageMaker domain, portal-request)
take the requests left, the one read longest ago first, so a run never exceeds
MAX_REQUESTS_PER_SYNC however many teams there are. A breakdown skipped now is the first one tried
next time, unless it needed more requests than are left, which then go to the next one.
"""
import logging
import time
from statistics import median
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from costs import aws
from costs.models import (BudgetAlert, CostAnomaly, CostDaily, CostFact, CostForecast, CostMonthly, CostSyncLock,
                          CostSyncRun, CostTagDaily, CostTeamDay, EndpointVariant, Metric, UsageSyncRun)
from portal.audit import audit_record
from portal.errors import DomainError
from portal.models import AwsAccount, Membership, Team, TeamRole
from portal.notifications import notify
from portal.permissions import SYSTEM, require

log = logging.getLogger(__name__)

SYNC_WINDOW_DAYS = 14          # Cost Explorer restates recent days: the trailing window is re-read
MAX_REQUESTS_PER_SYNC = 10     # $0.01 each; the cap does not depend on the number of teams
MAX_REQUESTS_PER_BACKFILL_MONTH = 20
ANOMALY_BASELINE_DAYS = 14
ANOMALY_FACTOR = Decimal("2.5")
ANOMALY_MIN_EXCESS = Decimal("50")
BUDGET_THRESHOLDS = (80, 100)
CENT = Decimal("0.000001")
DUST = Decimal("0.0001")      # CE rounds each group; sums of groups differ by fractions of a cent
ZERO = Decimal(0)


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def today() -> date:
    return timezone.now().date()


def last_complete_day() -> date:
    """The newest day whose cost is complete: today's still accrues (UTC, as Cost Explorer)."""
    return today() - timedelta(days=1)


# --- the sync -----------------------------------------------------------------------------------
def cost_sync_window(*, actor=SYSTEM, start: date | None = None, end: date | None = None, kind: str = "window",
                     max_requests: int = MAX_REQUESTS_PER_SYNC, forecast: bool = True) -> CostSyncRun:
    """Read [start, end) from Cost Explorer (default: the trailing SYNC_WINDOW_DAYS up to today)
    and the month-end forecast, and replace that window locally.

    Side effects: one CostSyncRun row (committed first, so a failure is recorded with its error);
    CostFact rows of the window replaced; CostDaily/CostTeamDay/CostAnomaly of the window and
    CostMonthly of the months it touches rebuilt; CostForecast upserted; budget alerts (BudgetAlert
    rows + notifications to team leads). At most ``max_requests`` Cost Explorer requests. A repeat
    re-reads the same window and converges to the same rows; alerts are not repeated.
    """
    require(actor, "add", CostSyncRun)
    day = today()
    end = end or day + timedelta(days=1)
    start = start or day - timedelta(days=SYNC_WINDOW_DAYS)
    if start >= end:
        raise DomainError(f"The window start ({start}) must be before its end ({end}).")
    run = CostSyncRun.objects.create(kind=kind, window_start=start, window_end=end, started_at=timezone.now())
    began = time.monotonic()
    budget = aws.RequestBudget(limit=max_requests)
    try:
        fetched, tried = {}, {}
        for grouping in ("team_service", "account_service"):      # the totals: always read in full
            made_before = budget.made
            fetched[grouping] = aws.cost_and_usage(start=start, end=end, grouping=grouping, budget=budget)
            tried[grouping] = {"pages": budget.made - made_before, "complete": True}
        forecasts = {}
        if forecast:
            for metric in Metric.values:
                forecasts[metric] = aws.cost_forecast(start=day, end=next_month(day), metric=metric, budget=budget)
        notes = []
        history = _tag_breakdown_history()
        for grouping in history["order"]:     # optional breakdowns: only with the requests left
            label = grouping.replace("_", " x ")
            needed = history["pages"].get(grouping, 1)
            if needed > budget.left:
                notes.append(f"Skipped the {label} breakdown: it needs about {needed} Cost Explorer requests and "
                             f"{budget.left} of the {max_requests} allowed per sync were left; the previous figures "
                             "are kept.")
                continue
            made_before = budget.made
            try:
                fetched[grouping] = aws.cost_and_usage(start=start, end=end, grouping=grouping, budget=budget)
                tried[grouping] = {"pages": budget.made - made_before, "complete": True}
            except aws.RequestBudgetExceeded:
                tried[grouping] = {"pages": budget.made - made_before, "complete": False}
                notes.append(f"Stopped the {label} breakdown after {budget.made - made_before} pages: it needs more "
                             f"Cost Explorer requests than the {max_requests} allowed per sync left; the previous "
                             "figures are kept.")
        with transaction.atomic():
            _lock()
            rows = _replace_facts(start, end, fetched)
            rollup_rebuild(start=start, end=end)
            _store_forecasts(day, forecasts)
            budget_alerts_check(as_of=day)
            CostSyncRun.objects.filter(pk=run.pk).update(
                status=CostSyncRun.Status.SUCCEEDED, requests_made=budget.made, rows=rows, notes=" ".join(notes),
                groupings=tried,
                duration_ms=int((time.monotonic() - began) * 1000), finished_at=timezone.now())
    except Exception as error:  # recorded on the run (the people reading it need the reason)
        log.exception("cost sync %s..%s failed", start, end)
        CostSyncRun.objects.filter(pk=run.pk).update(
            status=CostSyncRun.Status.FAILED, requests_made=budget.made, error=f"{type(error).__name__}: {error}",
            duration_ms=int((time.monotonic() - began) * 1000), finished_at=timezone.now())
    run.refresh_from_db()
    return run


def cost_backfill(*, actor=SYSTEM, months: int = 13, until: date | None = None, stdout=None) -> list[CostSyncRun]:
    """Load ``months`` whole months before ``until``'s month plus that month so far, one sync per
    month (oldest first, so anomaly baselines exist), then the regular window with the forecast.
    Side effects: those of ``cost_sync_window`` per month. Repeats converge to the same rows."""
    until = until or today()
    first = month_start(until)
    for _ in range(months):
        first = month_start(first - timedelta(days=1))
    runs = []
    while first <= until:
        end = min(next_month(first), until + timedelta(days=1))
        run = cost_sync_window(actor=actor, start=first, end=end, kind="backfill", forecast=False,
                               max_requests=MAX_REQUESTS_PER_BACKFILL_MONTH)
        runs.append(run)
        if stdout:
            stdout.write(f"{first:%Y-%m}: {run.status}, {run.requests_made} requests, {run.rows} rows"
                         f"{' — ' + run.error if run.error else ''}\n")
        first = next_month(first)
    runs.append(cost_sync_window(actor=actor))
    return runs


def _tag_breakdown_history(runs: int = 20) -> dict:
    """From the last ``runs`` successful periodic syncs: ``order``, the tag breakdowns read longest
    ago (or never) first, ties in declared order; ``pages``, the requests each needed when last
    tried (one more than spent when it was cut off). A breakdown too big for what is left is then
    skipped without spending, so it never starves the others."""
    last_read, pages = {}, {}
    for position, tried in enumerate(CostSyncRun.objects.filter(
            kind="window", status=CostSyncRun.Status.SUCCEEDED).order_by("-started_at", "-id")
            .values_list("groupings", flat=True)[:runs]):
        for grouping, outcome in (tried or {}).items():
            if grouping not in aws.TAG_GROUPINGS:
                continue
            if outcome["complete"]:
                last_read.setdefault(grouping, position)
            pages.setdefault(grouping, outcome["pages"] + (0 if outcome["complete"] else 1))
    order = tuple(sorted(aws.TAG_GROUPINGS, key=lambda g: -last_read.get(g, 10 ** 6)))
    return {"order": order, "pages": pages}


def _lock() -> None:
    """Serialise writers of the cost tables (a beat sync and a backfill may overlap)."""
    CostSyncLock.objects.bulk_create([CostSyncLock(id=1)], ignore_conflicts=True)
    CostSyncLock.objects.select_for_update().get(id=1)


def _replace_facts(start: date, end: date, fetched: dict[str, list[dict]]) -> int:
    """Replace the window's facts of each fetched grouping with what Cost Explorer says now.
    Groups that vanished on a restatement disappear too, which an update-in-place upsert would
    miss. Untagged groups of the tag breakdowns are not kept (the service grouping has them)."""
    facts = {}
    for grouping, rows in fetched.items():
        for row in rows:
            first, second = row["keys"]
            account_id, tag, service, tag_value = "", "", "", ""
            if grouping == "account_service":
                account_id, service = first, second
            elif grouping == "team_service":
                tag, service = first, second
            else:
                tag, tag_value = first, second
                if not tag_value:
                    continue
            key = (row["day"], grouping, account_id, tag, service, tag_value)
            fact = facts.get(key)
            if fact is None:
                facts[key] = CostFact(day=row["day"], grouping=grouping, account_id=account_id, team_tag=tag,
                                      service=service, tag_value=tag_value, unblended=row["unblended"],
                                      amortized=row["amortized"], estimated=row["estimated"])
            else:   # the same key on two pages (should not happen): add up
                fact.unblended += row["unblended"]
                fact.amortized += row["amortized"]
    CostFact.objects.filter(day__gte=start, day__lt=end, grouping__in=list(fetched)).delete()
    CostFact.objects.bulk_create(facts.values(), batch_size=2000)
    return len(facts)


def _store_forecasts(day: date, forecasts: dict) -> None:
    now = timezone.now()
    for metric, value in forecasts.items():
        if value is None:
            continue
        CostForecast.objects.update_or_create(
            month=month_start(day), metric=metric,
            defaults={"start": day, "mean": value["mean"], "lower": value["lower"], "upper": value["upper"],
                      "fetched_at": now})


# --- usage (the usage report's endpoints) ----------------------------------------------------------
def usage_sync(*, account_ids: list[str] | None = None) -> dict:
    """Read the SageMaker endpoints of every active team account (or only ``account_ids``) and
    replace each account's EndpointVariant rows (the usage report reads them; no page calls AWS).
    An account that cannot be read keeps its previous rows and is named in the result; a full run
    removes the rows of accounts no longer team-owned or active. Side effects: EndpointVariant
    rows and one UsageSyncRun. A repeat converges.
    Returns {"accounts": read, "variants": rows written, "errors": {account id: message}}."""
    started = timezone.now()
    accounts = AwsAccount.objects.filter(team__isnull=False, status="ACTIVE")
    if account_ids is not None:
        accounts = accounts.filter(account_id__in=account_ids)
    accounts = list(accounts.values_list("account_id", "team_id"))
    result = {"accounts": 0, "variants": 0, "errors": {}}
    for account_id, team_id in accounts:
        try:
            rows = aws.endpoint_variants(account_id)
        except aws.AWS_ERRORS as error:
            log.warning("usage sync: cannot read the endpoints of %s: %s", account_id, error)
            result["errors"][account_id] = str(error)
            continue
        now = timezone.now()
        with transaction.atomic():
            EndpointVariant.objects.filter(account_id=account_id).delete()
            EndpointVariant.objects.bulk_create([EndpointVariant(team_id=team_id, account_id=account_id,
                                                                 synced_at=now, **row) for row in rows])
        result["accounts"] += 1
        result["variants"] += len(rows)
    if account_ids is None:
        EndpointVariant.objects.exclude(account_id__in=[account_id for account_id, _team in accounts]).delete()
    UsageSyncRun.objects.create(started_at=started, finished_at=timezone.now(), account_ids=account_ids or [],
                                accounts_read=result["accounts"], variants=result["variants"],
                                errors=result["errors"])
    return result


# --- attribution and rollups ----------------------------------------------------------------------
def _allocate(amount, candidates, remaining, out, key_of, index) -> Decimal:
    """Place up to ``amount`` in ``candidates`` in proportion to what is left in each; return the rest."""
    total = sum((remaining[c] for c in candidates), ZERO)
    if amount <= 0 or total <= 0:
        return amount
    take = amount if amount - total <= DUST else total     # rounding differences stay with the team's accounts
    placed = ZERO
    for position, account in enumerate(candidates):
        share = take - placed if position == len(candidates) - 1 else (take * remaining[account] / total).quantize(CENT)
        remaining[account] -= share
        placed += share
        if share:
            out[key_of(account)][index] += share
    return amount - placed


def attribute(facts, accounts: dict, team_by_slug: dict) -> dict:
    """(day, team_id|None, environment, account_id, service) -> [unblended, amortized].

    ``facts``: CostFact-like rows; ``accounts``: account id -> (team id|None, environment);
    ``team_by_slug``: team tag value -> team id. See the module docstring for the rules.
    """
    groups = defaultdict(lambda: ({}, {}))
    for fact in facts:
        tags, by_account = groups[(fact.day, fact.service)]
        target = by_account if fact.grouping == "account_service" else tags
        key = fact.account_id if fact.grouping == "account_service" else fact.team_tag
        target[key] = (fact.unblended, fact.amortized)
    out = defaultdict(lambda: [ZERO, ZERO])
    for (day, service), (tags, by_account) in groups.items():
        for index in (0, 1):
            remaining = {account: amounts[index] for account, amounts in sorted(by_account.items())}
            for tag, amounts in sorted(tags.items()):
                team_id = team_by_slug.get(tag) if tag else None
                if team_id is None:
                    if not by_account:   # no account breakdown: untagged cost stays unallocated
                        out[(day, None, "", "", service)][index] += amounts[index]
                    continue            # otherwise it is what stays in the accounts below

                def key_of(account, team_id=team_id):
                    return (day, team_id, accounts.get(account, (None, ""))[1], account, service)
                own = [a for a in remaining if accounts.get(a, (None,))[0] == team_id and remaining[a] > 0]
                rest = _allocate(amounts[index], own, remaining, out, key_of, index)
                rest = _allocate(rest, [a for a in remaining if remaining[a] > 0], remaining, out, key_of, index)
                if rest > DUST:
                    out[(day, team_id, "", "", service)][index] += rest
            for account, amount in remaining.items():
                if abs(amount) > DUST:
                    owner, environment = accounts.get(account, (None, ""))
                    out[(day, owner, environment, account, service)][index] += amount
    return out


def rollup_rebuild(*, start: date, end: date) -> int:
    """Rebuild CostDaily, CostTeamDay and CostAnomaly for [start, end) from CostFact, and
    CostMonthly for the months the window touches. Runs inside the caller's transaction.
    Idempotent: the same facts always give the same rows."""
    accounts = {a.account_id: (a.team_id, a.environment) for a in AwsAccount.objects.only("account_id", "team_id",
                                                                                          "environment")}
    team_by_slug = dict(Team.objects.values_list("slug", "id"))
    tags = defaultdict(lambda: [ZERO, ZERO])
    for fact in CostFact.objects.filter(day__gte=start, day__lt=end, grouping__in=aws.TAG_GROUPINGS):
        key = (fact.day, team_by_slug.get(fact.team_tag), fact.grouping.split("_", 1)[1], fact.tag_value)
        tags[key][0] += fact.unblended
        tags[key][1] += fact.amortized
    CostTagDaily.objects.filter(day__gte=start, day__lt=end).delete()
    CostTagDaily.objects.bulk_create([CostTagDaily(day=day, team_id=team_id, key=tag_key, value=value,
                                                   unblended=amounts[0], amortized=amounts[1])
                                      for (day, team_id, tag_key, value), amounts in tags.items()])
    facts = CostFact.objects.filter(day__gte=start, day__lt=end, grouping__in=["team_service", "account_service"]).only(
        "day", "grouping", "account_id", "team_tag", "service", "unblended", "amortized").iterator(chunk_size=5000)
    attributed = attribute(facts, accounts, team_by_slug)
    CostDaily.objects.filter(day__gte=start, day__lt=end).delete()
    CostDaily.objects.bulk_create(
        [CostDaily(day=day, team_id=team_id, environment=environment, account_id=account_id, service=service,
                   unblended=amounts[0], amortized=amounts[1])
         for (day, team_id, environment, account_id, service), amounts in attributed.items()], batch_size=2000)
    rollup_derived(start=start, end=end)
    return len(attributed)


def rollup_derived(*, start: date, end: date, anomalies: bool = True) -> None:
    """CostTeamDay and CostAnomaly of [start, end) and CostMonthly of its months, from CostDaily
    (aggregated by the database, so it also serves bulk-loaded data)."""
    CostTeamDay.objects.filter(day__gte=start, day__lt=end).delete()
    CostTeamDay.objects.bulk_create(
        [CostTeamDay(day=row["day"], team_id=row["team"], unblended=row["u"], amortized=row["a"])
         for row in CostDaily.objects.filter(day__gte=start, day__lt=end).values("day", "team")
         .annotate(u=Sum("unblended"), a=Sum("amortized")).order_by()], batch_size=5000)
    month = month_start(start)
    while month < end:
        CostMonthly.objects.filter(month=month).delete()
        CostMonthly.objects.bulk_create(
            [CostMonthly(month=month, team_id=row["team"], environment=row["environment"], service=row["service"],
                         unblended=row["u"], amortized=row["a"])
             for row in CostDaily.objects.filter(day__gte=month, day__lt=next_month(month))
             .values("team", "environment", "service").annotate(u=Sum("unblended"), a=Sum("amortized")).order_by()],
            batch_size=5000)
        month = next_month(month)
    if anomalies:
        _anomalies_rebuild(start, end)


def _anomalies_rebuild(start: date, end: date) -> None:
    """Flag days whose unblended cost for (team, environment, service) is at least ANOMALY_FACTOR
    times the median of the ANOMALY_BASELINE_DAYS before it, and ANOMALY_MIN_EXCESS above it."""
    series = defaultdict(dict)
    for row in (CostDaily.objects.filter(day__gte=start - timedelta(days=ANOMALY_BASELINE_DAYS), day__lt=end)
                .values("day", "team", "environment", "service").annotate(u=Sum("unblended")).order_by()):
        series[(row["team"], row["environment"], row["service"])][row["day"]] = row["u"]
    flags = []
    first_day = CostDaily.objects.order_by("day").values_list("day", flat=True).first()
    for (team_id, environment, service), days in series.items():
        for day, amount in days.items():
            if day < start or day - timedelta(days=ANOMALY_BASELINE_DAYS) < first_day:
                continue   # the baseline would reach before the history we hold
            history = [days.get(day - timedelta(days=back), ZERO) for back in range(1, ANOMALY_BASELINE_DAYS + 1)]
            if sum(1 for value in history if value > 0) < ANOMALY_BASELINE_DAYS // 2:
                continue   # too little history to call anything unusual
            baseline = median(history)   # robust: a spike does not raise the baseline of the days after it
            if amount >= baseline * ANOMALY_FACTOR and amount - baseline >= ANOMALY_MIN_EXCESS:
                flags.append(CostAnomaly(day=day, team_id=team_id, environment=environment, service=service,
                                         amount=amount, baseline=baseline.quantize(CENT)))
    CostAnomaly.objects.filter(day__gte=start, day__lt=end).delete()
    CostAnomaly.objects.bulk_create(flags)


# --- budgets ----------------------------------------------------------------------------------------
def budget_alerts_check(*, as_of: date) -> list[BudgetAlert]:
    """Alert each team's leads when month-to-date spend or the month-end forecast reaches 80 % or
    100 % of the monthly budget. Side effects: BudgetAlert rows and notifications. Once per team,
    month, threshold and basis: a repeat sends nothing new."""
    from costs.selectors import team_budget_status

    month = month_start(as_of)
    sent = []
    for status in team_budget_status(as_of=as_of):
        team, budget = status["team"], status["budget"]
        if budget <= 0:
            continue
        for basis, amount in ((BudgetAlert.Basis.ACTUAL, status["actual"]),
                              (BudgetAlert.Basis.FORECAST, status["forecast"])):
            for threshold in BUDGET_THRESHOLDS:
                if amount is None or amount * 100 < budget * threshold:
                    continue
                alert, created = BudgetAlert.objects.get_or_create(
                    team=team, month=month, threshold=threshold, basis=basis,
                    defaults={"amount": amount, "budget": budget})
                if not created:
                    continue
                sent.append(alert)
                leads = [m.user for m in Membership.objects.filter(team=team, role=TeamRole.LEAD).select_related("user")]
                what = "Month-to-date spend" if basis == BudgetAlert.Basis.ACTUAL else "The month-end forecast"
                notify(users=leads, kind=f"budget.{basis}.{threshold}", team=team,
                       subject=f"{team.name}: {what.lower()} is at {threshold}% of the budget",
                       body=f"{what} for {month:%B %Y} is ${amount:,.2f} against a budget of ${budget:,.2f}.",
                       url=f"/costs/teams/{team.slug}/")
    return sent


def budget_set(*, actor, team: Team, monthly_budget_usd: Decimal) -> Team:
    """Set a team's monthly budget (platform admins). Side effects: the team row and a
    ``budget.set`` audit event. Setting the same amount again changes and records nothing."""
    require(actor, "change", Team)
    try:
        amount = Decimal(str(monthly_budget_usd)).quantize(Decimal("0.01"))
    except ArithmeticError:
        raise DomainError("Enter the budget as an amount in US dollars, e.g. 25000.",
                          fields={"monthly_budget_usd": ["Enter a number."]}) from None
    if amount < 0 or amount >= Decimal("1e10"):
        raise DomainError("The budget must be between 0 and 9,999,999,999.99 US dollars.",
                          fields={"monthly_budget_usd": ["Out of range."]})
    with transaction.atomic():
        team = Team.objects.select_for_update().get(pk=team.pk)
        before = team.monthly_budget_usd
        if before == amount:
            return team
        team.monthly_budget_usd = amount
        team.save(update_fields=["monthly_budget_usd"])
        audit_record(actor=actor, action="budget.set", target=team, team=team,
                     before={"monthly_budget_usd": str(before)}, after={"monthly_budget_usd": str(amount)})
    return team


# --- the weekly digest --------------------------------------------------------------------------------
def digest_subscription_set(*, actor, subscribed: bool) -> bool:
    """Opt the actor in to (or out of) the weekly cost digest. Executives, auditors, platform
    admins and team leads may subscribe. Side effects: the subscription row and an audit event;
    repeating the same choice changes and records nothing."""
    from costs.models import DigestSubscription
    from costs.selectors import can_subscribe_to_digest

    if subscribed and not can_subscribe_to_digest(actor):
        raise DomainError("The weekly cost digest is for executives, auditors, platform admins and team leads.")
    with transaction.atomic():
        existing = DigestSubscription.objects.select_for_update().filter(user=actor).first()
        if bool(existing) == subscribed:
            return subscribed
        if subscribed:
            DigestSubscription.objects.create(user=actor)
        else:
            existing.delete()
        audit_record(actor=actor, action="cost_digest.subscribe" if subscribed else "cost_digest.unsubscribe",
                     target_type="costs.digestsubscription", target_id=str(actor.pk),
                     target_label=actor.get_username(), after={"subscribed": subscribed})
    return subscribed


def cost_digest_send(*, as_of: date | None = None) -> int:
    """E-mail this week's digest (headline figures, teams, top services; a PDF attached) to each
    subscriber, within what they may see. Side effects: one DigestDelivery row and one e-mail per
    subscriber. Once per user and week: a repeat sends nothing; a failed e-mail is retried by the
    next run (its row rolls back with it)."""
    from django.core.mail import EmailMultiAlternatives
    from django.template.loader import render_to_string

    from costs import selectors
    from costs.models import DigestDelivery, DigestSubscription
    from portal.notifications import absolute_url

    as_of = as_of or today()
    week_start = as_of - timedelta(days=as_of.weekday())
    sent = 0
    for subscription in DigestSubscription.objects.select_related("user").order_by("pk"):
        user = subscription.user
        if not user.is_active or not user.email or not selectors.can_subscribe_to_digest(user):
            continue
        with transaction.atomic():
            delivery, created = DigestDelivery.objects.get_or_create(user=user, week_start=week_start)
            if not created:
                continue
            context = selectors.digest_context(user, as_of=as_of)
            context["url"] = absolute_url("/costs/")
            message = EmailMultiAlternatives(
                subject=f"Cost digest, week of {week_start:%d %b %Y}: {context['summary']['month_to_date']:,.0f} USD "
                        f"month to date", body=render_to_string("costs/digest_email.txt", context), to=[user.email])
            pdf = _digest_pdf(context)
            if pdf:
                message.attach(f"cost-digest-{week_start}.pdf", pdf, "application/pdf")
            else:
                DigestDelivery.objects.filter(pk=delivery.pk).update(with_pdf=False)
            message.send()
            sent += 1
    return sent


def _digest_pdf(context) -> bytes | None:
    """The digest as a PDF (WeasyPrint), or None when WeasyPrint cannot run here."""
    from django.template.loader import render_to_string
    try:
        from weasyprint import HTML
    except (ImportError, OSError):
        log.warning("WeasyPrint is not available: the cost digest goes out without its PDF")
        return None
    return HTML(string=render_to_string("costs/digest_pdf.html", context)).write_pdf()
