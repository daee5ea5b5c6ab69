"""Catalog mirror, product policy, provisioning requests with their step log, and the inventory.

AWS Service Catalog stays the system of record for products and provisioned products; the portal
owns the requests, the decisions, the policy around products and who owns what (DESIGN.md §6).
Account vending (issue 5) will add its own request model beside ``ProvisioningRequest``.
"""
import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone

from portal.crypto import EncryptedJSONField
from portal.models import AwsAccount, Environment, StepLog, Team, TeamRole

HOURS_PER_MONTH = Decimal("730")

product_name_validator = RegexValidator(
    r"^[a-zA-Z0-9][a-zA-Z0-9._-]{0,127}$",
    "Use 1–128 letters, digits, dots, underscores or hyphens, starting with a letter or digit.")


class CatalogProduct(models.Model):
    """A Service Catalog product as the hub account sees it (SearchProducts + DescribeProduct),
    plus the portal's policy for it, which platform admins edit."""

    class Kind(models.TextChoices):
        SERVICE = "service", "Service product"
        ACCOUNT_FACTORY = "account_factory", "Account factory (account vending)"

    product_id = models.CharField(max_length=50, unique=True)
    view_id = models.CharField(max_length=50, blank=True)
    name = models.CharField(max_length=200, db_index=True)
    owner = models.CharField(max_length=200, blank=True)
    short_description = models.TextField(blank=True)
    product_type = models.CharField(max_length=40, blank=True)
    distributor = models.CharField(max_length=200, blank=True)
    support_email = models.CharField(max_length=200, blank=True)
    support_description = models.TextField(blank=True)
    support_url = models.CharField(max_length=500, blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.SERVICE)
    launch_paths = models.JSONField(default=list, blank=True,
                                    help_text="[{id, name (portfolio), constraints: [{Type, Description}]}]")
    in_catalog = models.BooleanField(default=True, help_text="False once the product left Service Catalog.")
    synced_at = models.DateTimeField(null=True, blank=True)
    # Policy (admin-editable)
    enabled = models.BooleanField(default=True, help_text="Shown to teams and requestable.")
    allowed_teams = models.ManyToManyField(Team, blank=True, related_name="+",
                                           help_text="Teams that may request it; none selected means every team.")
    allowed_roles = models.JSONField(default=list, blank=True,
                                     help_text="Team roles that may request it; empty means every team role.")
    requires_approval = models.BooleanField(default=True,
                                            help_text="A team lead or platform admin must approve each request.")
    hourly_price_usd = models.DecimalField(max_digits=10, decimal_places=4, default=Decimal("0"),
                                           validators=[MinValueValidator(0)],
                                           help_text="Used for the monthly estimate (× 730 hours).")
    lifetime_days = models.PositiveIntegerField(null=True, blank=True,
                                                help_text="Products expire this many days after they become "
                                                          "available (owners are reminded first); empty: never.")

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["enabled", "in_catalog", "kind"])]

    def __str__(self):
        return self.name

    @property
    def monthly_estimate_usd(self) -> Decimal:
        return (self.hourly_price_usd * HOURS_PER_MONTH).quantize(Decimal("0.01"))

    @property
    def default_path(self) -> dict | None:
        return self.launch_paths[0] if self.launch_paths else None


class CatalogVersion(models.Model):
    """A provisioning artifact (product version) with the parameters DescribeProvisioningParameters gave."""

    product = models.ForeignKey(CatalogProduct, on_delete=models.CASCADE, related_name="versions")
    artifact_id = models.CharField(max_length=50)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    guidance = models.CharField(max_length=20, default="DEFAULT", help_text="DEFAULT or DEPRECATED")
    created_time = models.DateTimeField(null=True, blank=True)
    parameters = models.JSONField(default=list, blank=True, help_text="ProvisioningArtifactParameters as AWS gave them")
    outputs = models.JSONField(default=list, blank=True, help_text="[{Key, Description}]")
    in_catalog = models.BooleanField(default=True)

    class Meta:
        ordering = ["product", "-created_time", "name"]
        constraints = [models.UniqueConstraint(fields=["product", "artifact_id"], name="catalog_version_unique")]

    def __str__(self):
        return f"{self.product.name} {self.name}"

    @property
    def deprecated(self) -> bool:
        return self.guidance == "DEPRECATED"


