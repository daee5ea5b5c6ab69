"""Model cards: the portal's mirror of SageMaker model cards in the central account (AWS_API.md §6),
their immutable versions, the RAM shares that carry them to team accounts (§9) and export jobs.

SageMaker stays the system of record for card content; each ``ModelCardVersion`` row is one
SageMaker version (same number, same status, same content), written only after SageMaker answered.
"""
from django.conf import settings
from django.db import models

from portal.models import Team


class CardStatus(models.TextChoices):
    """SageMaker's ModelCardStatus values; transitions in governance/cards/transitions.py."""
    DRAFT = "Draft", "Draft"
    PENDING_REVIEW = "PendingReview", "Pending review"
    APPROVED = "Approved", "Approved"
    ARCHIVED = "Archived", "Archived (read-only)"


class ModelCard(models.Model):
    """One SageMaker model card in the central account, owned by a team."""
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="model_cards")
    model_version = models.ForeignKey("governance.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="model_cards")
    name = models.CharField(max_length=63, unique=True, help_text="ModelCardName (cannot change).")
    arn = models.CharField(max_length=300, blank=True)
    account_id = models.CharField(max_length=12)
    status = models.CharField(max_length=16, choices=CardStatus.choices, default=CardStatus.DRAFT)
    current_version = models.PositiveIntegerField(default=0)
    content = models.JSONField(default=dict, blank=True, help_text="The latest version's content.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", help_text="None: created directly in SageMaker.")
    review_comment = models.TextField(blank=True, help_text="The model approver's last comment.")
    last_error = models.TextField(blank=True, help_text="Why the last background step failed, for people.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [models.Index(fields=["team", "status"]), models.Index(fields=["status", "-updated_at"]),
                   models.Index(fields=["model_version", "status"]), models.Index(fields=["-updated_at", "-id"])]

    def __str__(self):
        return self.name

    @property
    def model_name(self) -> str:
        return (self.content.get("model_overview") or {}).get("model_name") or self.name

    @property
    def is_read_only(self) -> bool:
        return self.status == CardStatus.ARCHIVED


class ModelCardVersion(models.Model):
    """One immutable SageMaker version of a card."""
    card = models.ForeignKey(ModelCard, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=CardStatus.choices)
    content = models.JSONField(default=dict, blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    author_label = models.CharField(max_length=300, blank=True, help_text="Username, or SageMaker's CreatedBy.")
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(null=True, blank=True, help_text="LastModifiedTime in SageMaker.")

    class Meta:
        ordering = ["-version"]
        constraints = [models.UniqueConstraint(fields=["card", "version"], name="model_card_version_unique")]

    def __str__(self):
        return f"{self.card.name} v{self.version}"


class SharePermission(models.TextChoices):
    EDITABLE = "editable", "Editable"
    READ_ONLY = "read_only", "Read-only"


class ShareStatus(models.TextChoices):
    PENDING = "pending", "Sharing…"
    ACTIVE = "active", "Shared"
    FAILED = "failed", "Sharing failed"
    REVOKED = "revoked", "Revoked"


class ModelCardShare(models.Model):
    """A RAM resource share of a card with one account of the card's team."""
    card = models.ForeignKey(ModelCard, on_delete=models.CASCADE, related_name="shares")
    account_id = models.CharField(max_length=12)
    environment = models.CharField(max_length=10)
    permission = models.CharField(max_length=10, choices=SharePermission.choices)
    status = models.CharField(max_length=10, choices=ShareStatus.choices, default=ShareStatus.PENDING)
    share_arn = models.CharField(max_length=300, blank=True)
    client_token = models.CharField(max_length=64, help_text="RAM clientToken: a retried share changes nothing.")
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["environment", "account_id"]
        constraints = [models.UniqueConstraint(fields=["card", "account_id"], name="model_card_share_unique")]
        indexes = [models.Index(fields=["status", "updated_at"])]


class ExportStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    IN_PROGRESS = "in_progress", "Exporting…"
    COMPLETED = "completed", "Ready to download"
    FAILED = "failed", "Failed"


class ModelCardExport(models.Model):
    """One CreateModelCardExportJob run: SageMaker writes a PDF to S3, the portal serves it."""
    card = models.ForeignKey(ModelCard, on_delete=models.CASCADE, related_name="exports")
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=12, choices=ExportStatus.choices, default=ExportStatus.REQUESTED)
    job_name = models.CharField(max_length=63, unique=True)
    job_arn = models.CharField(max_length=300, blank=True)
    s3_uri = models.CharField(max_length=1024, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["card", "-created_at"]), models.Index(fields=["status", "updated_at"])]
