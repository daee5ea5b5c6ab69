"""Account vending pages: request form, requests list, detail with live progress, decisions,
OU tree and brownfield import. Thin: forms validate, services write, selectors read."""
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from portal.errors import DomainError
from portal.permissions import has_perm, is_platform_admin, require
from portal.forms import show_domain_error
from portal.views import csv_stream, paginate
from provisioning.accounts import selectors, services
from provisioning.accounts.aws import AwsErrors
from provisioning.accounts.forms import AccountRequestForm, DecisionForm, ImportForm
from provisioning.accounts.models import AWAITING_DECISION, AccountRequest, AccountState
from provisioning.accounts.transitions import allowed_actions


def _list_filters(request) -> dict:
    return {"mine": request.GET.get("scope") == "mine", "state": request.GET.get("state", "")[:30],
            "team": request.GET.get("team", "")[:40]}


def _filtered(request, filters: dict):
    return selectors.request_list_for_user(request.user, mine=filters["mine"], state=filters["state"],
                                           team_slug=filters["team"])


@login_required
def request_list(request):
    require(request.user, "view", AccountRequest)
    filters = _list_filters(request)
    query = urlencode([(k, v) for k, v in (("scope", "mine" if filters["mine"] else ""), ("state", filters["state"]),
                                           ("team", filters["team"])) if v])
    return render(request, "account_vending/request_list.html", {
        "page": paginate(request, _filtered(request, filters), 25), "filters": filters,
        "states": AccountState.choices, "query": query, "may_request": has_perm(request.user, "add", AccountRequest)})


CSV_COLUMNS = ["id", "created_at", "state", "team", "requester", "environment", "account_name", "email", "ou_path",
               "monthly_budget_usd", "approvals_required", "first_approved_by", "decided_by", "decided_at",
               "account_id", "failure_reason", "error_message", "purpose"]


@login_required
def request_export(request):
    """The list's rows under the same filters and scope, as CSV streamed in chunks."""
    require(request.user, "view", AccountRequest)
    items = _filtered(request, _list_filters(request)).select_related("decided_by")

    def rows():
        for item in items.iterator(chunk_size=500):
            first = item.first_approval
            yield (item.pk, item.created_at.isoformat(), item.state, item.team.slug, item.requester.get_username(),
                   item.environment, item.account_name, item.email, item.ou_path, item.monthly_budget_usd,
                   item.approvals_required, first.decided_by.get_username() if first and first.decided_by else "",
                   item.decided_by.get_username() if item.decided_by else "",
                   item.decided_at.isoformat() if item.decided_at else "", item.account_id, item.failure_reason,
                   item.error_message, item.purpose)
    return csv_stream("account-requests", CSV_COLUMNS, rows())


@login_required
def request_create(request):
    require(request.user, "add", AccountRequest)
    teams = selectors.teams_user_may_request_for(request.user)
    ous = services.allowed_ous() if is_platform_admin(request.user) else None
    form = AccountRequestForm(request.POST or None, teams=teams, ous=ous)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            item = services.account_request_create(
                actor=request.user, team=data["team"], environment=data["environment"], purpose=data["purpose"],
                account_name=data["account_name"], email=data["email"], sso_first_name=data["sso_first_name"],
                sso_last_name=data["sso_last_name"], sso_email=data["sso_email"],
                monthly_budget_usd=data["monthly_budget_usd"], lease_end=data["lease_end"],
                ou_path=data.get("ou_path") or "")
        except DomainError as error:
            show_domain_error(form, error)
        else:
            messages.success(request, f"Account request {item.account_name} sent to the platform admins for approval.")
            return redirect("account_vending:request_detail", pk=item.pk)
    return render(request, "account_vending/request_form.html", {
        "form": form, "second_approval_above": services.second_approval_threshold()})