class ParameterPreset(models.Model):
    """A rule for one parameter of a product, for every account, a team, an environment or one
    account: a default the requester may change, a hidden value the platform sets (VPC, subnets,
    KMS key: networks are per account), or a list of allowed values (e.g. instance types a team may
    use). The most specific rule wins: account, then team and environment, team, environment."""

    class Mode(models.TextChoices):
        DEFAULT = "default", "Default (requester may change it)"
        HIDDEN = "hidden", "Hidden (set by the platform)"
        ALLOWED = "allowed", "Allowed values (comma-separated)"

    product = models.ForeignKey(CatalogProduct, on_delete=models.CASCADE, related_name="presets")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                             help_text="Empty: every team.")
    environment = models.CharField(max_length=10, choices=Environment.choices, blank=True,
                                   help_text="Empty: every environment.")
    account = models.ForeignKey(AwsAccount, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                                help_text="Empty: every account of the team and environment.")
    key = models.CharField(max_length=255, help_text="ParameterKey")
    mode = models.CharField(max_length=10, choices=Mode.choices)
    value = models.CharField(max_length=4096)

    class Meta:
        ordering = ["product", "key", "team", "environment"]
        constraints = [models.UniqueConstraint(fields=["product", "team", "environment", "account", "key", "mode"],
                                               name="parameter_preset_unique")]

    def __str__(self):
        return f"{self.key} {self.mode} {self.value}"

    @property
    def specificity(self) -> int:
        return (4 if self.account_id else 0) + (2 if self.team_id else 0) + (1 if self.environment else 0)


class RequestState(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    PENDING_APPROVAL = "pending_approval", "Waiting for approval"
    APPROVED = "approved", "Approved, waiting to start"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"
    PROVISIONING = "provisioning", "Provisioning in AWS"
    AVAILABLE = "available", "Available"
    UPDATING = "updating", "Updating in AWS"
    TERMINATING = "terminating", "Terminating in AWS"
    TERMINATED = "terminated", "Terminated"
    FAILED = "failed", "Failed"


IN_FLIGHT_STATES = (RequestState.APPROVED, RequestState.PROVISIONING, RequestState.UPDATING,
                    RequestState.TERMINATING)


def new_token() -> str:
    return f"portal-{uuid.uuid4().hex}"


class ProvisioningRequest(models.Model):
    """One provisioned product's life, asked for by a person: request, approval, provisioning,
    updates, termination. The state machine is ``provisioning.transitions``."""

    class Operation(models.TextChoices):
        PROVISION = "provision", "Provision"
        UPDATE = "update", "Update"
        TERMINATE = "terminate", "Terminate"
        CLEANUP = "cleanup", "Remove the failed product before retrying"

    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="provisioning_requests")
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    product = models.ForeignKey(CatalogProduct, on_delete=models.PROTECT, related_name="requests")
    version = models.ForeignKey(CatalogVersion, on_delete=models.PROTECT, related_name="requests")
    account = models.ForeignKey(AwsAccount, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=128, validators=[product_name_validator],
                            help_text="ProvisionedProductName: unique in the account, cannot change later.")
    project = models.CharField(max_length=100, blank=True, help_text="The 'project' tag.")
    parameters = models.JSONField(default=dict, blank=True, help_text="Values sent to AWS (NoEcho ones excluded)")
    secret_parameters = EncryptedJSONField(default=dict, blank=True,
                                           help_text="NoEcho values, encrypted, kept only until AWS accepted the call")
    pending_parameters = models.JSONField(default=dict, blank=True, help_text="Values of the update under way")
    state = models.CharField(max_length=20, choices=RequestState.choices, default=RequestState.DRAFT, db_index=True)
    operation = models.CharField(max_length=10, choices=Operation.choices, default=Operation.PROVISION)
    provision_token = models.CharField(max_length=64, default=new_token, unique=True,
                                       help_text="ProvisionToken; stored before the first call, reused on every attempt")
    operation_token = models.CharField(max_length=80, blank=True,
                                       help_text="Token of the current AWS operation (reused on every attempt)")
    attempt = models.PositiveIntegerField(default=0)
    record_id = models.CharField(max_length=50, blank=True, help_text="The current operation's record")
    provisioned_product_id = models.CharField(max_length=50, blank=True)
    outputs = models.JSONField(default=list, blank=True, help_text="[{OutputKey, OutputValue, Description}]")
    error_message = models.TextField(blank=True)
    estimated_monthly_usd = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    approval_reason = models.TextField(blank=True, help_text="Why the request waits for approval (empty: it did not)")
    over_budget = models.BooleanField(default=False, help_text="At submission the estimate overran the team's budget")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    state_changed_at = models.DateTimeField(default=timezone.now)
    last_step_at = models.DateTimeField(default=timezone.now, help_text="The reconciler re-enqueues stale in-flight work")
    poll_attempt = models.PositiveIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    expiry_reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["team", "state", "-created_at"]),
                   models.Index(fields=["requester", "-created_at"]),
                   models.Index(fields=["product", "-created_at"]),
                   models.Index(fields=["state", "last_step_at"])]

    def __str__(self):
        return f"{self.name} ({self.product.name})"

    @property
    def in_flight(self) -> bool:
        return self.state in IN_FLIGHT_STATES

    @property
    def elapsed(self):
        end = self.finished_at or timezone.now()
        return end - (self.submitted_at or self.created_at)


