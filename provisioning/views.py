"""Provisioning pages: catalog, product policy, request form, requests with live progress,
approvals, update/terminate, inventory. Thin: forms validate, services write, selectors read."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from portal.errors import DomainError
from portal.permissions import has_perm, require
from portal.forms import show_domain_error
from portal.views import csv_stream, paginate
from provisioning import selectors, services
from provisioning.forms import (
    FIXED_FIELDS, DecisionForm, PresetForm, ProductPolicyForm, RequestForm, TerminateForm, UpdateForm,
)
from provisioning.models import (
    IN_FLIGHT_STATES, CatalogProduct, ParameterPreset, ProvisionedProduct, ProvisioningRequest, ReconcileRun,
    RequestState,
)
from provisioning.policies import presets_for
from provisioning.tasks import catalog_sync as catalog_sync_task
from provisioning.transitions import allowed_actions


def _place_errors(form, error: DomainError) -> None:
    """A service's errors on the form's fields (parameter keys are field names)."""
    fields = {("__all__" if key in ("__all__", "parameters") else key): value for key, value in error.fields.items()}
    placed = False
    for field, field_errors in fields.items():
        if field in form.fields:
            for message in field_errors:
                form.add_error(field, message)
            placed = True
        elif field == "__all__":
            for message in field_errors:
                form.add_error(None, message)
            placed = True
    if not placed:
        form.add_error(None, error.message)


# --- Catalog ---------------------------------------------------------------------------------
@login_required
def catalog_list(request):
    require(request.user, "view", CatalogProduct)
    q = request.GET.get("q", "").strip()[:100]
    products = selectors.catalog_for_user(request.user, q=q)
    return render(request, "provisioning/catalog_list.html", {
        "page": paginate(request, products, 24), "q": q, "query": f"q={q}" if q else "",
        "can_sync": has_perm(request.user, "sync", CatalogProduct)})


@login_required
@require_POST
def catalog_sync(request):
    require(request.user, "sync", CatalogProduct)
    catalog_sync_task.delay()
    messages.success(request, "Catalog sync started; refresh in a few seconds to see the result.")
    return redirect("provisioning:catalog_list")


@login_required
def catalog_detail(request, product_id):
    require(request.user, "view", CatalogProduct)
    product = selectors.catalog_product_for_user(request.user, product_id)
    accounts = [a for a in selectors.request_accounts_for_user(request.user)
                if services.product_allows(product, request.user, a.team)]
    return render(request, "provisioning/catalog_detail.html", {
        "product": product, "versions": list(product.versions.all()), "accounts": accounts,
        "can_edit": has_perm(request.user, "change", CatalogProduct)})


@login_required
def catalog_policy(request, product_id):
    require(request.user, "change", CatalogProduct)
    product = selectors.catalog_product_for_user(request.user, product_id)
    form = ProductPolicyForm(request.POST or None, instance=product, prefix="policy")
    keys = sorted({p["ParameterKey"] for v in product.versions.all() for p in v.parameters})
    preset_form = PresetForm(keys=keys, prefix="preset")
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.catalog_policy_update(
                actor=request.user, product=product, enabled=data["enabled"], allowed_teams=list(data["allowed_teams"]),
                allowed_roles=list(data["allowed_roles"]), requires_approval=data["requires_approval"],
                hourly_price_usd=data["hourly_price_usd"], lifetime_days=data["lifetime_days"])
        except DomainError as error:
            show_domain_error(form, error)
        else:
            messages.success(request, f"Policy of {product.name} saved.")
            return redirect("provisioning:catalog_policy", product_id=product.product_id)
    return render(request, "provisioning/catalog_policy.html", {
        "product": product, "form": form, "preset_form": preset_form,
        "presets": product.presets.select_related("team", "account").order_by("key", "mode")})


@login_required
@require_POST
def preset_add(request, product_id):
    require(request.user, "change", ParameterPreset)
    product = selectors.catalog_product_for_user(request.user, product_id)
    keys = sorted({p["ParameterKey"] for v in product.versions.all() for p in v.parameters})
    preset_form = PresetForm(request.POST, keys=keys, prefix="preset")
    if preset_form.is_valid():
        try:
            services.preset_set(actor=request.user, product=product, **preset_form.cleaned_data)
        except DomainError as error:
            show_domain_error(preset_form, error)
        else:
            messages.success(request, "Preset saved.")
            return redirect("provisioning:catalog_policy", product_id=product.product_id)
    return render(request, "provisioning/catalog_policy.html", {
        "product": product, "form": ProductPolicyForm(instance=product, prefix="policy"), "preset_form": preset_form,
        "presets": product.presets.select_related("team", "account").order_by("key", "mode")}, status=400)


@login_required
@require_POST
def preset_delete(request, product_id, preset_id):
    require(request.user, "change", ParameterPreset)
    product = selectors.catalog_product_for_user(request.user, product_id)
    preset = get_object_or_404(ParameterPreset.objects.filter(product=product), pk=preset_id)
    services.preset_delete(actor=request.user, preset=preset)
    messages.success(request, "Preset removed.")
    return redirect("provisioning:catalog_policy", product_id=product.product_id)


# --- Request form --------------------------------------------------------------------------------
@login_required
def request_create(request, product_id):
    require(request.user, "add", ProvisioningRequest)
    product = selectors.catalog_product_for_user(request.user, product_id)
    accounts = [a for a in selectors.request_accounts_for_user(request.user)
                if services.product_allows(product, request.user, a.team)]
    if not accounts:
        raise PermissionDenied(f"None of your teams may request {product.name}.")
    account_id = request.POST.get("account") or request.GET.get("account")
    account = next((a for a in accounts if a.account_id == account_id), None)
    if account is None:
        return render(request, "provisioning/request_account.html", {"product": product, "accounts": accounts})
    versions = [v for v in product.versions.all() if v.in_catalog]
    wanted = request.POST.get("version") or request.GET.get("version")
    version = next((v for v in versions if v.artifact_id == wanted), None) or next(
        (v for v in versions if not v.deprecated), None)
    presets = presets_for(product, account)
    version_switch = request.method == "POST" and request.POST.get("action") == "reload"
    form = RequestForm(request.POST if request.method == "POST" and not version_switch else None,
                       initial=({k: v for k, v in request.POST.items() if k in FIXED_FIELDS} if version_switch else None),
                       product=product, versions=versions, version=version, presets=presets)
    if request.method == "POST" and not version_switch and form.is_valid():
        try:
            created = services.request_create(
                actor=request.user, product=product, account=account, version=version,
                name=form.cleaned_data["name"], project=form.cleaned_data["project"],
                parameters=form.parameter_values())
        except DomainError as error:
            _place_errors(form, error)
        else:
            messages.success(request, f"Request for {created.name} submitted.")
            return redirect("provisioning:request_detail", pk=created.pk)
    return render(request, "provisioning/request_form.html", {
        "product": product, "account": account, "form": form, "version": version,
        "hidden_parameters": form.hidden_parameters, "estimate": product.monthly_estimate_usd,
        "budget_warning": services.budget_warning(account.team, product.monthly_estimate_usd)},
        status=400 if request.method == "POST" and form.errors else 200)


# --- Requests ------------------------------------------------------------------------------------
CSV_COLUMNS = ["id", "created_at", "state", "team", "requester", "product", "version", "account", "name",
               "project", "estimated_monthly_usd", "provisioned_product_id", "error_message"]


def _list_filters(request) -> dict:
    state = request.GET.get("state", "")
    return {"mine": request.GET.get("scope") == "mine", "state": state if state in RequestState.values else "",
            "team": request.GET.get("team", "")[:40], "product": request.GET.get("product", "")[:50]}


@login_required
def request_list(request):
    require(request.user, "view", ProvisioningRequest)
    filters = _list_filters(request)
    requests = selectors.requests_for_user(request.user, **filters)
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "provisioning/request_list.html", {
        "page": paginate(request, requests), "filters": filters, "states": RequestState.choices,
        "teams": selectors.teams_for_filter(request.user), "query": query.urlencode()})


@login_required
def request_export(request):
    require(request.user, "view", ProvisioningRequest)
    requests = selectors.requests_for_user(request.user, **_list_filters(request))
    return csv_stream("requests", CSV_COLUMNS, (
        (item.pk, item.created_at.isoformat(), item.state, item.team.slug, item.requester.get_username(),
         item.product.name, item.version.name, item.account.account_id, item.name, item.project,
         item.estimated_monthly_usd, item.provisioned_product_id, item.error_message)
        for item in requests.iterator(chunk_size=500)))


def _request_visible(request, pk):
    """The request if the user may see it: 403 when their role sees no requests at all, 404 for
    another team's request."""
    require(request.user, "view", ProvisioningRequest)
    return selectors.request_for_user(request.user, pk)


