"""Core pages: home, teams, users and roles, audit log, API tokens, health. Thin: forms validate,
services write, selectors read."""
import csv
import json
from decimal import Decimal
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest, PermissionDenied
from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpResponseServerError, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template import loader
from django.templatetags.static import static
from django.utils import timezone
from django.views import defaults
from django.views.decorators.http import require_http_methods, require_POST

from portal import aws, crypto, selectors, services, webhooks
from portal.errors import DomainError
from portal.forms import (AuditFilterForm, DeliveryFilterForm, MemberForm, RoleGrantForm, TeamForm, TokenCreateForm,
                          UserCreateForm, WebhookForm, show_domain_error)
from portal.models import AuditEvent, Membership, RoleAssignment, Team, TeamWebhook, WorkerHeartbeat
from portal.notifications import notification_mark_read
from portal.permissions import has_perm, is_platform_admin, require


def paginate(request, queryset, per_page: int = 50):
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


@login_required
def home(request):
    return render(request, "portal/home.html", {"summary": selectors.home_summary(request.user)})


# --- Teams --------------------------------------------------------------------------------------
@login_required
def team_list(request):
    require(request.user, "view", Team)
    teams = selectors.team_list_for_user(request.user).order_by("name")
    return render(request, "portal/team_list.html", {
        "page": paginate(request, teams), "can_add": has_perm(request.user, "add", Team)})


@login_required
def team_create(request):
    require(request.user, "add", Team)
    form = TeamForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            team = services.team_create(actor=request.user, **form.cleaned_data)
        except DomainError as error:
            show_domain_error(form, error)
        else:
            messages.success(request, f"Team {team.name} created.")
            return redirect("portal:team_detail", slug=team.slug)
    return render(request, "portal/team_form.html", {"form": form, "title": "New team"})


@login_required
def team_detail(request, slug):
    team = selectors.team_detail_for_user(request.user, slug)
    can_manage = has_perm(request.user, "change", Team)
    return render(request, "portal/team_detail.html", {
        "team": team, "can_manage": can_manage, "member_form": MemberForm() if can_manage else None,
        "can_view_webhooks": has_perm(request.user, "view", TeamWebhook, team.pk)})


@login_required
def team_edit(request, slug):
    team = selectors.team_detail_for_user(request.user, slug)
    require(request.user, "change", Team)
    form = TeamForm(request.POST or None, instance=team)
    if request.method == "POST" and form.is_valid():
        changes = {k: v for k, v in form.cleaned_data.items() if k != "slug"}
        try:
            services.team_update(actor=request.user, team=team, **changes)
        except DomainError as error:
            show_domain_error(form, error)
        else:
            messages.success(request, f"Team {team.name} saved.")
            return redirect("portal:team_detail", slug=team.slug)
    return render(request, "portal/team_form.html", {"form": form, "title": f"Edit {team.name}", "team": team})


@login_required
@require_POST
def member_add(request, slug):
    team = selectors.team_detail_for_user(request.user, slug)
    require(request.user, "add", Membership)
    form = MemberForm(request.POST)
    if form.is_valid():
        services.membership_set(actor=request.user, team=team, user=form.cleaned_data["user"],
                                role=form.cleaned_data["role"])
        messages.success(request, f"{form.cleaned_data['username']} is now a member of {team.name}.")
        return redirect("portal:team_detail", slug=team.slug)
    return render(request, "portal/team_detail.html", {"team": team, "can_manage": True, "member_form": form},
                  status=400)


@login_required
@require_POST
def member_remove(request, slug, membership_id):
    require(request.user, "delete", Membership)
    team = selectors.team_detail_for_user(request.user, slug)
    membership = get_object_or_404(Membership.objects.filter(team=team).select_related("user"), pk=membership_id)
    services.membership_remove(actor=request.user, membership=membership)
    messages.success(request, f"{membership.user.username} was removed from {team.name}.")
    return redirect("portal:team_detail", slug=team.slug)


