"""Account vending writes: request, decide, queue, and the Organizations steps.

Every write checks permission and state, changes the row, logs a step, audits and notifies in one
transaction (``portal.workflow.transition``); tasks are enqueued only after commit. The AWS steps
never run under the row lock: a worker claims the request (lock, read, claim, release), calls
AWS, and records each result in its own short transaction; a redelivered or concurrent step finds
the claim (or the work done) and leaves.
"""
import re
import uuid
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from portal import retry
from portal.audit import audit_record
from portal.errors import Conflict, DomainError
from portal.models import AwsAccount, Team
from portal.notifications import notify
from portal.permissions import SYSTEM, has_perm, is_platform_admin, require, users_with_perm
from portal.selectors import decided_by_label, delegation_principal, on_behalf_note
from portal.services import account_link
from portal.workflow import step_log, transition
from provisioning import aws as catalog_aws
from provisioning.accounts import aws
from provisioning.accounts.models import (
    AWAITING_DECISION, IN_FLIGHT, AccountApproval, AccountBaselineProduct, AccountRequest, AccountRequestStep,
    AccountState as S,
)
from provisioning.accounts.transitions import MACHINE
from provisioning.models import CatalogProduct
from provisioning.services import preset_account_networks

DEFAULT_OUS = {"dev": "Workloads/NonProd", "test": "Deployments/NonProd", "prod": "Deployments/Prod",
               "sandbox": "Sandbox"}
_ACCOUNT_NAME = re.compile(r"^[\x20-\x7e]{1,50}$")
_EMAIL_LOCAL_FORBIDDEN = set(" \t\"'()<>[]:;,\\|%&")
_EMAIL_DOMAIN = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")

# Plain words for every CreateAccount FailureReason, with what to do next.
FAILURE_HELP = {
    "ACCOUNT_LIMIT_EXCEEDED": "The organization has reached its maximum number of accounts. A platform admin must "
                              "raise the quota (Service Quotas) or close unused accounts, then retry.",
    "EMAIL_ALREADY_EXISTS": "Another AWS account, not created by this request, already uses this root e-mail. "
                            "Cancel this request and ask again with another e-mail address.",
    "INVALID_ADDRESS": "AWS rejected the organization's address. A platform admin must fix the management "
                       "account's contact information, then retry.",
    "INVALID_EMAIL": "AWS rejected the root e-mail address. Ask again with another e-mail address.",
    "CONCURRENT_ACCOUNT_MODIFICATION": "AWS was already creating an account with this information. "
                                       "Wait a few minutes and retry.",
    "INTERNAL_FAILURE": "AWS had an internal failure. Retry in a few minutes.",
    "GOVCLOUD_ACCOUNT_ALREADY_EXISTS": "A GovCloud account already uses this e-mail. Ask again with another e-mail.",
    "MISSING_BUSINESS_VALIDATION": "The management account's business validation is missing; a platform admin must "
                                   "complete it with AWS, then retry.",
    "FAILED_BUSINESS_VALIDATION": "The management account failed AWS's business validation; a platform admin must "
                                  "contact AWS Support, then retry.",
    "PENDING_BUSINESS_VALIDATION": "AWS is still validating the management account; retry once it is done.",
    "INVALID_IDENTITY_FOR_BUSINESS_VALIDATION": "The management account's identity could not be validated; a "
                                                "platform admin must contact AWS Support.",
    "UNKNOWN_BUSINESS_VALIDATION": "AWS could not validate the management account; a platform admin must contact "
                                   "AWS Support.",
    "MISSING_PAYMENT_INSTRUMENT": "The management account has no payment method; a platform admin must add one, "
                                  "then retry.",
    "INVALID_PAYMENT_INSTRUMENT": "The management account's payment method is invalid; a platform admin must fix "
                                  "it, then retry.",
}


def _setting(name, default):
    return getattr(settings, name, default)


def ou_for_environment(environment: str) -> str:
    return _setting("ACCOUNT_OU_BY_ENVIRONMENT", DEFAULT_OUS).get(environment, "")


def allowed_ous() -> list[str]:
    """OUs a platform admin may choose instead of the environment's default."""
    mapping = _setting("ACCOUNT_OU_BY_ENVIRONMENT", DEFAULT_OUS)
    return sorted(set(mapping.values()) | set(_setting("ACCOUNT_ALLOWED_OUS", [])))


def email_taken(email: str) -> bool:
    """Whether an account or a live request (not rejected or cancelled) already uses ``email``."""
    return (AccountRequest.objects.exclude(state__in=[S.REJECTED, S.CANCELLED]).filter(email__iexact=email).exists()
            or AwsAccount.objects.filter(email__iexact=email).exists())


def generated_email(team: Team, environment: str) -> str:
    """The root e-mail ACCOUNT_EMAIL_PATTERN gives a new account of ``team`` in ``environment``:
    the first one not taken, so a team's second dev account gets ``...-dev-2@...``."""
    pattern = _setting("ACCOUNT_EMAIL_PATTERN", "aws+{team}-{env}@example.com")
    email = pattern.format(team=team.slug, env=environment)
    local, at, domain = email.rpartition("@")
    number = 1
    while at and email_taken(email):
        number += 1
        email = f"{local}-{number}@{domain}"
    return email


def email_problem(email: str) -> str | None:
    """Why AWS Organizations would refuse ``email`` as a root e-mail (AWS_API.md §2.1), else None."""
    if not 6 <= len(email) <= 64:
        return "Use 6 to 64 characters."
    if not email.isascii():
        return "Use plain ASCII characters only (AWS rule)."
    if email.count("@") != 1:
        return "Use exactly one @."
    local, domain = email.split("@")
    if not local or local.startswith("."):
        return "The part before @ must not be empty or start with a dot."
    bad = sorted(set(local) & _EMAIL_LOCAL_FORBIDDEN)
    if bad:
        return f"The part before @ must not contain spaces or any of \" ' ( ) < > [ ] : ; , \\ | % & (found {''.join(bad)!r})."
    if "." not in domain or not _EMAIL_DOMAIN.match(domain) or ".." in domain:
        return "The domain must use letters, digits, dots and hyphens, contain a dot, and not start or end with - or ."
    return None


def account_name_problem(name: str) -> str | None:
    if not _ACCOUNT_NAME.match(name or ""):
        return "Use 1 to 50 printable ASCII characters (AWS rule: letters, digits, spaces and punctuation)."
    return None


