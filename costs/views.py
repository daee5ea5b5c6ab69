"""Cost pages: executive dashboard, CSV export, team reports, usage report, budgets, sync history. Thin:
selectors read (from the local rollups only — no page calls Cost Explorer), services write."""
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from costs import selectors, services
from costs.forms import BudgetForm, CostFilterForm
from costs.models import CostSyncRun
from portal.errors import DomainError
from portal.models import Team
from portal.permissions import has_perm, require
from portal.views import csv_stream

SORT_KEYS = {"team": "team", "lob": "line_of_business", "amount": "amount", "mtd": "month_to_date",
             "change": "change", "budget": "budget_used_pct", "forecast": "forecast", "anomalies": "anomalies"}


def _sorted(rows, sort: str, direction: str):
    key = SORT_KEYS.get(sort, "amount")
    reverse_order = direction != "asc"
    present = [r for r in rows if r[key] is not None]
    missing = [r for r in rows if r[key] is None]
    return sorted(present, key=lambda r: r[key], reverse=reverse_order) + missing


def _typed(request, f) -> dict:
    """What the user typed (kept on errors), else the dates in effect."""
    return {"start": request.GET.get("start") or f["start"].isoformat(),
            "end": request.GET.get("end") or f["end"].isoformat()}


def _chart(values, labels) -> dict:
    return {"labels": [str(label) for label in labels], "values": [float(value) for value in values]}


@login_required
def dashboard(request):
    scope = selectors.dashboard_scope(request.user)
    form = CostFilterForm(request.GET or None)
    f = form.values()
    metric, start, end = f["metric"], f["start"], f["end_exclusive"]
    rows = selectors.cost_by_team(request.user, metric=metric, start=start, end=end, scope=scope)
    sort, direction = request.GET.get("sort", "amount"), request.GET.get("dir", "desc")
    rows = _sorted(rows, sort, direction)
    summary = selectors.cost_summary(request.user, metric=metric, rows=rows, scope=scope)
    services_rows = selectors.cost_by_service(request.user, metric=metric, start=start, end=end, scope=scope)[:10]
    daily = selectors.cost_daily(request.user, metric=metric, start=start, end=end, scope=scope)
    lines = selectors.cost_by_line_of_business(rows)
    charts = {
        "daily": _chart([d["amount"] for d in daily], [d["day"] for d in daily]),
        "teams": _chart([r["amount"] for r in rows], [r["team"] for r in rows]),
        "services": _chart([s["amount"] for s in services_rows], [s["service"] for s in services_rows]),
        "lines": _chart([line["amount"] for line in lines], [line["line_of_business"] for line in lines]),
    }
    query = request.GET.copy()
    query.pop("sort", None)
    query.pop("dir", None)
    query.pop("page", None)
    page_query = request.GET.copy()
    page_query.pop("page", None)
    return render(request, "costs/dashboard.html", {
        "form": form, "filter": f, "typed": _typed(request, f), "rows": rows,
        "page": Paginator(rows, 25).get_page(request.GET.get("page")), "query": page_query.urlencode(),
        "report_base": reverse("costs:team_index"),
        "link_query": f"metric={metric}&start={f['start']:%Y-%m-%d}&end={f['end']:%Y-%m-%d}", "summary": summary, "services": services_rows, "lines": lines,
        "movers": selectors.biggest_movers(rows), "charts": charts, "sort": sort, "dir": direction,
        "anomalies": selectors.cost_anomalies(request.user, start=start, end=end, scope=scope),
        "base_query": query.urlencode(), "export_query": request.GET.urlencode(),
        "can_see_runs": has_perm(request.user, "view", CostSyncRun)})


def cents(amount) -> Decimal:
    return Decimal(amount).quantize(Decimal("0.01"))


@login_required
def dashboard_csv(request):
    scope = selectors.dashboard_scope(request.user)
    f = CostFilterForm(request.GET or None).values()
    rows = selectors.cost_by_team(request.user, metric=f["metric"], start=f["start"], end=f["end_exclusive"],
                                  scope=scope)
    header = ["team", "line_of_business", "metric", "from", "to", "amount_usd", "month_to_date_usd",
              "same_period_last_month_usd", "change_pct", "monthly_budget_usd", "budget_used_pct",
              "forecast_month_end_usd", "forecast_source", "anomalies"]
    return csv_stream(f'costs-{f["start"]}-{f["end"]}-{f["metric"]}', header, (
        (r["slug"], r["line_of_business"], f["metric"], f["start"], f["end"], cents(r["amount"]),
         cents(r["month_to_date"]), cents(r["previous_period"]), r["change_pct"], cents(r["budget"]),
         r["budget_used_pct"], cents(r["forecast"]), r["forecast_source"], r["anomalies"])
        for r in _sorted(rows, "amount", "desc")))