# --- Users and global roles -----------------------------------------------------------------------
@login_required
def user_list(request):
    require(request.user, "view", RoleAssignment)
    form = UserCreateForm(request.POST or None)
    if request.method == "POST":
        require(request.user, "add", RoleAssignment)
        if form.is_valid():
            try:
                user = services.user_create(actor=request.user, **form.cleaned_data)
            except DomainError as error:
                show_domain_error(form, error)
            else:
                messages.success(request, f"User {user.username} created. They set a password through "
                                          "'Forgot password' or sign in with SSO.")
                return redirect("portal:user_list")
    return render(request, "portal/user_list.html", {
        "page": paginate(request, selectors.user_list_with_roles()), "form": form,
        "grant_form": RoleGrantForm(), "can_manage": has_perm(request.user, "add", RoleAssignment)})


@login_required
@require_POST
def role_grant(request, user_id):
    require(request.user, "add", RoleAssignment)
    user = get_object_or_404(get_user_model(), pk=user_id)
    form = RoleGrantForm(request.POST)
    if form.is_valid():
        services.role_grant(actor=request.user, user=user, **form.cleaned_data)
        messages.success(request, f"{user.username} is now {dict(form.fields['role'].choices)[form.cleaned_data['role']]}.")
    else:
        messages.error(request, "Choose a role to grant.")
    return redirect("portal:user_list")


@login_required
@require_POST
def role_revoke(request, assignment_id):
    require(request.user, "delete", RoleAssignment)
    assignment = get_object_or_404(RoleAssignment.objects.select_related("user"), pk=assignment_id)
    try:
        services.role_revoke(actor=request.user, assignment=assignment)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Role {assignment.get_role_display()} revoked from {assignment.user.username}.")
    return redirect("portal:user_list")


# --- Audit log -----------------------------------------------------------------------------------
AUDIT_CSV_COLUMNS = ["seq", "occurred_at", "actor_label", "action", "target_type", "target_id", "target_label",
                     "team", "ip_address", "request_id", "before", "after", "hash"]


class _Echo:
    def write(self, value):
        return value


def csv_cell(value) -> str:
    """A CSV cell a spreadsheet will not run: JSON for structures, a quote before formula starts.
    Numbers stay numbers (a negative amount is not a formula)."""
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, (dict, list)):
        value = json.dumps(value, sort_keys=True)
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_stream(name: str, header: list[str], rows) -> StreamingHttpResponse:
    """A CSV download ``<name>-<timestamp>.csv`` streamed row by row (``rows`` yields value
    sequences; each cell goes through ``csv_cell``), so a large export never sits in memory."""
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow([csv_cell(value) for value in row])
    response = StreamingHttpResponse(lines(), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{name}-{timezone.now():%Y%m%d-%H%M%S}.csv"'
    return response


@login_required
def audit_list(request):
    require(request.user, "view", AuditEvent)
    form = AuditFilterForm(request.GET or None, teams=selectors.team_list_for_user(request.user))
    filters = form.filters() if form.is_valid() else {}
    events = selectors.audit_events_for_user(request.user, **filters)
    if request.GET.get("format") == "csv":
        return csv_stream("audit", AUDIT_CSV_COLUMNS, (
            (event.seq, event.occurred_at.isoformat(), event.actor_label, event.action, event.target_type,
             event.target_id, event.target_label, event.team.slug if event.team else "", event.ip_address,
             event.request_id, event.before, event.after, event.hash)
            for event in events.iterator(chunk_size=1000)))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "portal/audit_list.html", {
        "form": form, "page": paginate(request, events), "query": query.urlencode()})