def _log(item: AccountRequest, action: str, outcome: str = "ok", detail: str = "") -> None:
    step_log(MACHINE, item, action, outcome, detail)


def _transition(item: AccountRequest, action: str, detail: str = "", *, actor=SYSTEM, outcome: str = "ok",
                **options) -> None:
    """Move ``item`` along its machine (``portal.workflow``): state, ``changes``, a step whose text
    is ``detail``, the audit event (``account_request.<action>`` unless ``audit_action``), saved."""
    transition(item, action, actor=actor, detail=detail, step_detail=detail, outcome=outcome, **options)


def _platform_admins():
    """Who decides account requests (the policy's ``approve`` rule)."""
    return users_with_perm("approve", AccountRequest)


def approver_ids(team_id: int) -> set[int]:
    """Ids of the people the policy lets decide account requests of the team."""
    return set(users_with_perm("approve", AccountRequest, team_id).values_list("pk", flat=True))


def undecidable_reason(item: AccountRequest, approvers: set[int] | None = None) -> str:
    """A sentence when the approvals ``item`` still needs cannot come from anyone who exists: those
    the policy lets decide (``approvers``, default ``approver_ids``) minus the requester and whoever
    already approved it (e.g. a platform admin's own request above the second-approval budget with
    only two platform admins); else "". Shown on its page and API; platform admins are notified
    when it happens. Reads ``item.approvals`` (prefetch it for lists)."""
    if item.state not in AWAITING_DECISION:
        return ""
    approvals = [a for a in item.approvals.all() if a.decision == AccountApproval.Decision.APPROVE]
    still = item.approvals_required - len(approvals)
    approvers = approver_ids(item.team_id) if approvers is None else approvers
    able = len(approvers - {item.requester_id} - {a.decided_by_id for a in approvals})
    if able >= still:
        return ""
    given = len(approvals)
    who = "platform admins other than the requester" + (" and the first approver" if given else "")
    return (f"Nobody can {'give the second approval' if given else 'approve this request'}: it needs {still} more "
            f"approval{'s' if still > 1 else ''} by different {who}, and {able or 'none'} exist"
            f"{'s' if able == 1 else ''}. A platform admin must give another person the platform admin role "
            "(Roles page); otherwise reject or cancel it"
            + (f" and request a budget of ${second_approval_threshold():,} or less, which needs one approval."
               if item.approvals_required > 1 else "."))


def _tell_if_undecidable(item: AccountRequest) -> None:
    """Notify the platform admins when nobody existing can decide ``item`` (caller's transaction)."""
    reason = undecidable_reason(item)
    if reason:
        _log(item, "undecidable", AccountRequestStep.Outcome.WAITING, reason)
        notify(users=_platform_admins(), kind="account_request.undecidable", team=item.team, url=_url(item),
               subject=f"Nobody can decide the account request {item.account_name} ({item.team.name})", body=reason)


def _url(item) -> str:
    return f"/account-requests/{item.pk}/"


def _snapshot(item: AccountRequest) -> dict:
    return {"state": item.state, "account_name": item.account_name, "email": item.email,
            "environment": item.environment, "ou_path": item.ou_path, "account_id": item.account_id}


def _enqueue_dispatch() -> None:
    from provisioning.accounts.tasks import dispatch_queue
    transaction.on_commit(lambda: dispatch_queue.delay())


def _schedule_step(item_id: int, countdown: float, attempt: int) -> None:
    from provisioning.accounts.tasks import request_step
    retry.later(request_step, item_id, countdown=countdown, attempt=attempt)


# --- requests and decisions -----------------------------------------------------------------------
def account_request_create(*, actor, team: Team, environment: str, purpose: str, account_name: str,
                           sso_first_name: str, sso_last_name: str, sso_email: str,
                           monthly_budget_usd: Decimal = Decimal("0"), email: str = "",
                           lease_end: date | None = None, ou_path: str = "") -> AccountRequest:
    """Record a request and send it for approval. Side effects: the row, two steps, an audit event,
    notifications to platform admins. A repeat fails on the unique account name / e-mail."""
    require(actor, "add", AccountRequest, team.pk)
    account_name, email, purpose = account_name.strip(), (email or "").strip(), purpose.strip()
    email = email or generated_email(team, environment)
    problems: dict[str, list[str]] = {}

    def problem(field, message):
        problems.setdefault(field, []).append(message)

    if environment not in DEFAULT_OUS:
        problem("environment", "Choose dev, test, prod or sandbox.")
    if not purpose:
        problem("purpose", "Say what the account is for.")
    if (message := account_name_problem(account_name)):
        problem("account_name", message)
    if (message := email_problem(email)):
        problem("email", f"Root e-mail {email!r}: {message}")
    for field, value in (("sso_first_name", sso_first_name), ("sso_last_name", sso_last_name)):
        if not (value or "").strip():
            problem(field, "Required: the IAM Identity Center user's name.")
    if not sso_email or email_problem(sso_email):
        problem("sso_email", "Enter a valid e-mail address for the SSO user.")
    if monthly_budget_usd is None or Decimal(monthly_budget_usd) < 0:
        problem("monthly_budget_usd", "Enter a monthly budget of 0 or more (USD).")
    if environment == "sandbox":
        if lease_end is None:
            problem("lease_end", "Sandbox accounts need a lease end date.")
        elif lease_end <= timezone.localdate():
            problem("lease_end", "The lease must end in the future.")
    elif lease_end is not None:
        problem("lease_end", "Only sandbox accounts have a lease end date; leave it empty.")
    default_ou = ou_for_environment(environment)
    if ou_path and ou_path != default_ou:
        if not is_platform_admin(actor):
            problem("ou_path", f"Only platform admins may choose another OU than {default_ou}.")
        elif ou_path not in allowed_ous():
            problem("ou_path", f"Choose one of: {', '.join(allowed_ous())}.")
    ou_path = ou_path or default_ou
    with transaction.atomic():
        live = AccountRequest.objects.exclude(state__in=[S.REJECTED, S.CANCELLED])
        if account_name and (live.filter(account_name__iexact=account_name).exists()
                             or AwsAccount.objects.filter(name__iexact=account_name).exists()):
            problem("account_name", f"The account name {account_name!r} is already used; choose another.")
        if email and email_taken(email):
            problem("email", f"The root e-mail {email} is already used by another account or request; "
                             "choose another.")
        if problems:
            raise DomainError("Some fields need attention.", code="validation_error", fields=problems)
        item = AccountRequest.objects.create(
            team=team, requester=actor, environment=environment, purpose=purpose, account_name=account_name,
            email=email, sso_first_name=sso_first_name.strip(), sso_last_name=sso_last_name.strip(),
            sso_email=sso_email.strip(), ou_path=ou_path, monthly_budget_usd=Decimal(monthly_budget_usd),
            lease_end=lease_end, vending_path=_setting("ACCOUNT_VENDING_PATH", "organizations"),
            approvals_required=2 if Decimal(monthly_budget_usd) > second_approval_threshold() else 1)
        _log(item, "submit", detail=f"Requested by {actor.get_username()}")
        audit_record(actor=actor, action="account_request.create", target=item, team=team, after=_snapshot(item))
        _transition(item, "require_approval", "Every account request needs a platform admin's approval." if
                    item.approvals_required == 1 else f"The budget is above ${second_approval_threshold():,} a month: "
                    "two different platform admins must approve.")
        notify(users=_platform_admins(), kind="account_request.pending", team=team, url=_url(item),
               subject=f"Account request to approve: {item.account_name} ({team.name}, {environment})")
        _tell_if_undecidable(item)
    return item