def _detail_context(request, item) -> dict:
    actions = allowed_actions(item.state)
    approvals = list(item.approvals.all())
    may_decide = has_perm(request.user, "approve", AccountRequest, item.team_id) and item.requester_id != request.user.pk
    already_approved = item.state in AWAITING_DECISION and any(
        a.decided_by_id == request.user.pk and a.decision == "approve" for a in approvals)
    return {"item": item, "steps": list(item.steps.all()), "live": item.live,
            "position": services.queue_position(item), "approvals": approvals,
            "baseline": list(item.baseline_products.all()),
            "threshold": services.second_approval_threshold(), "already_approved": already_approved,
            "undecidable": services.undecidable_reason(item),
            "may_approve": may_decide and bool({"approve", "approve_close"} & actions) and not already_approved,
            "may_reject": may_decide and bool({"reject", "reject_close"} & actions),
            "may_close": "request_close" in actions and has_perm(request.user, "change", AccountRequest, item.team_id),
            "may_retry": has_perm(request.user, "approve", AccountRequest, item.team_id) and "retry" in actions,
            "may_cancel": "cancel" in actions and (item.requester_id == request.user.pk
                                                   or has_perm(request.user, "change", AccountRequest, item.team_id)),
            "decision_form": DecisionForm()}


@login_required
def request_detail(request, pk):
    item = selectors.request_for_user(request.user, pk)
    return render(request, "account_vending/request_detail.html", _detail_context(request, item))


@login_required
def request_progress(request, pk):
    item = selectors.request_for_user(request.user, pk)
    return render(request, "account_vending/_progress.html", _detail_context(request, item))


_ACTIONS = {"approve": services.account_request_approve, "reject": services.account_request_reject,
            "cancel": services.account_request_cancel, "retry": services.account_request_retry,
            "close": services.account_close_request}


@login_required
@require_POST
def request_action(request, pk, action):
    if action not in _ACTIONS:
        raise Http404("No such action.")
    item = selectors.request_for_user(request.user, pk)
    form = DecisionForm(request.POST)
    form.is_valid()
    kwargs = {"comment": form.cleaned_data.get("comment", "")} if action in ("approve", "reject") else {}
    if action == "close":
        kwargs = {"reason": request.POST.get("reason", "")[:2000]}
    try:
        item = _ACTIONS[action](actor=request.user, request=item, **kwargs)
    except DomainError as error:
        messages.error(request, " ".join([error.message] + [m for ms in error.fields.values() for m in ms]))
    else:
        messages.success(request, f"{item.account_name}: {item.get_state_display().lower()}.")
    return redirect("account_vending:request_detail", pk=item.pk)


@login_required
def ou_tree(request):
    require(request.user, "view_org", AccountRequest)
    try:
        tree, error = selectors.org_tree(request), ""
    except AwsErrors as exc:
        tree, error = [], f"AWS Organizations did not answer ({exc}); try again in a minute."
    return render(request, "account_vending/ou_tree.html", {
        "tree": tree, "error": error, "may_import": has_perm(request.user, "import", AccountRequest),
        "ou_paths": [node["path"] for node in tree if node["path"]]})


@login_required
@require_POST
def account_move(request):
    require(request.user, "import", AccountRequest)
    try:
        account = services.account_move(actor=request.user, account_id=request.POST.get("account_id", "")[:12],
                                        ou_path=request.POST.get("ou_path", "")[:300])
    except DomainError as error:
        messages.error(request, " ".join([error.message] + [m for ms in error.fields.values() for m in ms]))
    except AwsErrors as error:
        messages.error(request, f"AWS Organizations refused the move ({error}); nothing changed.")
    else:
        messages.success(request, f"{account.name} is now in {account.ou_path}.")
    return redirect("account_vending:ou_tree")


@login_required
def account_import(request):
    require(request.user, "import", AccountRequest)
    try:
        candidates, error = selectors.importable_accounts(request), ""
    except AwsErrors as exc:
        candidates, error = [], f"AWS Organizations did not answer ({exc}); try again in a minute."
    form = ImportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        chosen = next((c for c in candidates if c["id"] == data["account_id"]), None)
        if chosen is None:
            form.add_error("account_id", "This account is not in the organization or is already in the inventory.")
        else:
            try:
                services.account_import(actor=request.user, account_id=chosen["id"], name=chosen["name"],
                                        email=chosen["email"], ou_path=chosen["ou_path"], team=data["team"],
                                        environment=data["environment"])
            except DomainError as error:
                show_domain_error(form, error)
            else:
                messages.success(request, f"{chosen['name']} ({chosen['id']}) is now in the inventory.")
                return redirect("account_vending:account_import")
    return render(request, "account_vending/import.html", {"candidates": candidates, "form": form, "error": error})
