"""Core data: teams, memberships, roles, AWS accounts, the audit log, API tokens, idempotency,
notifications and team webhooks."""
from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator, URLValidator
from django.db import models
from django.utils import timezone

from portal.crypto import EncryptedTextField


class GlobalRole(models.TextChoices):
    PLATFORM_ADMIN = "platform_admin", "Platform admin"
    MODEL_APPROVER = "model_approver", "Model approver"
    EXECUTIVE = "executive", "Executive"
    AUDITOR = "auditor", "Auditor"


class TeamRole(models.TextChoices):
    LEAD = "lead", "Team lead"
    DATA_SCIENTIST = "data_scientist", "Data scientist"
    ML_ENGINEER = "ml_engineer", "ML engineer"


class Environment(models.TextChoices):
    DEV = "dev", "Development"
    TEST = "test", "Test"
    PROD = "prod", "Production"
    SANDBOX = "sandbox", "Sandbox"
    SHARED = "shared", "Shared services"


slug_validator = RegexValidator(
    r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$",
    "Use 1–40 lower-case letters, digits and hyphens, not starting or ending with a hyphen.")


class Team(models.Model):
    """An ML team: owns accounts, requests, models and costs. Its slug is the AWS `team` tag."""
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=40, unique=True, validators=[slug_validator],
                            help_text="Used as the AWS 'team' tag; cannot be changed later.")
    line_of_business = models.CharField(max_length=100, db_index=True)
    cost_center = models.CharField(max_length=40)
    monthly_budget_usd = models.DecimalField(max_digits=12, decimal_places=2, default=0,
                                             validators=[MinValueValidator(0)])
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Membership(models.Model):
    """A user's role in a team. A user may belong to several teams."""
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=TeamRole.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team__name", "user__username"]
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="membership_unique_team_user")]
        indexes = [models.Index(fields=["user", "role"])]

    def __str__(self):
        return f"{self.user} — {self.get_role_display()} of {self.team}"


class RoleAssignment(models.Model):
    """A global role. ``line_of_business`` narrows approvers and executives; blank means all."""
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="role_assignments")
    role = models.CharField(max_length=20, choices=GlobalRole.choices)
    line_of_business = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user__username", "role"]
        constraints = [models.UniqueConstraint(fields=["user", "role", "line_of_business"],
                                               name="role_assignment_unique")]

    def __str__(self):
        scope = f" ({self.line_of_business})" if self.line_of_business else ""
        return f"{self.user} — {self.get_role_display()}{scope}"


class AwsAccount(models.Model):
    """An AWS account the portal knows, and the team that owns it (None: platform-owned)."""
    account_id = models.CharField(max_length=12, unique=True,
                                  validators=[RegexValidator(r"^\d{12}$", "An AWS account id has 12 digits.")])
    name = models.CharField(max_length=128)
    email = models.EmailField(max_length=64, blank=True)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.PROTECT, related_name="accounts")
    environment = models.CharField(max_length=10, choices=Environment.choices, db_index=True)
    ou_path = models.CharField(max_length=300, blank=True, help_text="e.g. Workloads/NonProd")
    status = models.CharField(max_length=20, default="ACTIVE")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["team", "environment"])]

    def __str__(self):
        return f"{self.name} ({self.account_id})"


class AuditChainHead(models.Model):
    """The single row writers lock to append to the audit chain, so the chain can never fork."""
    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)


class AuditCheckpoint(models.Model):
    """A claim on one signed checkpoint of the audit chain, and its signed document.

    Claimed (unique ``first_seq`` and ``seq``) in a transaction, written to the checkpoint store
    after commit, then marked ``anchored_at``. Verification never trusts this table: it reads the
    store (``portal.audit_checkpoints``), which the database cannot rewrite.
    """
    first_seq = models.PositiveBigIntegerField(unique=True)
    seq = models.PositiveBigIntegerField(unique=True)
    document = models.TextField(help_text="The signed JSON document, exactly as written to the store.")
    created_at = models.DateTimeField()
    anchored_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-seq"]

    def __str__(self):
        return f"checkpoint #{self.first_seq}-{self.seq}"


class AuditEvent(models.Model):
    """One append-only, hash-chained audit record. Written only by ``portal.audit.audit_record``."""
    seq = models.PositiveBigIntegerField(unique=True)
    occurred_at = models.DateTimeField(db_index=True)
    # Hashed into the chain, so never rewritten: a deleted user or team leaves a dangling id.
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING,
                              related_name="+", db_constraint=False)
    actor_label = models.CharField(max_length=150, help_text="Username at the time; 'system' for workers.")
    action = models.CharField(max_length=80, db_index=True)
    target_type = models.CharField(max_length=80, db_index=True)
    target_id = models.CharField(max_length=80, blank=True)
    target_label = models.CharField(max_length=200, blank=True)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.DO_NOTHING, related_name="+",
                             db_constraint=False)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-seq"]
        indexes = [models.Index(fields=["team", "-seq"]), models.Index(fields=["actor", "-seq"]),
                   models.Index(fields=["target_type", "target_id"])]

    def __str__(self):
        return f"#{self.seq} {self.action} {self.target_type}:{self.target_id} by {self.actor_label}"


class ApiToken(models.Model):
    """A token a script uses to act as its owner. Only a hash is stored; the secret is shown once."""
    class Scope(models.TextChoices):
        READ = "read", "Read only"
        WRITE = "write", "Read and write"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, unique=True)
    token_hash = models.CharField(max_length=64)
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.WRITE)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