def _current_state(item: AccountRequest) -> str:
    """The stored state (the caller's copy may be stale)."""
    return AccountRequest.objects.filter(pk=item.pk).values_list("state", flat=True).first() or item.state


def _locked(item: AccountRequest) -> AccountRequest:
    return AccountRequest.objects.select_for_update().select_related("team", "requester").get(pk=item.pk)


def second_approval_threshold() -> Decimal:
    return Decimal(_setting("ACCOUNT_VENDING_SECOND_APPROVAL_BUDGET_USD", 10000))


def _decide(item: AccountRequest, actor, action: str, decision: str, comment: str, detail: str,
            on_behalf_of=None, **changes) -> None:
    """The transition (audited with the comment, and "by X for Y" when a delegate decided), then
    the AccountApproval row of the stage it decided."""
    stage = 2 if item.state == S.PENDING_SECOND_APPROVAL else 1
    # The policy was checked on the principal (_decider): a delegate need not hold "approve" itself.
    _transition(item, action, detail, actor=actor, changes=changes, before=_snapshot(item), check_permission=False,
                after=lambda changed: {**_snapshot(changed), "comment": comment,
                                       **on_behalf_note(actor, on_behalf_of)})
    AccountApproval.objects.create(request=item, stage=stage, decision=decision, comment=comment,
                                   decided_by=actor if actor.pk else None, on_behalf_of=on_behalf_of)


def _decider(actor, item: AccountRequest, on_behalf_of):
    """(principal or None, "by" label) after the policy check on the principal (the delegator when
    a delegate decides, portal.selectors.delegation_principal)."""
    principal = delegation_principal(actor, on_behalf_of)
    require(principal, "approve", AccountRequest, item.team_id)
    return (None if principal is actor else principal), decided_by_label(actor, principal)


def _people(actor, principal) -> set:
    return {getattr(actor, "pk", None)} | ({principal.pk} if principal else set())


def account_request_approve(*, actor, request: AccountRequest, comment: str = "",
                            on_behalf_of=None) -> AccountRequest:
    """Approve (platform admins, or their delegate: ``on_behalf_of`` names the delegator, recorded
    "by X for Y"; never the requester). A request that needs two approvals gets its
    first one here (pending_second_approval; the other platform admins are notified); the final
    approval queues it and starts the dispatcher after commit. Side effects: an AccountApproval
    row, steps, an audit event, notifications. The same admin approving twice (in person or through
    a delegate) gets Conflict (409); a repeat after the final approval answers InvalidTransition."""
    principal, label = _decider(actor, request, on_behalf_of)
    if _current_state(request) == S.CLOSE_PENDING:
        return _close_decide(actor=actor, request=request, approve=True, comment=comment)
    people = _people(actor, principal)
    with transaction.atomic():
        item = _locked(request)
        if item.requester_id in people:
            raise PermissionDenied("You cannot approve your own account request; another platform admin must."
                                   if item.requester_id == getattr(actor, "pk", None) else
                                   f"{principal} asked for this account; their delegate cannot approve it either.")
        if item.state in AWAITING_DECISION and item.approvals.filter(
                Q(decided_by_id__in=people) | Q(on_behalf_of_id__in=people),
                decision=AccountApproval.Decision.APPROVE).exists():
            raise Conflict("You (or the colleague you stand in for) already gave this request its first approval; "
                           "a different platform admin must give the second one.")
        by = f"{label}{': ' + comment if comment else ''}"
        if item.state == S.PENDING_APPROVAL and item.approvals_required > 1:
            _decide(item, actor, "approve_first", AccountApproval.Decision.APPROVE, comment,
                    f"First approval by {by}. The budget ${item.monthly_budget_usd:,} is above the second-approval "
                    "threshold: another platform admin must approve too.", on_behalf_of=principal)
            others = _platform_admins().exclude(pk__in=[*people, item.requester_id])
            notify(users=others, kind="account_request.second_approval", team=item.team, url=_url(item),
                   subject=f"Second approval needed: {item.account_name} ({item.team.name}, "
                           f"${item.monthly_budget_usd:,}/month), first approved by {actor.get_username()}")
            _tell_if_undecidable(item)
            return item
        _decide(item, actor, "approve", AccountApproval.Decision.APPROVE, comment, f"Approved by {by}",
                on_behalf_of=principal, decided_by=actor if actor.pk else None, decided_at=timezone.now(),
                decision_comment=comment)
        _transition(item, "enqueue", "Waiting for a free slot (at most "
                                     f"{_setting('ACCOUNT_MAX_IN_FLIGHT', 5)} accounts are created at once).",
                    changes={"queued_at": timezone.now()})
        notify(users=[item.requester], kind="account_request.approved", team=item.team, url=_url(item),
               subject=f"Your account request {item.account_name} was approved")
        _enqueue_dispatch()
    return item


