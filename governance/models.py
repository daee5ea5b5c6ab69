"""Model governance data: the registry mirror (groups, versions), the promotion chain's decisions
and deployments, and the sync cursors.

AWS (SageMaker Model Registry) stays the system of record for packages; the portal owns the chain
position of each version (``ModelVersion.stage``), the decisions taken on it and the deployments it
started. The chain lives on the team's dev version ("chain row"); its copy in the central registry
is a ModelVersion too, linked by ``promoted_from`` (and never carries a chain of its own).
"""
import uuid

from django.conf import settings
from django.db import models

from portal.models import AwsAccount, Team


class Stage(models.TextChoices):
    """A version's position in the promotion chain (DESIGN.md §5); transitions in transitions.py."""
    REGISTERED = "registered", "Registered, awaiting team lead"
    DEV_APPROVED = "dev_approved", "Approved by team lead"
    DEV_REJECTED = "dev_rejected", "Rejected by team lead"
    IN_CENTRAL = "in_central", "In central registry, awaiting model approver"
    CENTRAL_APPROVED = "central_approved", "Approved by model approver"
    CENTRAL_REJECTED = "central_rejected", "Rejected by model approver"
    DEPLOYING_TEST = "deploying_test", "Deploying to test"
    IN_TEST = "in_test", "In test, awaiting ML engineer sign-off"
    TEST_REJECTED = "test_rejected", "Rejected after testing"
    PROD_APPROVED = "prod_approved", "Signed off for production"
    DEPLOYING_PROD = "deploying_prod", "Deploying to production"
    IN_PROD = "in_prod", "In production"
    SUPERSEDED = "superseded", "Replaced in production"
    ROLLED_BACK = "rolled_back", "Rolled back from production"


class ApprovalStatus(models.TextChoices):
    """SageMaker's ModelApprovalStatus."""
    PENDING = "PendingManualApproval", "Pending"
    APPROVED = "Approved", "Approved"
    REJECTED = "Rejected", "Rejected"


class ModelGroup(models.Model):
    """A model package group in a team's dev registry or in the central registry."""
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.PROTECT, related_name="model_groups")
    account = models.ForeignKey(AwsAccount, on_delete=models.PROTECT, related_name="model_groups")
    name = models.CharField(max_length=63)
    arn = models.CharField(max_length=255, unique=True)
    description = models.TextField(blank=True)
    is_central = models.BooleanField(default=False)
    created_at = models.DateTimeField(null=True, blank=True, help_text="CreationTime in SageMaker.")
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["team", "is_central", "name"]),
                   # the dashboard's "name starts with" search (LIKE 'x%' needs pattern ops on PostgreSQL)
                   models.Index(fields=["name"], name="gov_group_name_prefix", opclasses=["varchar_pattern_ops"])]

    def __str__(self):
        return f"{self.name} ({'central' if self.is_central else self.account.name})"


class ModelVersion(models.Model):
    """One model package version, as last seen in SageMaker, plus its chain position."""
    group = models.ForeignKey(ModelGroup, on_delete=models.CASCADE, related_name="versions")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.PROTECT, related_name="model_versions",
                             help_text="The group's team, copied here so every filter is one index.")
    version = models.PositiveIntegerField()
    arn = models.CharField(max_length=255, unique=True)
    description = models.TextField(blank=True, help_text="ModelPackageDescription: the registrant's note.")
    approval_status = models.CharField(max_length=24, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING)
    approval_description = models.TextField(blank=True)
    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.REGISTERED)
    metrics = models.JSONField(default=dict, blank=True, help_text="Numeric headline metrics (name -> string).")
    custom_metadata = models.JSONField(default=dict, blank=True)
    created_by_arn = models.CharField(max_length=300, blank=True, help_text="CreatedBy IAM identity in SageMaker.")
    registered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+", help_text="The portal user who registered it, when known.")
    source = models.CharField(max_length=300, blank=True, help_text="MetadataProperties.GeneratedBy "
                              "(usually a pipeline execution).")
    inference_specification = models.JSONField(default=dict, blank=True)
    model_metrics = models.JSONField(default=dict, blank=True)
    metadata_properties = models.JSONField(default=dict, blank=True)
    upstream_dataset_count = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(null=True, blank=True, help_text="CreationTime in SageMaker.")
    last_modified_at = models.DateTimeField(null=True, blank=True, help_text="LastModifiedTime in SageMaker.")
    stage_changed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # The copy in the central registry: the token is stored before CreateModelPackage is called,
    # so a retried or redelivered copy re-uses it and SageMaker returns the same package.
    promoted_from = models.OneToOneField("self", null=True, blank=True, on_delete=models.SET_NULL,
                                         related_name="central_copy")
    central_arn = models.CharField(max_length=255, blank=True)
    central_client_token = models.CharField(max_length=36, blank=True)
    last_error = models.TextField(blank=True, help_text="Why the last background step failed, for people.")
    reminded_at = models.DateTimeField(null=True, blank=True, help_text="Last reminder to the deciders.")
    escalated_at = models.DateTimeField(null=True, blank=True, help_text="When the wait was escalated.")
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["stage", "stage_changed_at"]),
            models.Index(fields=["team", "stage"]),
            models.Index(fields=["approval_status"]),
            models.Index(fields=["group", "-version"]),
            models.Index(fields=["promoted_from"]),
            models.Index(fields=["-created_at", "-id"]),
        ]

    def __str__(self):
        return f"{self.group.name} v{self.version}"

    @property
    def is_copy(self) -> bool:
        """A central-registry copy of a dev version (the chain lives on the dev version)."""
        return self.promoted_from_id is not None