# --- Approvals inbox -----------------------------------------------------------------------------
@login_required
def approvals(request):
    """Everything the user may decide now, of every kind (portal.inbox); each row opens its
    decision page. Platform admins also see what nobody can decide, with the reason."""
    from portal import inbox
    from portal.forms import InboxFilterForm
    if not inbox.may_use(request.user):
        raise PermissionDenied("Only people who decide requests, models or cards have an approvals inbox.")
    form = InboxFilterForm(request.GET or None)
    filters = form.to_filter() if form.is_valid() else inbox.InboxFilter()
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "portal/approvals.html", {
        "form": form, "page": paginate(request, inbox.inbox_for(request.user, filters)), "query": query.urlencode(),
        "undecidable": inbox.undecidable_for(request.user, filters)}, status=400 if form.errors else 200)


@login_required
@require_POST
def approvals_decide(request):
    """Approve or deny the ticked rows (or the one row whose Approve button was pressed) through
    ``inbox.inbox_decide``: all or nothing at the check, then one decision (and audit event) each.
    One row approved: its decision page; several: back to the inbox."""
    from portal import inbox
    if not inbox.may_use(request.user):
        raise PermissionDenied("Only people who decide requests, models or cards have an approvals inbox.")
    one = request.POST.get("approve_one", "")
    keys = [one] if one else request.POST.getlist("keys")
    outcome = "approve" if one else request.POST.get("outcome", "")
    try:
        done = inbox.inbox_decide(actor=request.user, keys=keys, outcome=outcome,
                                  comment=request.POST.get("comment", "")[:900])
    except (DomainError, PermissionDenied) as error:
        messages.error(request, getattr(error, "message", None) or str(error))
        return redirect("portal:approvals")
    verb = "Approved" if outcome == "approve" else "Denied"
    messages.success(request, f"{verb} {len(done)} item{'s' if len(done) != 1 else ''}.")
    return redirect(done[0]["url"] if one else "portal:approvals")


# --- API tokens ----------------------------------------------------------------------------------
@login_required
def token_list(request):
    form = TokenCreateForm(request.POST or None)
    new_secret = None
    if request.method == "POST" and form.is_valid():
        try:
            _token, new_secret = services.api_token_create(actor=request.user, **form.cleaned_data)
        except DomainError as error:
            show_domain_error(form, error)
        else:
            form = TokenCreateForm()
    response = render(request, "portal/token_list.html", {
        "tokens": selectors.tokens_for_user(request.user), "form": form, "new_secret": new_secret})
    response["Cache-Control"] = "no-store"   # the new secret must not stay in any cache
    return response


@login_required
@require_POST
def token_revoke(request, token_id):
    token = get_object_or_404(selectors.tokens_for_user(request.user), pk=token_id)
    services.api_token_revoke(actor=request.user, token=token)
    messages.success(request, f"Token '{token.name}' revoked.")
    return redirect("portal:token_list")


# --- Webhooks -----------------------------------------------------------------------------------
def _no_store(response):
    response["Cache-Control"] = "no-store"   # a secret shown once, or a URL carrying one, must stay in no cache
    return response


def _secret_session_key(webhook_id: int) -> str:
    return f"webhook_new_secret:{webhook_id}"


def _hand_over_secret(request, webhook, secret: str) -> None:
    """Keep a new signing secret (encrypted, like at rest) for the next view of the webhook's page
    only: the POST redirects (a reload cannot create or rotate again) and the page shows it once."""
    request.session[_secret_session_key(webhook.pk)] = crypto.encrypt(secret)


def _take_secret(request, webhook) -> str | None:
    token = request.session.pop(_secret_session_key(webhook.pk), None)
    return crypto.decrypt(token) if token else None


def _webhook_action(view):
    """A POST-only webhook action. A GET or HEAD (a reload, a typed or bookmarked URL) is sent to the
    webhook's page instead of an empty 405 and changes nothing; other methods get 405."""
    @wraps(view)
    @login_required
    @require_http_methods(["GET", "HEAD", "POST"])
    def wrapper(request, **kwargs):
        if request.method == "POST":
            return view(request, **kwargs)
        if "delivery_id" in kwargs:
            delivery = get_object_or_404(selectors.webhook_deliveries_for_user(request.user), pk=kwargs["delivery_id"])
            return redirect("portal:webhook_detail", webhook_id=delivery.webhook_id)
        return redirect("portal:webhook_detail", webhook_id=kwargs["webhook_id"])
    return wrapper