def account_request_reject(*, actor, request: AccountRequest, comment: str, on_behalf_of=None) -> AccountRequest:
    """Reject with a comment (required), at either approval stage. Frees the name and e-mail.
    Side effects: an AccountApproval row, a step, an audit event, a notification. A repeat answers
    InvalidTransition. ``on_behalf_of``: as for approve."""
    principal, label = _decider(actor, request, on_behalf_of)
    if not (comment or "").strip():
        raise DomainError("Say why you reject the request: a comment is required.", code="validation_error",
                          fields={"comment": ["Required when rejecting."]})
    if _current_state(request) == S.CLOSE_PENDING:
        return _close_decide(actor=actor, request=request, approve=False, comment=comment)
    with transaction.atomic():
        item = _locked(request)
        if item.requester_id in _people(actor, principal):
            raise PermissionDenied("You cannot decide on your own account request."
                                   if item.requester_id == getattr(actor, "pk", None) else
                                   f"{principal} asked for this account; their delegate cannot decide it either.")
        _decide(item, actor, "reject", AccountApproval.Decision.REJECT, comment.strip(),
                f"Rejected by {label}: {comment}", on_behalf_of=principal, decided_by=actor,
                decided_at=timezone.now(), decision_comment=comment.strip(), finished_at=timezone.now())
        notify(users=[item.requester], kind="account_request.rejected", team=item.team, url=_url(item),
               subject=f"Your account request {item.account_name} was rejected", body=comment)
    return item


def account_request_cancel(*, actor, request: AccountRequest) -> AccountRequest:
    """Cancel before creation starts (the requester, a team lead or a platform admin)."""
    if not (request.requester_id == getattr(actor, "pk", None)
            or has_perm(actor, "change", AccountRequest, request.team_id)):
        raise PermissionDenied("Only the requester, a team lead or a platform admin may cancel this request.")
    with transaction.atomic():
        item = _locked(request)
        # The requester may cancel without the "change" permission: checked above, not by the engine.
        _transition(item, "cancel", f"Cancelled by {actor.get_username()}", actor=actor, check_permission=False,
                    changes={"finished_at": timezone.now()}, before=_snapshot(item), after=_snapshot)
    return item


def account_request_retry(*, actor, request: AccountRequest) -> AccountRequest:
    """Put a failed request back in the queue (platform admins). Earlier attempts are looked up
    again before any new CreateAccount, so a retry never creates a second account; baseline
    products already provisioned are kept, a failed one is removed and provisioned again."""
    require(actor, "approve", AccountRequest, request.team_id)
    with transaction.atomic():
        item = _locked(request)
        changes = {"failure_reason": "", "error_message": "", "poll_attempt": 0, "step_retries": 0,
                   "queued_at": timezone.now(), "finished_at": None, "step_claim": "", "step_claim_until": None}
        if not item.account_id:
            changes.update(create_request_id="", record_id="")
        _transition(item, "retry", f"Retried by {actor.get_username()}", actor=actor, changes=changes,
                    before=_snapshot(item), after=_snapshot)
        _enqueue_dispatch()
    return item


def account_close_request(*, actor, request: AccountRequest, reason: str) -> AccountRequest:
    """Ask to close a ready account (team lead, platform admin, or the system when a lease ends).
    Side effects: a step, an audit event, notifications to platform admins. A repeat answers
    InvalidTransition."""
    if actor is not SYSTEM:
        require(actor, "change", AccountRequest, request.team_id)
    if not (reason or "").strip():
        raise DomainError("Say why the account should be closed.", code="validation_error",
                          fields={"reason": ["Required."]})
    with transaction.atomic():
        item = _locked(request)
        _transition(item, "request_close", f"Closure asked by {actor.get_username()}: {reason.strip()}", actor=actor,
                    audit_action="account_request.close_request", before=_snapshot(item),
                    after=lambda changed: {**_snapshot(changed), "reason": reason})
        notify(users=_platform_admins(), kind="account_request.close_pending", team=item.team, url=_url(item),
               subject=f"Closure to approve: {item.account_name} ({item.account_id})", body=reason)
    return item


def _close_decide(*, actor, request: AccountRequest, approve: bool, comment: str) -> AccountRequest:
    with transaction.atomic():
        item = _locked(request)
        verb = "approve_close" if approve else "reject_close"
        _transition(item, verb, f"{'Approved' if approve else 'Rejected'} by {actor.get_username()}"
                                f"{': ' + comment if comment else ''}", actor=actor, before=_snapshot(item),
                    after=lambda changed: {**_snapshot(changed), "comment": comment})
        notify(users=[item.requester], kind=f"account_request.{verb}", team=item.team, url=_url(item),
               subject=f"Closure of {item.account_name} was {'approved' if approve else 'rejected'}", body=comment)
        if approve:
            from provisioning.accounts.tasks import close_step
            transaction.on_commit(lambda: close_step.delay(item.pk))
    return item


def account_close_execute(*, request_id: int, **_ignored) -> str:
    """CloseAccount for a request in ``closing``; the inventory row becomes CLOSED. Lock and read,
    release, call AWS, then lock again to record (only if the request is still closing). A repeat
    or a redelivery finds the state moved on (or AWS answers "already closed") and records nothing
    twice."""
    item = AccountRequest.objects.filter(pk=request_id, state=S.CLOSING).values_list("account_id", flat=True).first()
    if item is None:
        return "nothing to do"
    try:
        closed, error = aws.close_account(item), None
    except aws.AwsErrors as refused:
        closed, error = False, refused
    with transaction.atomic():
        item = AccountRequest.objects.select_for_update().select_related("team", "requester").filter(
            pk=request_id, state=S.CLOSING).first()
        if item is None:
            return "nothing to do"
        before = _snapshot(item)
        if error is not None:
            message = f"AWS refused to close the account ({aws.error_reason(error) or aws.error_code(error)}). " \
                      "It stays open; a platform admin can ask again later."
            _transition(item, "close_failed", message, outcome="error", changes={"error_message": message},
                        before=before, after=_snapshot)
            notify(users=[item.requester, *_platform_admins()], kind="account_request.close_failed",
                   team=item.team, url=_url(item), subject=f"{item.account_name} could not be closed", body=message)
            return "failed"
        _transition(item, "closed", "CloseAccount accepted" + ("" if closed else " (it was already closed)")
                    + "; AWS keeps it suspended for 90 days.", before=before, after=_snapshot)
        account = AwsAccount.objects.filter(account_id=item.account_id).first()
        if account:
            account_link(actor=SYSTEM, account_id=account.account_id, name=account.name,
                         environment=account.environment, team=account.team, ou_path=account.ou_path,
                         email=account.email, status="CLOSED")
        notify(users=[item.requester], kind="account_request.closed", team=item.team, url=_url(item),
               subject=f"Account {item.account_name} ({item.account_id}) is closed")
    return "closed"