class IdempotencyRecord(models.Model):
    """The first response to a POST with an Idempotency-Key, replayed for repeats of that POST."""
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    route = models.CharField(max_length=200)
    key = models.CharField(max_length=255)
    body_hash = models.CharField(max_length=64)
    completed = models.BooleanField(default=False)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "route", "key"], name="idempotency_unique_key")]


class WorkerHeartbeat(models.Model):
    """Last time a Celery worker ran the heartbeat task (shown on the health page)."""
    hostname = models.CharField(max_length=200, unique=True)
    seen_at = models.DateTimeField()


class Notification(models.Model):
    """A message to one user in the portal (and by e-mail when ``emailed``). Written by
    ``portal.notifications.notify`` only."""
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=60, help_text="e.g. request.submitted, approval.needed")
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=300, blank=True, help_text="Where the user acts on it.")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    emailed = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at", "-created_at"])]

    def __str__(self):
        return f"{self.subject} → {self.user}"


class TeamWebhook(models.Model):
    """An HTTPS endpoint of a team that receives the team's events, signed with ``signing_secret``.
    Written by ``portal.webhooks`` services only."""
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="webhooks")
    name = models.CharField(max_length=100)
    # Encrypted (portal.crypto): Slack/Teams-style URLs carry a secret in their path. Not filterable.
    url = EncryptedTextField(validators=[URLValidator(schemes=["http", "https"])],
                             help_text="HTTPS endpoint that receives a signed POST per event.")
    # Encrypted (portal.crypto), never hashed: the portal signs every delivery with it.
    signing_secret = EncryptedTextField()
    events = models.JSONField(default=list, blank=True,
                              help_text="Event kinds ('model.in_prod') or families ('model.*'); empty means all.")
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    secret_rotated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["team__name", "name"]
        constraints = [models.UniqueConstraint(fields=["team", "name"], name="webhook_unique_team_name")]
        indexes = [models.Index(fields=["team", "active"])]

    def __str__(self):
        return f"{self.name} ({self.team})"

    def subscribes_to(self, kind: str) -> bool:
        """Whether an event of ``kind`` goes to this webhook: exact kinds, 'family.*', or all when empty."""
        return not self.events or any(
            kind == pattern or (pattern.endswith(".*") and kind.startswith(pattern[:-1])) for pattern in self.events)


class WebhookDelivery(models.Model):
    """One event sent (or to be sent) to one webhook, with its attempts. A redelivery is a new row
    with the same ``event_id``, so receivers de-duplicate on it."""
    class State(models.TextChoices):
        PENDING = "pending", "Waiting to send"
        DELIVERING = "delivering", "Sending"
        SUCCEEDED = "succeeded", "Delivered"
        FAILED = "failed", "Gave up"

    webhook = models.ForeignKey(TeamWebhook, on_delete=models.CASCADE, related_name="deliveries")
    kind = models.CharField(max_length=60)
    event_id = models.UUIDField(db_index=True)
    payload = models.JSONField()
    state = models.CharField(max_length=12, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(
        default=timezone.now, help_text="Pending: when to send. Sending: when the attempt counts as lost.")
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["webhook", "-created_at"]),
                   models.Index(fields=["webhook", "state", "-created_at"]),
                   models.Index(fields=["webhook", "kind", "-created_at"]),
                   models.Index(fields=["state", "next_attempt_at"])]

    def __str__(self):
        return f"{self.kind} → {self.webhook_id} ({self.state})"


class ApprovalDelegation(models.Model):
    """While away, a decider lets a named colleague take the decisions they could take, of every
    kind in the approvals inbox (same teams, same stages), from ``starts_at`` until ``ends_at``.
    Separation of duties applies to both people; decisions record "by delegate for delegator"."""
    delegator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="delegations_given")
    delegate = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                 related_name="delegations_received")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["delegate", "ends_at"]), models.Index(fields=["delegator", "ends_at"])]

    def __str__(self):
        return f"{self.delegator} → {self.delegate} until {self.ends_at:%Y-%m-%d}"


class ApprovalNudge(models.Model):
    """One reminder (level 0) or escalation (1: line of business, 2: platform admins) sent for one
    inbox item's wait. Unique per (kind, item, level, wait): the beat task sends each once."""
    kind = models.CharField(max_length=40)
    object_id = models.PositiveBigIntegerField()
    level = models.PositiveSmallIntegerField()
    waiting_since = models.DateTimeField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "object_id", "level", "waiting_since"],
                                               name="approval_nudge_once_per_level")]


class StepLog(models.Model):
    """One line of a request's step log: a transition or an AWS call, its outcome and its times.
    Concrete logs add the foreign key to their request (``related_name="steps"``)."""

    class Outcome(models.TextChoices):
        OK = "ok", "OK"
        WAITING = "waiting", "Waiting"
        RETRY = "retry", "Will retry"
        ERROR = "error", "Error"

    action = models.CharField(max_length=80, help_text="e.g. ProvisionProduct, DescribeRecord, approve")
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.OK)
    detail = models.TextField(blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(default=timezone.now)

    DETAIL_MAX = 4000

    class Meta:
        abstract = True
        ordering = ["id"]

    def __str__(self):
        return f"{self.action}: {self.outcome}"

    @property
    def at(self):
        """When the step ended (the one time older step logs had)."""
        return self.finished_at

    @property
    def duration_seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()

    def as_api(self) -> dict:
        """The one shape every kind's step log has in the API."""
        return {"action": self.action, "outcome": self.outcome, "detail": self.detail,
                "started_at": self.started_at, "finished_at": self.finished_at}