@login_required
def webhook_list(request, slug):
    """GET: the team's webhooks. POST: create one, then redirect to its page, which shows the secret once."""
    team = selectors.team_for_user(request.user, slug)
    require(request.user, "view", TeamWebhook, team.pk)
    form = WebhookForm(request.POST or None)
    if request.method == "POST":
        require(request.user, "add", TeamWebhook, team.pk)
        if form.is_valid():
            try:
                created, secret = webhooks.webhook_create(actor=request.user, team=team, **form.cleaned_data)
            except DomainError as error:
                show_domain_error(form, error)
            else:
                _hand_over_secret(request, created, secret)
                messages.success(request, f"Webhook '{created.name}' created.")
                return redirect("portal:webhook_detail", webhook_id=created.pk)
    return _no_store(render(request, "portal/webhook_list.html", {
        "team": team, "webhooks": selectors.webhook_list_for_user(request.user).filter(team=team).order_by("name"),
        "form": form, "can_manage": has_perm(request.user, "add", TeamWebhook, team.pk),
        "can_see_urls": has_perm(request.user, "change", TeamWebhook, team.pk)}, status=400 if form.errors else 200))


def _webhook_page(request, webhook, *, form=None, new_secret=None, status=200):
    filters = DeliveryFilterForm(request.GET or None)
    chosen = filters.cleaned_data if filters.is_valid() else {}
    deliveries = selectors.webhook_deliveries_for_user(request.user, webhook=webhook, state=chosen.get("state", ""),
                                                       kind=chosen.get("kind", ""))
    can_manage = has_perm(request.user, "change", TeamWebhook, webhook.team_id)
    query = request.GET.copy()
    query.pop("page", None)
    return _no_store(render(request, "portal/webhook_detail.html", {
        "webhook": webhook, "team": webhook.team, "page": paginate(request, deliveries), "filters": filters,
        "query": query.urlencode(), "can_manage": can_manage, "new_secret": new_secret,
        "form": form or (WebhookForm.for_webhook(webhook) if can_manage else None)}, status=status))


@login_required
def webhook_detail(request, webhook_id):
    """GET: the webhook and its delivery history, with a new secret the first time after create or
    rotate. POST: save the edit form."""
    webhook = selectors.webhook_for_user(request.user, webhook_id)
    if request.method != "POST":
        return _webhook_page(request, webhook, new_secret=_take_secret(request, webhook))
    require(request.user, "change", TeamWebhook, webhook.team_id)
    form = WebhookForm.for_webhook(webhook, request.POST)
    if form.is_valid():
        try:
            webhooks.webhook_update(actor=request.user, webhook=webhook, **form.cleaned_data)
        except DomainError as error:
            show_domain_error(form, error)
        else:
            messages.success(request, f"Webhook '{form.cleaned_data['name']}' saved.")
            return redirect("portal:webhook_detail", webhook_id=webhook.pk)
    return _webhook_page(request, webhook, form=form, status=400)


@_webhook_action
def webhook_delete(request, webhook_id):
    webhook = selectors.webhook_for_user(request.user, webhook_id)
    webhooks.webhook_delete(actor=request.user, webhook=webhook)
    messages.success(request, f"Webhook '{webhook.name}' deleted.")
    return redirect("portal:webhook_list", slug=webhook.team.slug)


@_webhook_action
def webhook_test(request, webhook_id):
    webhook = selectors.webhook_for_user(request.user, webhook_id)
    try:
        webhooks.webhook_send_test(actor=request.user, webhook=webhook)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "A test event is on its way; its delivery appears below.")
    return redirect("portal:webhook_detail", webhook_id=webhook.pk)