# --- the queue ------------------------------------------------------------------------------------
def account_queue_dispatch(*, actor=SYSTEM) -> list[int]:
    """Start queued requests, oldest first, while fewer than ACCOUNT_MAX_IN_FLIGHT are in flight.
    Side effects: queued → creating, a step task per started request. A repeat starts nothing more."""
    limit = int(_setting("ACCOUNT_MAX_IN_FLIGHT", 5))
    started = []
    with transaction.atomic():
        # Locking the in-flight rows (then the queued ones) serialises concurrent dispatchers.
        in_flight = list(AccountRequest.objects.select_for_update().filter(state__in=IN_FLIGHT).values_list("pk", flat=True))
        free = limit - len(in_flight)
        if free <= 0:
            return []
        queued = list(AccountRequest.objects.select_for_update().filter(state=S.QUEUED)
                      .order_by("queued_at", "id")[:free])
        for item in queued:
            _transition(item, "start", "A slot is free: creating the account.",
                        changes={"poll_attempt": 0, "step_retries": 0})
            started.append(item.pk)
            _schedule_step(item.pk, 0, 0)
        # A worker lost while it held a request's claim (its message redelivered too early, or
        # gone): once the claim lapses, the request is stepped again.
        lapsed = AccountRequest.objects.filter(state__in=IN_FLIGHT, step_claim_until__lt=timezone.now())
        for item_id in lapsed.exclude(step_claim="").values_list("pk", flat=True):
            _schedule_step(item_id, 0, 0)
    return started


def queue_position(item: AccountRequest) -> int | None:
    """1 for the next request to start; None when not queued."""
    if item.state != S.QUEUED:
        return None
    return AccountRequest.objects.filter(state=S.QUEUED).filter(
        Q(queued_at__lt=item.queued_at) | Q(queued_at=item.queued_at, id__lt=item.pk)).count() + 1


# --- the AWS steps --------------------------------------------------------------------------------
def backoff_seconds(attempt: int) -> float:
    """The wait before the next step (``portal.retry``), with account vending's settings."""
    return retry.backoff_seconds(attempt, base=float(_setting("ACCOUNT_POLL_BASE_SECONDS", 5)),
                                 cap=float(_setting("ACCOUNT_POLL_MAX_SECONDS", 300)))


def _tags(item: AccountRequest) -> dict[str, str]:
    return {"team": item.team.slug, "environment": item.environment, "cost-center": item.team.cost_center}


def _fail(item: AccountRequest, reason: str, message: str) -> None:
    with transaction.atomic():
        _transition(item, "fail", f"{reason}: {message}", outcome="error",
                    changes={"failure_reason": reason[:80], "error_message": message, "finished_at": timezone.now()},
                    before=_snapshot(item), after=lambda changed: {**_snapshot(changed), "reason": reason})
        notify(users=[item.requester, *_platform_admins()], kind="account_request.failed", team=item.team,
               url=_url(item), subject=f"Account {item.account_name} could not be created", body=message)
        _enqueue_dispatch()


def _wait(item: AccountRequest, timeout: str, action: str = "", detail: str = "",
          outcome: str = "waiting") -> float | None:
    """Count one waiting poll of the current step (poll_attempt, apart from AWS errors) and log it
    when ``action`` is given; the seconds until the next poll. Past ACCOUNT_MAX_POLLS the request
    fails with TIMEOUT and ``timeout`` (which says what to do next), freeing its slot; then None."""
    item.poll_attempt += 1
    if item.poll_attempt > int(_setting("ACCOUNT_MAX_POLLS", 200)):
        _fail(item, "TIMEOUT", timeout)
        return None
    item.save(update_fields=["poll_attempt"])
    if action:
        _log(item, action, outcome, detail)
    return backoff_seconds(item.poll_attempt)


def _adopt_account(item: AccountRequest, account_id: str, how: str) -> None:
    _transition(item, "created", f"Account {account_id} {how}.", changes={"account_id": account_id, "poll_attempt": 0})


def _look_for_earlier_attempt(item: AccountRequest) -> bool:
    """Before any CreateAccount: adopt an account or an attempt this request already made.
    True when something was adopted."""
    existing = aws.find_account_by_email(item.email)
    if existing and existing["name"] == item.account_name:
        _adopt_account(item, existing["id"], "already exists with this request's name and e-mail: adopted")
        return True
    for status in aws.find_create_statuses(item.account_name):
        if status.get("State") in ("IN_PROGRESS", "SUCCEEDED"):
            item.create_request_id = status["Id"]
            item.save(update_fields=["create_request_id"])
            _log(item, "ListCreateAccountStatus", detail=f"Found the earlier attempt {status['Id']}: following it.")
            return True
    return False