class RequestStep(StepLog):
    """One line of a provisioning request's step log (``portal.models.StepLog``)."""

    request = models.ForeignKey(ProvisioningRequest, on_delete=models.CASCADE, related_name="steps")

    class Meta(StepLog.Meta):
        indexes = [models.Index(fields=["request", "id"])]


class ProvisionedProduct(models.Model):
    """The inventory: a provisioned product the portal launched, its last known AWS status and drift."""

    class Drift(models.TextChoices):
        NONE = "", "In sync"
        TAINTED = "tainted", "Tainted (last change did not apply)"
        ERROR = "error", "Error in AWS"
        CHANGED = "changed", "Changed outside the portal"
        DELETED = "deleted", "Deleted outside the portal"

    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="provisioned_products")
    request = models.OneToOneField(ProvisioningRequest, on_delete=models.PROTECT, related_name="provisioned")
    account = models.ForeignKey(AwsAccount, on_delete=models.PROTECT, related_name="+")
    product = models.ForeignKey(CatalogProduct, on_delete=models.PROTECT, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=128)
    pp_id = models.CharField(max_length=50)
    artifact_id = models.CharField(max_length=50, blank=True)
    status = models.CharField(max_length=30, blank=True, db_index=True,
                              help_text="AWS status: AVAILABLE, TAINTED, ERROR, …")
    status_message = models.TextField(blank=True)
    outputs = models.JSONField(default=list, blank=True)
    last_record_id = models.CharField(max_length=50, blank=True)
    drift = models.CharField(max_length=10, choices=Drift.choices, blank=True, default="", db_index=True)
    drift_report = models.TextField(blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    terminated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["team__name", "name"]
        constraints = [models.UniqueConstraint(fields=["account", "pp_id"], name="provisioned_product_unique")]
        indexes = [models.Index(fields=["team", "terminated_at"])]

    def __str__(self):
        return f"{self.name} ({self.pp_id})"


class ReconcileRun(models.Model):
    """One reconciler pass: what it compared and what it flagged or re-enqueued."""
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    checked = models.PositiveIntegerField(default=0)
    flagged = models.PositiveIntegerField(default=0)
    requeued = models.PositiveIntegerField(default=0)
    report = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]


ALL_TEAM_ROLE_VALUES = list(TeamRole.values)
