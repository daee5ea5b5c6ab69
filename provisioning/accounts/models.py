"""Account requests: a team lead asks for an AWS account, a platform admin approves, the portal
creates it in AWS Organizations, places it in its OU, tags it and links it to the inventory
(``portal.models.AwsAccount``). The state machine is ``provisioning.accounts.transitions``."""
import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone

from portal.models import StepLog, Team


class AccountState(models.TextChoices):
    SUBMITTED = "submitted", "Submitted"
    PENDING_APPROVAL = "pending_approval", "Waiting for approval"
    PENDING_SECOND_APPROVAL = "pending_second_approval", "Waiting for a second approval"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"
    QUEUED = "queued", "Queued"
    CREATING = "creating", "Creating the account"
    MOVING_TO_OU = "moving_to_ou", "Placing in the OU"
    BASELINING = "baselining", "Tagging and baselining"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"
    CLOSE_PENDING = "close_pending", "Closure waiting for approval"
    CLOSING = "closing", "Closing the account"
    CLOSED = "closed", "Closed"


VENDING_ENVIRONMENTS = [("dev", "Development"), ("test", "Test"), ("prod", "Production"), ("sandbox", "Sandbox")]
IN_FLIGHT = (AccountState.CREATING, AccountState.MOVING_TO_OU, AccountState.BASELINING)
AWAITING_DECISION = (AccountState.PENDING_APPROVAL, AccountState.PENDING_SECOND_APPROVAL)
LIVE = (AccountState.SUBMITTED, *AWAITING_DECISION, AccountState.APPROVED, AccountState.QUEUED,
        AccountState.CLOSE_PENDING, AccountState.CLOSING) + IN_FLIGHT


def new_token() -> str:
    return f"acct-{uuid.uuid4().hex}"


class AccountRequest(models.Model):
    """One account asked for by a person, with its AWS progress (ids stored as soon as AWS gives them)."""

    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="account_requests")
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    environment = models.CharField(max_length=10, choices=VENDING_ENVIRONMENTS)
    purpose = models.TextField()
    account_name = models.CharField(max_length=50)
    email = models.CharField(max_length=64, help_text="The account's root e-mail: the key in AWS")
    sso_first_name = models.CharField(max_length=100)
    sso_last_name = models.CharField(max_length=100)
    sso_email = models.EmailField(max_length=254)
    ou_path = models.CharField(max_length=300, help_text="e.g. Workloads/NonProd")
    monthly_budget_usd = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"),
                                             validators=[MinValueValidator(0)])
    lease_end = models.DateField(null=True, blank=True, help_text="Sandbox accounts only")
    approvals_required = models.PositiveSmallIntegerField(
        default=1, help_text="2 when the budget was above ACCOUNT_VENDING_SECOND_APPROVAL_BUDGET_USD at submission")
    state = models.CharField(max_length=30, choices=AccountState.choices, default=AccountState.SUBMITTED,
                             db_index=True)
    vending_path = models.CharField(max_length=20, default="organizations")
    create_request_id = models.CharField(max_length=40, blank=True, help_text="Organizations car-… id")
    create_attempts = models.PositiveIntegerField(default=0)
    provision_token = models.CharField(max_length=64, default=new_token, unique=True,
                                       help_text="Control Tower path: ProvisionToken, reused on every attempt")
    record_id = models.CharField(max_length=50, blank=True, help_text="Control Tower path: the record")
    account_id = models.CharField(max_length=12, blank=True, db_index=True)
    failure_reason = models.CharField(max_length=80, blank=True)
    error_message = models.TextField(blank=True)
    poll_attempt = models.PositiveIntegerField(default=0, help_text="Waiting polls of the current step "
                                               "(TIMEOUT past ACCOUNT_MAX_POLLS)")
    step_retries = models.PositiveIntegerField(default=0, help_text="AWS errors in a row (the request fails past "
                                               "ACCOUNT_STEP_MAX_RETRIES); 0 after a step without one")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    state_changed_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    lease_reminded_at = models.DateTimeField(null=True, blank=True)
    lease_expired_at = models.DateTimeField(null=True, blank=True, help_text="When admins were told the lease ended")
    # The AWS steps run without a row lock: a worker claims the request for a while, calls AWS, and
    # records under the lock again; a duplicate delivery finds the claim and leaves.
    step_claim = models.CharField(max_length=36, blank=True, help_text="The worker running the AWS steps now")
    step_claim_until = models.DateTimeField(null=True, blank=True, help_text="When an abandoned claim lapses")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["team", "state", "-created_at"]),
                   models.Index(fields=["requester", "-created_at"]),
                   models.Index(fields=["state", "queued_at", "id"]),
                   models.Index(fields=["environment", "state", "lease_end"])]
        # Rejected and cancelled requests free their name and e-mail; every other one keeps them.
        constraints = [
            models.UniqueConstraint(fields=["account_name"], condition=~models.Q(state__in=["rejected", "cancelled"]),
                                    name="account_request_name_unique"),
            models.UniqueConstraint(fields=["email"], condition=~models.Q(state__in=["rejected", "cancelled"]),
                                    name="account_request_email_unique"),
        ]

    def __str__(self):
        return f"{self.account_name} ({self.get_state_display()})"

    @property
    def in_flight(self) -> bool:
        return self.state in IN_FLIGHT

    @property
    def live(self) -> bool:
        return self.state in LIVE

    @property
    def first_approval(self) -> "AccountApproval | None":
        """The stage-1 approval while a second one is awaited or given (uses prefetched approvals)."""
        return next((a for a in self.approvals.all() if a.stage == 1 and a.decision == "approve"), None)

    @property
    def badge(self) -> str:
        """Bootstrap colour of the state badge."""
        return {"ready": "success", "failed": "danger", "rejected": "danger", "cancelled": "secondary",
                "pending_approval": "warning", "pending_second_approval": "warning", "queued": "info",
                "close_pending": "warning", "closed": "secondary"}.get(self.state, "primary")