def _sc_name(item: AccountRequest) -> str:
    """A ProvisionedProductName from the account name (letters, digits, . _ - only)."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", item.account_name).strip("-._") or "account"
    return f"account-{name}"[:128]


def _step_create_control_tower(item: AccountRequest) -> float | None:
    if not item.record_id:
        ou_id = aws.ou_id_for_path(item.ou_path)
        launch = aws.account_factory_launch(ou_id or "")
        if not ou_id or not launch["ou_value"]:
            _fail(item, "OU_NOT_REGISTERED", f"Account Factory does not offer the OU {item.ou_path}. A platform admin "
                                             "must register it in Control Tower, then retry.")
            return None
        item.create_attempts += 1
        item.save(update_fields=["create_attempts"])
        try:
            # The token makes a repeated or redelivered call return the first record.
            record_id = aws.account_factory_provision(name=_sc_name(item), token=item.provision_token, launch=launch,
                                                      parameters={
                "AccountName": item.account_name, "AccountEmail": item.email,
                "SSOUserFirstName": item.sso_first_name, "SSOUserLastName": item.sso_last_name,
                "SSOUserEmail": item.sso_email, "ManagedOrganizationalUnit": launch["ou_value"]})
        except aws.ClientError as error:
            if aws.error_code(error) == "ResourceInUseException":
                return _wait(item, "Account Factory stayed busy with other accounts for too long. A platform admin "
                                   "should check Control Tower for stuck account operations, then retry.",
                             "ProvisionProduct", "Account Factory is busy with 5 accounts; trying again shortly.",
                             outcome="retry")
            raise
        item.record_id = record_id
        item.save(update_fields=["record_id"])
        _log(item, "ProvisionProduct", detail=f"Account Factory started record {record_id}.")
        return backoff_seconds(0)
    record = aws.account_factory_record(item.record_id)
    if record["status"] in ("CREATED", "IN_PROGRESS"):
        return _wait(item, f"Control Tower did not finish creating the account in time. A platform admin should check "
                     f"the Account Factory record {item.record_id} in Control Tower, then retry (the retry reuses "
                     "this request's token, so AWS returns the same record instead of a second account).",
                     "DescribeRecord", "Control Tower is still creating the account.")
    if record["status"] == "SUCCEEDED" and record["outputs"].get("AccountId"):
        _adopt_account(item, record["outputs"]["AccountId"], "created by Control Tower Account Factory")
        return 0.0
    errors = "; ".join(record["errors"]) or record["status"]
    reason = next((code for code in FAILURE_HELP if code in errors), "ACCOUNT_FACTORY_FAILED")
    _fail(item, reason, FAILURE_HELP.get(reason, f"Account Factory failed: {errors}. A platform admin should check "
                                                 "Control Tower, then retry."))
    return None


def _step_create(item: AccountRequest) -> float | None:
    if item.vending_path == "control_tower":
        return _step_create_control_tower(item)
    if not item.create_request_id:
        if _look_for_earlier_attempt(item):
            return 0.0
        item.create_attempts += 1
        item.save(update_fields=["create_attempts"])
        try:
            status = aws.create_account(name=item.account_name, email=item.email, tags=_tags(item))
        except aws.ClientError as error:
            if aws.error_reason(error) == "ACCOUNT_CREATION_RATE_LIMIT_EXCEEDED":
                return _wait(item, "AWS kept refusing new accounts because too many were being created at "
                                   "once. A platform admin should check for account creations outside the portal, "
                                   "then retry.",
                             "CreateAccount", "AWS is creating 5 accounts already; trying again shortly.",
                             outcome="retry")
            raise
        item.create_request_id = status["Id"]
        item.save(update_fields=["create_request_id"])
        _log(item, "CreateAccount", detail=f"AWS accepted the request ({status['Id']}).")
        return backoff_seconds(0)
    status = aws.create_account_status(item.create_request_id)
    state = status.get("State")
    if state == "IN_PROGRESS":
        return _wait(item, "AWS did not finish creating the account in time. A platform admin should check AWS "
                           "Organizations, then retry (the portal will find the account).",
                     "DescribeCreateAccountStatus", "AWS is still creating the account.")
    if state == "SUCCEEDED":
        _adopt_account(item, status["AccountId"], "created")
        return 0.0
    reason = status.get("FailureReason", "INTERNAL_FAILURE")
    if reason in ("EMAIL_ALREADY_EXISTS", "CONCURRENT_ACCOUNT_MODIFICATION"):
        # Ours when an account (or a live attempt) carries this request's name and e-mail: an earlier
        # attempt whose answer was lost.
        _log(item, "DescribeCreateAccountStatus", "retry", f"{reason}: looking for this request's own earlier attempt.")
        item.create_request_id = ""
        item.save(update_fields=["create_request_id"])
        if _look_for_earlier_attempt(item):
            return 0.0
    _fail(item, reason, FAILURE_HELP.get(reason, f"AWS could not create the account ({reason}). "
                                                  "A platform admin should check AWS Organizations, then retry."))
    return None


def _step_move(item: AccountRequest) -> float | None:
    destination = aws.ou_id_for_path(item.ou_path)
    if destination is None:
        _fail(item, "OU_NOT_FOUND", f"The OU {item.ou_path} does not exist in the organization. A platform admin "
                                    "must create it (or fix ACCOUNT_OU_BY_ENVIRONMENT), then retry.")
        return None
    moved = aws.move_account(account_id=item.account_id, destination_id=destination)
    _transition(item, "moved", f"Placed in {item.ou_path} ({destination})" + ("" if moved else ", already there"))
    return 0.0


def _baseline_token(item: AccountRequest, row: AccountBaselineProduct) -> str:
    """Deterministic per request, product, operation and attempt: a redone call replays in AWS."""
    return f"{item.provision_token}-{row.product_id}-{row.operation[0]}{row.attempt}"[:128]


def _baseline_rows(item: AccountRequest) -> list[AccountBaselineProduct] | None:
    """The request's baseline products (rows made on first use from ACCOUNT_BASELINE_PRODUCTS and the
    synced catalog, tokens stored before any call); a failed one is readied for its next attempt
    (terminate the failed product, then provision again). None when a product is not in the catalog
    (the request has failed)."""
    rows = {row.product_name: row for row in item.baseline_products.all()}
    for name in _setting("ACCOUNT_BASELINE_PRODUCTS", []):
        if name in rows:
            continue
        product = CatalogProduct.objects.filter(name=name, in_catalog=True).first()
        version = product and product.versions.filter(in_catalog=True).exclude(guidance="DEPRECATED").order_by(
            "-created_time", "-id").first()
        if version is None:
            _fail(item, "BASELINE_PRODUCT_NOT_FOUND", f"The baseline product {name!r} is not in the portal's catalog "
                  "(or has no current version). A platform admin must sync the catalog or fix "
                  "ACCOUNT_BASELINE_PRODUCTS, then retry.")
            return None
        row = AccountBaselineProduct(request=item, product_name=name, product_id=product.product_id,
                                     artifact_id=version.artifact_id, path_id=(product.default_path or {}).get("id", ""))
        row.token = _baseline_token(item, row)
        row.save()
        rows[name] = row
    for row in rows.values():
        if row.status == AccountBaselineProduct.Status.FAILED:
            row.attempt += 1
            row.operation = (AccountBaselineProduct.Operation.CLEANUP if row.provisioned_product_id
                             else AccountBaselineProduct.Operation.PROVISION)
            row.token, row.record_id = _baseline_token(item, row), ""
            row.status, row.error_message = AccountBaselineProduct.Status.PENDING, ""
            row.save()
    return list(rows.values())


def _baseline_start(item: AccountRequest, row: AccountBaselineProduct) -> None:
    """ProvisionProduct (or, for a failed earlier attempt, TerminateProvisionedProduct) in the new account."""
    if row.operation == AccountBaselineProduct.Operation.CLEANUP:
        record = catalog_aws.terminate_provisioned_product(account_id=item.account_id, pp_id=row.provisioned_product_id,
                                                           token=row.token, ignore_errors=True)
        action = "TerminateProvisionedProduct"
    else:
        name = re.sub(r"[^A-Za-z0-9._-]+", "-", row.product_name).strip("-._") or "product"
        record = catalog_aws.provision_product(
            account_id=item.account_id, name=f"baseline-{name}"[:128], token=row.token, product_id=row.product_id,
            artifact_id=row.artifact_id, path_id=row.path_id, parameters={},
            tags={"team": item.team.slug, "environment": item.environment, "portal-request": f"account-request-{item.pk}"})
        action = "ProvisionProduct"
    row.record_id, row.status = record["record_id"], AccountBaselineProduct.Status.RUNNING
    row.provisioned_product_id = record["pp_id"] or row.provisioned_product_id
    row.save()
    _log(item, action, detail=f"{row.product_name}: record {row.record_id} ({record['status']}), token {row.token}.")


def _baseline_poll(item: AccountRequest, row: AccountBaselineProduct) -> bool:
    """DescribeRecord once; True while the record runs. A failed record fails the request with AWS's words."""
    record = catalog_aws.describe_record(account_id=item.account_id, record_id=row.record_id)
    if record["status"] in ("CREATED", "IN_PROGRESS", "IN_PROGRESS_IN_ERROR"):
        _log(item, "DescribeRecord", "waiting", f"{row.product_name}: record {row.record_id} is {record['status']}.")
        return True
    if record["status"] == "SUCCEEDED" and row.operation == AccountBaselineProduct.Operation.CLEANUP:
        _log(item, "DescribeRecord", detail=f"{row.product_name}: the failed product was removed; provisioning again.")
        row.operation, row.provisioned_product_id, row.record_id = AccountBaselineProduct.Operation.PROVISION, "", ""
        row.token, row.status = _baseline_token(item, row), AccountBaselineProduct.Status.PENDING
        row.save()
        return True
    if record["status"] == "SUCCEEDED":
        row.status = AccountBaselineProduct.Status.SUCCEEDED
        row.save(update_fields=["status"])
        _log(item, "DescribeRecord", detail=f"{row.product_name}: provisioned ({row.provisioned_product_id}).")
        return False
    errors = "; ".join(f"{e['code']}: {e['description']}" for e in record["errors"]) or record["status"]
    row.status, row.error_message = AccountBaselineProduct.Status.FAILED, errors
    row.save(update_fields=["status", "error_message"])
    _log(item, "DescribeRecord", "error", f"{row.product_name}: record {row.record_id} {record['status']}: {errors}")
    _fail(item, "BASELINE_FAILED", f"Service Catalog could not provision the baseline product {row.product_name} "
                                   f"in account {item.account_id}: {errors}. A platform admin should fix the product, "
                                   "then retry (only the missing baseline products are provisioned again).")
    return False