@login_required
def team_index(request):
    scope = selectors.cost_scope(request.user)
    rows = [r for r in selectors.cost_by_team(request.user, scope=scope) if r["team_id"] is not None]
    return render(request, "costs/team_index.html", {"page": Paginator(rows, 25).get_page(request.GET.get("page"))})


@login_required
def team_report(request, slug):
    team = selectors.team_for_costs(request.user, slug)
    form = CostFilterForm(request.GET or None)
    f = form.values()
    report = selectors.team_report(request.user, team, metric=f["metric"], start=f["start"], end=f["end_exclusive"])
    burn = report["burn"]
    charts = {
        "daily": _chart([d["amount"] for d in report["daily"]], [d["day"] for d in report["daily"]]),
        "services": _chart([s["amount"] for s in report["services"][:10]],
                           [s["service"] for s in report["services"][:10]]),
        "burn": {**_chart([c["amount"] for c in burn["cumulative"]], [c["day"] for c in burn["cumulative"]]),
                 "budget": float(burn["budget"] or 0)},
    }
    return render(request, "costs/team_report.html", {
        "form": form, "filter": f, "typed": _typed(request, f), "report": report, "charts": charts, "team": team,
        "can_edit_budget": has_perm(request.user, "change", Team), "last_sync": selectors.last_sync(),
        "budget_form": BudgetForm(initial={"monthly_budget_usd": team.monthly_budget_usd})})


@login_required
def usage(request):
    """Per team: active users, SageMaker domains, user profiles, MLOps projects, models in
    production and endpoints by instance type (the portal's own data and the last usage sync)."""
    scope = selectors.cost_scope(request.user)
    page = Paginator(scope.teams().order_by("name"), 25).get_page(request.GET.get("page"))
    summary = selectors.usage_summary(request.user, scope=scope)
    chart = {"labels": [e["instance_type"] for e in summary["by_instance_type"]],
             "values": [e["endpoints"] for e in summary["by_instance_type"]]}
    return render(request, "costs/usage.html", {
        "page": page, "rows": selectors.usage_by_team(request.user, page.object_list, scope=scope),
        "summary": summary, "chart": chart})


@login_required
def usage_csv(request):
    scope = selectors.cost_scope(request.user)
    rows = selectors.usage_by_team(request.user, scope.teams().order_by("name"), scope=scope)
    return csv_stream("usage", ["team", "line_of_business", *selectors.USAGE_COUNTS, "instances",
                                "endpoints_by_instance_type"], (
        (r["slug"], r["line_of_business"], *(r[key] for key in selectors.USAGE_COUNTS), r["instances"],
         "; ".join(f'{e["instance_type"]}={e["endpoints"]}' for e in r["by_instance_type"])) for r in rows))


@login_required
@require_http_methods(["GET", "POST"])
def budget_edit(request, slug):
    team = selectors.team_for_costs(request.user, slug)
    require(request.user, "change", Team)
    form = BudgetForm(request.POST or None, initial={"monthly_budget_usd": team.monthly_budget_usd})
    if request.method == "POST" and form.is_valid():
        try:
            services.budget_set(actor=request.user, team=team,
                                monthly_budget_usd=form.cleaned_data["monthly_budget_usd"])
        except DomainError as error:
            form.add_error("monthly_budget_usd", error.message)
        else:
            messages.success(request, f"The monthly budget of {team.name} is now "
                                      f"${Decimal(form.cleaned_data['monthly_budget_usd']):,.2f}.")
            return redirect(reverse("costs:team_report", args=[team.slug]))
    return render(request, "costs/budget_form.html", {"form": form, "team": team})


@login_required
def sync_run_list(request):
    require(request.user, "view", CostSyncRun)
    runs = selectors.sync_runs()
    return render(request, "costs/sync_run_list.html", {"page": Paginator(runs, 50).get_page(request.GET.get("page"))})


@login_required
@require_http_methods(["GET", "POST"])
def digest(request):
    """The weekly digest e-mail: see whether you get it, and opt in or out."""
    from costs.models import DigestSubscription
    if not selectors.can_subscribe_to_digest(request.user):
        raise PermissionDenied("The weekly cost digest is for executives, auditors, platform admins and team leads.")
    if request.method == "POST":
        subscribed = request.POST.get("subscribed") == "1"
        services.digest_subscription_set(actor=request.user, subscribed=subscribed)
        messages.success(request, "You will get the weekly cost digest." if subscribed
                         else "You will no longer get the weekly cost digest.")
        return redirect("costs:digest")
    return render(request, "costs/digest.html", {
        "subscribed": DigestSubscription.objects.filter(user=request.user).exists(),
        "has_email": bool(request.user.email)})