@_webhook_action
def webhook_rotate_secret(request, webhook_id):
    """Rotate, then redirect to the webhook's page, which shows the new secret once."""
    webhook = selectors.webhook_for_user(request.user, webhook_id)
    webhook, secret = webhooks.webhook_rotate_secret(actor=request.user, webhook=webhook)
    _hand_over_secret(request, webhook, secret)
    messages.success(request, "The signing secret was replaced.")
    return redirect("portal:webhook_detail", webhook_id=webhook.pk)


@_webhook_action
def webhook_redeliver(request, delivery_id):
    delivery = get_object_or_404(selectors.webhook_deliveries_for_user(request.user), pk=delivery_id)
    try:
        webhooks.webhook_delivery_redeliver(actor=request.user, delivery=delivery)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"The {delivery.kind} event will be sent again.")
    return redirect("portal:webhook_detail", webhook_id=delivery.webhook_id)


@_webhook_action
def webhook_send_now(request, delivery_id):
    delivery = get_object_or_404(selectors.webhook_deliveries_for_user(request.user), pk=delivery_id)
    try:
        webhooks.webhook_delivery_send_now(actor=request.user, delivery=delivery)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"The {delivery.kind} event is being sent now.")
    return redirect("portal:webhook_detail", webhook_id=delivery.webhook_id)


# --- Notifications -------------------------------------------------------------------------------
@login_required
def notification_list(request):
    if request.method == "POST":
        notification_mark_read(actor=request.user)
        return redirect("portal:notification_list")
    return render(request, "portal/notification_list.html", {
        "page": paginate(request, selectors.notifications_for_user(request.user))})


# --- Health --------------------------------------------------------------------------------------
def _check_database() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True, connection.vendor
    except Exception as error:  # the page reports any failure
        return False, str(error)


def _check_broker() -> tuple[bool, str]:
    from portal.celery import app
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=3)
            return True, conn.as_uri()
    except Exception as error:
        return False, str(error)


def _check_worker() -> tuple[bool, str]:
    beat = WorkerHeartbeat.objects.order_by("-seen_at").first()
    if beat is None:
        return False, "No worker has reported yet."
    age = (timezone.now() - beat.seen_at).total_seconds()
    return age < 120, f"{beat.hostname}, {int(age)} s ago"


@login_required
def health(request):
    if not is_platform_admin(request.user):
        raise PermissionDenied("Only platform admins may see system health.")
    checks = [("Database", *_check_database()), ("Message broker", *_check_broker()),
              ("Worker heartbeat", *_check_worker()), ("AWS / sandbox", *aws.reachable())]
    if request.GET.get("format") == "json":
        return JsonResponse({"checks": [{"name": n, "ok": ok, "detail": d} for n, ok, d in checks]})
    return render(request, "portal/health.html", {"checks": checks, "all_ok": all(ok for _n, ok, _d in checks)})


# --- Error pages and favicon --------------------------------------------------------------------
def page_not_found(request, exception):
    """handler404: the API's JSON error under /api/ (scripts branch on the code), else Django's
    page_not_found with templates/404.html."""
    if request.path.startswith("/api/"):
        return JsonResponse({"error": {"code": "not_found", "message": f"There is no API resource at {request.path}: "
                                       "see /api/docs/ for the routes."}}, status=404)
    return defaults.page_not_found(request, exception)


def bad_request(request, exception):
    """handler400: the portal's page, with the sentence of a BadRequest the portal raised (other
    400s, such as a disallowed host, say nothing about the cause)."""
    message = str(exception) if type(exception) is BadRequest else ""
    return render(request, "400.html", {"message": message}, status=400)


def server_error(request):
    """handler500: the portal's page, rendered without context processors (they may be what failed),
    with the request id the response's X-Request-ID header carries, for support."""
    body = loader.get_template("500.html").render({"portal_name": settings.PORTAL_NAME,
                                                   "request_id": getattr(request, "request_id", "")})
    return HttpResponseServerError(body)


def favicon(request):
    """/favicon.ico, which browsers ask for on pages that do not link an icon: the static favicon."""
    return redirect(static("portal/favicon.svg"), permanent=True)