def _step_baseline(item: AccountRequest) -> float | None:
    """Provision the baseline products (all started at once, then polled), then tag the account,
    link it to the inventory and finish. Service Catalog refusing a call fails the request with its
    message; throttling and transient errors are retried by account_request_step; records still
    running after ACCOUNT_MAX_POLLS polls fail it with TIMEOUT (a retry follows the same records)."""
    rows = _baseline_rows(item)
    if rows is None:
        return None
    try:
        for row in rows:
            if row.status == AccountBaselineProduct.Status.PENDING:
                _baseline_start(item, row)
        waiting = False
        for row in rows:
            if row.status == AccountBaselineProduct.Status.RUNNING:
                waiting = _baseline_poll(item, row) or waiting
                if item.state != S.BASELINING:
                    return None
    except catalog_aws.AwsCallError as error:
        if error.kind != "invalid":
            raise
        _fail(item, "BASELINE_FAILED", f"Service Catalog refused a baseline product call ({error.code}: "
                                       f"{error.message}). A platform admin should fix the product or "
                                       "ACCOUNT_BASELINE_PRODUCTS, then retry.")
        return None
    if waiting:
        # Each DescribeRecord above logged its wait.
        names = ", ".join(row.product_name for row in rows if row.status != AccountBaselineProduct.Status.SUCCEEDED)
        return _wait(item, f"Service Catalog did not finish the baseline products {names} in account {item.account_id} "
                     "in time. A platform admin should check their records in Service Catalog (and the "
                     "CloudFormation stacks in the account), then retry: the portal follows the same records.")
    tags = _tags(item)
    aws.tag_account(account_id=item.account_id, tags=tags)
    _log(item, "TagResource", detail=", ".join(f"{k}={v}" for k, v in tags.items()))
    account = account_link(actor=SYSTEM, account_id=item.account_id, name=item.account_name,
                           environment=item.environment, team=item.team, ou_path=item.ou_path, email=item.email)
    networks = preset_account_networks(actor=SYSTEM, accounts=[account])
    if networks["accounts"]:
        _log(item, "network presets", detail="The catalog products' network parameters are preset to the account's "
                                             "own network (its default VPC, subnets and security group).")
    elif networks["unreadable"]:
        _log(item, "network presets", AccountRequestStep.Outcome.ERROR,
             "The account's network could not be read: a platform admin should preset it (catalog policy page).")
    with transaction.atomic():
        _transition(item, "finish", f"Account {item.account_id} is ready and in the inventory.",
                    changes={"finished_at": timezone.now()}, audit_action="account_request.ready",
                    before=_snapshot(item),
                    after=lambda changed: {**_snapshot(changed), "baseline_products": {
                        row.product_name: row.provisioned_product_id for row in rows}})
        notify(users=[item.requester], kind="account_request.ready", team=item.team, url=_url(item),
               subject=f"Your account {item.account_name} ({item.account_id}) is ready")
        _enqueue_dispatch()
    return None


_HANDLERS = {S.CREATING: _step_create, S.MOVING_TO_OU: _step_move, S.BASELINING: _step_baseline}


def _claim(request_id: int) -> AccountRequest | None:
    """Lock the row, read it, claim it for this worker for ACCOUNT_STEP_CLAIM_SECONDS, release.
    None when it is not in flight or another worker's claim has not lapsed."""
    now = timezone.now()
    with transaction.atomic():
        item = AccountRequest.objects.select_for_update().filter(pk=request_id, state__in=IN_FLIGHT).first()
        if item is None or (item.step_claim and item.step_claim_until and item.step_claim_until > now):
            return None
        item.step_claim = str(uuid.uuid4())
        item.step_claim_until = now + timedelta(seconds=int(_setting("ACCOUNT_STEP_CLAIM_SECONDS", 900)))
        item.save(update_fields=["step_claim", "step_claim_until"])
    return AccountRequest.objects.select_related("team", "requester").get(pk=item.pk)