class Decision(models.TextChoices):
    APPROVE = "approve", "Approved"
    REJECT = "reject", "Rejected"


class DecisionStage(models.IntegerChoices):
    TEAM_LEAD = 1, "Stage 1: team lead"
    MODEL_APPROVER = 2, "Stage 2: model approver"
    ML_ENGINEER = 3, "Stage 3: ML engineer sign-off"


class ApprovalDecision(models.Model):
    """One decision at one stage of a version's chain. At most one per (version, stage): the
    unique constraint is the last line of defence behind the compare-and-set on the stage."""
    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="decisions")
    stage = models.PositiveSmallIntegerField(choices=DecisionStage.choices)
    outcome = models.CharField(max_length=10, choices=Decision.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="model_decisions", help_text="None: decided in SageMaker.")
    actor_label = models.CharField(max_length=300, help_text="Username, or the IAM identity for SageMaker.")
    on_behalf_of = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+", help_text="The delegator, when a delegate decided.")
    comment = models.TextField(blank=True)
    decided_at = models.DateTimeField(auto_now_add=True)
    mirrored_at = models.DateTimeField(null=True, blank=True, help_text="When SageMaker was told.")
    mirror_error = models.TextField(blank=True)
    client_token = models.UUIDField(default=uuid.uuid4, editable=False,
                                    help_text="UpdateModelPackage ClientToken: a repeated mirror changes nothing.")

    class Meta:
        ordering = ["stage", "decided_at"]
        constraints = [models.UniqueConstraint(fields=["version", "stage"], name="approval_decision_one_per_stage")]
        indexes = [models.Index(fields=["actor", "-decided_at"])]

    def __str__(self):
        return f"{self.get_stage_display()} {self.get_outcome_display()} for {self.version}"

    @property
    def token(self) -> str:
        """The decision id as SageMaker's ApprovalDescription carries it."""
        return f"portal-decision-{self.pk}"


class DeploymentStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", "In progress"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class Deployment(models.Model):
    """A deployment of a version to the test or prod endpoint, through the multi-account deploy
    product provisioned in the shared-services account."""
    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="deployments")
    environment = models.CharField(max_length=10, choices=[("test", "Test"), ("prod", "Production")])
    token = models.UUIDField(default=uuid.uuid4, unique=True, help_text="Provision/UpdateToken, set before the call.")
    provisioned_product_name = models.CharField(max_length=128, blank=True)
    provisioned_product_id = models.CharField(max_length=50, blank=True)
    record_id = models.CharField(max_length=50, blank=True)
    status = models.CharField(max_length=12, choices=DeploymentStatus.choices, default=DeploymentStatus.IN_PROGRESS)
    account_id = models.CharField(max_length=12, blank=True)
    endpoint_name = models.CharField(max_length=100, blank=True)
    endpoint_arn = models.CharField(max_length=255, blank=True)
    error = models.TextField(blank=True)
    is_rollback = models.BooleanField(default=False)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["version", "environment", "-created_at"]),
                   models.Index(fields=["status", "created_at"])]

    def __str__(self):
        return f"{self.version} → {self.environment} ({self.get_status_display()})"


class RegistrySyncCursor(models.Model):
    """Where the last registry sync of one account got to (incremental syncs start here)."""
    account = models.OneToOneField(AwsAccount, on_delete=models.CASCADE, related_name="registry_cursor")
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_full_sync_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)


class ProcessedEvent(models.Model):
    """EventBridge event ids already applied (SageMaker may send several per change)."""
    event_id = models.CharField(max_length=100, unique=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
