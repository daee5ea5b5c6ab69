"""Governance pages: the approval queue, the model dashboard, a version's chain, and the
EventBridge endpoint. Thin: forms validate, services write, selectors read."""
import hmac
import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.utils import timezone
from django.views.decorators.http import require_POST

from governance import conf, selectors, services
from governance.forms import DecisionForm, DelegationForm, RollbackForm, VersionFilterForm
from governance.models import ModelGroup, ModelVersion, Stage
from governance.transitions import ORDER, WAITING_FOR, progress_percent
from portal import inbox
from portal import services as portal_services
from portal.errors import DomainError
from portal.models import Team
from portal.permissions import has_perm, require, scope
from portal.views import paginate

STAGE_OF = {state: stage for stage, state in WAITING_FOR.items()}
STAGE_ACTION = {1: "approve_stage1", 2: "approve_stage2", 3: "signoff"}


@login_required
def approval_queue(request):
    """What waits for this user's decision, oldest first, with the context to decide."""
    require(request.user, "view", ModelVersion)
    return _render_queue(request)


def _render_queue(request, *, delegation_form=None, status=200):
    queue = selectors.approval_queue_for_user(request.user)
    page = paginate(request, queue, per_page=25)
    return render(request, "governance/approval_queue.html", {
        "page": page, "rows": selectors.with_context(page.object_list), "decision_form": DecisionForm(),
        "delegation_form": delegation_form or DelegationForm(), "delegations": selectors.delegations_of(request.user)[:20],
        "can_delegate": bool(inbox.kinds_for(request.user)), "now": timezone.now()}, status=status)


@login_required
@require_POST
def delegation_create(request):
    """Delegate one's model decisions to a named colleague while away."""
    require(request.user, "view", ModelVersion)
    form = DelegationForm(request.POST)
    if form.is_valid():
        try:
            delegation = portal_services.delegation_create(
                actor=request.user, delegate=form.cleaned_data["delegate"], ends_at=form.ends_at(),
                starts_at=form.starts_at(), reason=form.cleaned_data["reason"])
        except DomainError as error:
            for field, errors in error.fields.items():
                field = {"ends_at": "ends_on", "starts_at": "starts_on"}.get(field, field)
                form.add_error(field if field in form.fields else None, errors)
            if not error.fields:
                form.add_error(None, error.message)
        else:
            messages.success(request, f"{delegation.delegate} takes your decisions until "
                                      f"{delegation.ends_at:%Y-%m-%d %H:%M}.")
            return redirect("governance:approval_queue")
    return _render_queue(request, delegation_form=form, status=400)


@login_required
@require_POST
def delegation_revoke(request, pk):
    delegation = get_object_or_404(selectors.delegations_of(request.user), pk=pk)
    portal_services.delegation_revoke(actor=request.user, delegation=delegation)
    messages.success(request, f"The delegation to {delegation.delegate} has ended.")
    return redirect("governance:approval_queue")


@login_required
def model_list(request):
    """Every model version the user may see, across teams, with filters."""
    require(request.user, "view", ModelVersion)
    teams = scope(request.user, Team.objects.order_by("name"), "view")
    form = VersionFilterForm(request.GET or None, teams=teams)
    filters = form.cleaned_data if form.is_valid() else {}
    versions = selectors.with_endpoints(
        selectors.version_list_for_user(request.user, **{k: v for k, v in filters.items() if v}))
    page = paginate(request, versions)
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "governance/model_list.html", {
        "form": form, "page": page, "rows": selectors.with_context(page.object_list), "query": query.urlencode(),
        "can_sync": has_perm(request.user, "sync", ModelGroup)})


@login_required
@require_POST
def registry_sync(request):
    services.registry_sync_request(actor=request.user)
    messages.success(request, "The registry sync has started; refresh in a minute to see new versions.")
    return redirect("governance:model_list")


def _actions_for(user, version: ModelVersion) -> dict:
    stage = STAGE_OF.get(version.stage) if not version.promoted_from_id else None
    return {
        "decide_stage": stage if stage and (has_perm(user, STAGE_ACTION[stage], ModelVersion, version.team_id)
                                            or selectors.delegator_for(user, STAGE_ACTION[stage], version)) else None,
        "can_promote": version.stage == Stage.DEV_APPROVED and not version.promoted_from_id
        and has_perm(user, "promote", ModelVersion, version.team_id),
        "can_deploy": version.stage in (Stage.CENTRAL_APPROVED, Stage.PROD_APPROVED)
        and has_perm(user, "deploy", ModelVersion, version.team_id),
        "can_rollback": version.stage == Stage.IN_PROD and has_perm(user, "rollback", ModelVersion, version.team_id),
    }