def _release(item: AccountRequest) -> None:
    AccountRequest.objects.filter(pk=item.pk, step_claim=item.step_claim).update(step_claim="", step_claim_until=None)


def account_request_step(*, request_id: int, attempt: int = 0) -> float | None:
    """Advance an in-flight request as far as AWS allows now; returns the seconds until the next
    poll (and schedules it) or None when nothing is left to do. No row lock is held while AWS is
    called: the request is claimed first (``_claim``), every result is recorded in its own short
    transaction, and the claim is released at the end. AWS errors are counted in step_retries
    (reset by a step that raised none), apart from the waiting polls: more than
    ACCOUNT_STEP_MAX_RETRIES in a row fail the request. A repeat or a redelivery is a no-op for
    finished steps (the state says what is done; the calls carry idempotency tokens or look for an
    earlier attempt first); one that arrives while another worker holds the claim leaves at once."""
    item = _claim(request_id)
    if item is None:
        return None
    delay = None
    try:
        while item.state in _HANDLERS:
            action = item.state
            try:
                delay = _HANDLERS[action](item)
            except aws.AwsErrors as error:
                code = aws.error_code(error)
                item.step_retries += 1
                if item.step_retries > int(_setting("ACCOUNT_STEP_MAX_RETRIES", 8)):
                    _fail(item, code or "AWS_ERROR", f"AWS kept answering {code or error} while "
                          f"{item.get_state_display().lower()}. A platform admin can retry once AWS answers again.")
                    return None
                item.save(update_fields=["step_retries"])
                _log(item, item.get_state_display(), "retry", f"AWS answered {code or error}; trying again.")
                delay = backoff_seconds(item.step_retries)
            else:
                if item.step_retries:
                    item.step_retries = 0
                    item.save(update_fields=["step_retries"])
            if delay is None or delay > 0:
                break
    finally:
        _release(item)
    if delay is not None:
        with transaction.atomic():
            _schedule_step(item.pk, delay, attempt + 1)
    return delay


# --- brownfield import ----------------------------------------------------------------------------
def account_import(*, actor, account_id: str, name: str, email: str, ou_path: str, team: Team,
                   environment: str) -> AwsAccount:
    """Add an existing organization account to the inventory with its owning team (platform admins).
    Side effects: the AwsAccount row and its audit event (portal.services.account_link). Idempotent."""
    require(actor, "import", AccountRequest)
    from portal.models import Environment
    if environment not in Environment.values:
        raise DomainError("Choose a known environment.", code="validation_error",
                          fields={"environment": [f"One of {', '.join(Environment.values)}."]})
    return account_link(actor=actor, account_id=account_id, name=name, environment=environment, team=team,
                        ou_path=ou_path, email=email)


# --- sandbox leases -------------------------------------------------------------------------------
def account_lease_check(*, actor=SYSTEM) -> dict:
    """Remind sandbox account owners ACCOUNT_LEASE_REMINDER_DAYS before the lease ends; when it has
    ended, ask for the account's closure (platform admins approve it). Side effects: notifications, an
    audit event per ended lease, the reminder timestamps. A repeat notifies nobody twice."""
    from datetime import timedelta
    today = timezone.localdate()
    soon = today + timedelta(days=int(_setting("ACCOUNT_LEASE_REMINDER_DAYS", 7)))
    ready = AccountRequest.objects.filter(environment="sandbox", state=S.READY, lease_end__isnull=False)
    counts = {"reminded": 0, "expired": 0}
    with transaction.atomic():
        for item in ready.filter(lease_end__lte=soon, lease_end__gte=today, lease_reminded_at__isnull=True) \
                .select_for_update().select_related("team", "requester"):
            item.lease_reminded_at = timezone.now()
            item.save(update_fields=["lease_reminded_at"])
            _log(item, "lease_reminder", detail=f"The lease ends on {item.lease_end}.")
            notify(users=[item.requester], kind="account_request.lease_ending", team=item.team, url=_url(item),
                   subject=f"Sandbox account {item.account_name} lease ends on {item.lease_end}",
                   body="Save what you need; the account will be closed when the lease ends.")
            counts["reminded"] += 1
        for item in ready.filter(lease_end__lt=today, lease_expired_at__isnull=True) \
                .select_for_update().select_related("team", "requester"):
            item.lease_expired_at = timezone.now()
            item.save(update_fields=["lease_expired_at"])
            _log(item, "lease_expired", detail=f"The lease ended on {item.lease_end}: the account should be closed.")
            audit_record(actor=actor, action="account_request.lease_expired", target=item, team=item.team,
                         after={"account_id": item.account_id, "lease_end": str(item.lease_end)})
            notify(users=[item.requester], kind="account_request.lease_expired", team=item.team,
                   url=_url(item), subject=f"Sandbox account {item.account_name} ({item.account_id}): lease ended",
                   body="A closure request was sent to the platform admins.")
            account_close_request(actor=SYSTEM, request=item, reason=f"The sandbox lease ended on {item.lease_end}.")
            counts["expired"] += 1
    return counts


def account_move(*, actor, account_id: str, ou_path: str) -> AwsAccount:
    """Move an inventory account to another OU (platform admins): MoveAccount, then the inventory
    row's OU path (audited by account_link). Moving to the OU it is in changes nothing."""
    require(actor, "import", AccountRequest)
    account = AwsAccount.objects.filter(account_id=account_id).first()
    if account is None:
        raise DomainError("That account is not in the inventory; import it first.", code="validation_error",
                          fields={"account_id": ["Not in the inventory."]})
    destination = aws.ou_id_for_path(ou_path.strip("/"))
    if not ou_path.strip("/") or destination is None:
        raise DomainError(f"There is no OU {ou_path!r} in the organization.", code="validation_error",
                          fields={"ou_path": ["Choose an existing OU, e.g. Workloads/NonProd."]})
    aws.move_account(account_id=account_id, destination_id=destination)
    return account_link(actor=actor, account_id=account.account_id, name=account.name,
                        environment=account.environment, team=account.team, ou_path=ou_path.strip("/"),
                        email=account.email, status=account.status)