class AccountApproval(models.Model):
    """One platform admin's decision on an account request. Stage 2 exists only for requests that
    need two approvals; two approvals of one request are always by two different people."""

    class Decision(models.TextChoices):
        APPROVE = "approve", "Approved"
        REJECT = "reject", "Rejected"

    request = models.ForeignKey(AccountRequest, on_delete=models.CASCADE, related_name="approvals")
    stage = models.PositiveSmallIntegerField()
    decision = models.CharField(max_length=10, choices=Decision.choices)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", help_text="Empty: the system")
    on_behalf_of = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+", help_text="The delegator, when a delegate decided")
    comment = models.TextField(blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["stage", "id"]
        constraints = [
            models.UniqueConstraint(fields=["request", "stage"], name="account_approval_one_per_stage"),
            models.UniqueConstraint(fields=["request", "decided_by"], condition=models.Q(decision="approve"),
                                    name="account_approval_distinct_approvers"),
        ]

    def __str__(self):
        return f"{self.get_decision_display()} (stage {self.stage}) by {self.decided_by_id}"


class AccountBaselineProduct(models.Model):
    """A baseline Service Catalog product provisioned into the request's new account
    (ACCOUNT_BASELINE_PRODUCTS), with the token and record of its current operation."""

    class Status(models.TextChoices):
        PENDING = "pending", "Not started"
        RUNNING = "running", "In progress"
        SUCCEEDED = "succeeded", "Provisioned"
        FAILED = "failed", "Failed"

    class Operation(models.TextChoices):
        PROVISION = "provision", "Provision"
        CLEANUP = "cleanup", "Remove the failed product"

    request = models.ForeignKey(AccountRequest, on_delete=models.CASCADE, related_name="baseline_products")
    product_name = models.CharField(max_length=200)
    product_id = models.CharField(max_length=50)
    artifact_id = models.CharField(max_length=50)
    path_id = models.CharField(max_length=50, blank=True)
    operation = models.CharField(max_length=10, choices=Operation.choices, default=Operation.PROVISION)
    attempt = models.PositiveIntegerField(default=0)
    token = models.CharField(max_length=128, help_text="ProvisionToken/TerminateToken, stored before the call")
    record_id = models.CharField(max_length=50, blank=True)
    provisioned_product_id = models.CharField(max_length=50, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    error_message = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["request", "product_name"],
                                               name="account_baseline_product_unique")]

    def __str__(self):
        return f"{self.product_name}: {self.get_status_display()}"


class AccountRequestStep(StepLog):
    """One line of an account request's step log (``portal.models.StepLog``)."""

    request = models.ForeignKey(AccountRequest, on_delete=models.CASCADE, related_name="steps")

    class Meta(StepLog.Meta):
        indexes = [models.Index(fields=["request", "id"])]