def _detail_context(request, item) -> dict:
    actions = allowed_actions(item.state)
    operate = services.may_operate(request.user, item)
    return {
        "item": item, "steps": selectors.steps_of(item), "may_approve": services.may_approve(request.user, item),
        "may_cancel": operate and "cancel" in actions,
        "may_retry": operate and any(a.startswith("retry") for a in actions),
        "may_update": operate and "update" in actions,
        "may_terminate": operate and "terminate" in actions and bool(item.provisioned_product_id),
        "decision_form": DecisionForm(), "undecidable": services.undecidable_reason(item),
        "live": item.state in (RequestState.SUBMITTED, RequestState.PENDING_APPROVAL, *IN_FLIGHT_STATES),
    }


@login_required
def request_detail(request, pk):
    item = _request_visible(request, pk)
    return render(request, "provisioning/request_detail.html", _detail_context(request, item))


@login_required
def request_progress(request, pk):
    """The live part of the request page (htmx polls it every few seconds while work is under way)."""
    item = _request_visible(request, pk)
    context = _detail_context(request, item)
    # 286 tells htmx to stop polling once nothing more will happen without someone acting.
    return render(request, "provisioning/_request_progress.html", context, status=200 if context["live"] else 286)


ACTIONS = {"approve", "reject", "cancel", "retry", "submit"}