def _render_detail(request, version, *, decision_form=None, rollback_form=None, status=200):
    prod = selectors.prod_versions_by_group([version.group_id]).get(version.group_id)
    return render(request, "governance/version_detail.html", {
        "version": version, "metrics": selectors.metric_rows(version, prod if prod and prod.pk != version.pk else None),
        "prod": prod, "card_status": selectors.model_card_status(version), "chain": ORDER,
        "progress": progress_percent(version.stage), "deployments": selectors.current_deployments(version),
        "rollback_target": selectors.previous_prod_version(version) if version.stage == Stage.IN_PROD else None,
        "decision_form": decision_form or DecisionForm(), "rollback_form": rollback_form or RollbackForm(),
        "is_registrant": version.registered_by_id == request.user.pk, **_actions_for(request.user, version),
    }, status=status)


@login_required
def version_detail(request, pk):
    return _render_detail(request, selectors.version_detail_for_user(request.user, pk))


@login_required
@require_POST
def version_decide(request, pk):
    """Approve or reject the stage the version waits for (sign-off at stage 3)."""
    version = selectors.version_detail_for_user(request.user, pk)
    stage = STAGE_OF.get(version.stage)
    if stage is None:
        messages.error(request, f"This version is {version.get_stage_display().lower()}; nothing waits for a decision.")
        return redirect("governance:version_detail", pk=pk)
    if not (has_perm(request.user, STAGE_ACTION[stage], ModelVersion, version.team_id)
            or selectors.delegator_for(request.user, STAGE_ACTION[stage], version)):
        raise PermissionDenied("You may not decide this stage of the version.")
    form = DecisionForm(request.POST)
    if form.is_valid():
        try:
            decision = services.model_version_decide(actor=request.user, version=version,
                                                     outcome=form.cleaned_data["outcome"],
                                                     comment=form.cleaned_data["comment"])
        except DomainError as error:
            if error.fields:
                for field, errors in error.fields.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.error(request, error.message)
                return redirect("governance:version_detail", pk=pk)
        else:
            messages.success(request, f"{version}: {decision.get_stage_display()} — "
                                      f"{decision.get_outcome_display().lower()}.")
            return redirect(request.POST.get("next") if request.POST.get("next") == "/approvals/models/"
                            else f"/models/versions/{pk}/")
    return _render_detail(request, version, decision_form=form, status=400)


@login_required
@require_POST
def version_rollback(request, pk):
    version = selectors.version_detail_for_user(request.user, pk)
    require(request.user, "rollback", ModelVersion, version.team_id)
    form = RollbackForm(request.POST)
    if not form.is_valid():
        return _render_detail(request, version, rollback_form=form, status=400)
    try:
        previous = services.model_version_rollback(actor=request.user, version=version,
                                                   comment=form.cleaned_data["comment"])
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("governance:version_detail", pk=pk)
    messages.success(request, f"Rolling production back to {previous}.")
    return redirect("governance:version_detail", pk=previous.pk)


@login_required
@require_POST
def version_continue(request, pk):
    """Retry the chain's next background step: the copy to central, or the deployment."""
    version = selectors.version_detail_for_user(request.user, pk)
    try:
        if version.stage == Stage.DEV_APPROVED:
            services.model_version_promote(actor=request.user, version=version)
            messages.success(request, f"{version} is being copied to the central registry.")
        else:
            if not has_perm(request.user, "deploy", ModelVersion, version.team_id):
                raise PermissionDenied("You may not deploy this team's models.")
            services.model_version_deploy(actor=request.user, version=version)
            messages.success(request, f"{version} is deploying.")
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("governance:version_detail", pk=pk)


@csrf_exempt
@require_POST
def sagemaker_event(request):
    """EventBridge (API destination) "SageMaker Model Package State Change" events, authenticated
    by the shared secret in X-Portal-Event-Secret. Applied at once; repeats change nothing."""
    secret = conf.event_secret()
    given = request.headers.get(conf.EVENT_HEADER, "")
    if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
        return JsonResponse({"error": {"code": "permission_denied", "message":
                                       "Send the shared secret in the X-Portal-Event-Secret header."}}, status=403)
    try:
        event = json.loads(request.body or b"{}")
    except ValueError:
        return JsonResponse({"error": {"code": "parse_error", "message": "The body is not JSON."}}, status=400)
    if not isinstance(event, dict):
        return JsonResponse({"error": {"code": "parse_error", "message": "Send one event object."}}, status=400)
    try:
        outcome = services.registry_event_apply(event=event)
    except DomainError as error:
        return JsonResponse({"error": {"code": error.code, "message": error.message}}, status=400)
    return JsonResponse({"status": outcome})