@login_required
@require_POST
def request_action(request, pk, action):
    if action not in ACTIONS:
        raise Http404("Unknown action.")
    item = _request_visible(request, pk)
    form = DecisionForm(request.POST)
    comment = form.cleaned_data["comment"] if form.is_valid() else ""
    try:
        if action == "approve":
            services.request_approve(actor=request.user, request=item, comment=comment)
            messages.success(request, "Approved. Provisioning starts now.")
        elif action == "reject":
            services.request_reject(actor=request.user, request=item, comment=comment)
            messages.success(request, "Rejected; the requester was told why.")
        elif action == "cancel":
            services.request_cancel(actor=request.user, request=item)
            messages.success(request, "Request cancelled.")
        elif action == "retry":
            services.request_retry(actor=request.user, request=item)
            messages.success(request, "Retrying.")
        else:
            services.request_submit(actor=request.user, request=item)
            messages.success(request, "Request submitted.")
    except DomainError as error:
        messages.error(request, error.message)
        status = 409 if error.status == 409 else 400
        context = _detail_context(request, selectors.request_for_user(request.user, pk))
        if action == "reject":
            context["decision_form"] = form
            for message in error.fields.get("comment", [error.message]):
                form.add_error("comment", message)
        return render(request, "provisioning/request_detail.html", context, status=status)
    return redirect("provisioning:request_detail", pk=item.pk)


@login_required
def request_update(request, pk):
    item = _request_visible(request, pk)
    if not services.may_operate(request.user, item):
        raise PermissionDenied("Only the requester, a team lead or a platform admin may update this product.")
    presets = presets_for(item.product, item.account)
    form = UpdateForm(request.POST or None, parameters=item.version.parameters, presets=presets,
                      current=item.parameters)
    preview = None
    if request.method == "POST" and form.is_valid():
        try:
            if request.POST.get("action") == "confirm":
                services.request_update(actor=request.user, request=item, parameters=form.parameter_values())
                messages.success(request, "Update started.")
                return redirect("provisioning:request_detail", pk=item.pk)
            preview = services.request_update_preview(actor=request.user, request=item,
                                                      parameters=form.parameter_values())
        except DomainError as error:
            _place_errors(form, error)
    status = 400 if request.method == "POST" and form.errors else 200
    return render(request, "provisioning/request_update.html", {
        "item": item, "form": form, "preview": preview, "hidden_parameters": form.hidden_parameters}, status=status)


@login_required
def request_terminate(request, pk):
    item = _request_visible(request, pk)
    if not services.may_operate(request.user, item):
        raise PermissionDenied("Only the requester, a team lead or a platform admin may terminate this product.")
    form = TerminateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.request_terminate(actor=request.user, request=item, confirm_name=form.cleaned_data["confirm_name"])
        except DomainError as error:
            _place_errors(form, error)
        else:
            messages.success(request, f"Terminating {item.name}.")
            return redirect("provisioning:request_detail", pk=item.pk)
    status = 400 if request.method == "POST" and form.errors else 200
    return render(request, "provisioning/request_terminate.html", {"item": item, "form": form}, status=status)


# --- Inventory -----------------------------------------------------------------------------------
@login_required
def inventory_list(request):
    require(request.user, "view", ProvisionedProduct)
    team = request.GET.get("team", "")[:40]
    drift = request.GET.get("drift", "")
    drift = drift if drift in ProvisionedProduct.Drift.values else ""
    include_terminated = request.GET.get("terminated") == "1"
    items = selectors.inventory_for_user(request.user, team=team, drift=drift, include_terminated=include_terminated)
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "provisioning/inventory_list.html", {
        "page": paginate(request, items), "teams": selectors.teams_for_filter(request.user), "team": team,
        "drift": drift, "drifts": ProvisionedProduct.Drift.choices, "include_terminated": include_terminated,
        "query": query.urlencode(),
        "last_run": ReconcileRun.objects.first() if has_perm(request.user, "view", ReconcileRun) else None})

