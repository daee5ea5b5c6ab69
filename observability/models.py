"""The activity view's data: CloudTrail management events of the accounts the portal knows,
synced on the beat (observability.services.activity_sync), and each account's sync cursor."""
from django.db import models

from portal.models import AwsAccount, Environment, Team


class TargetKind(models.TextChoices):
    """The portal object an event concerns (observability.selectors.TARGET_ROUTES gives its page)."""
    PROVISIONED_PRODUCT = "provisioned_product", "Provisioned product"
    PROVISIONING_REQUEST = "provisioning_request", "Provisioning request"
    ENDPOINT = "endpoint", "Endpoint"
    MODEL_VERSION = "model_version", "Model version"


class ActivityEvent(models.Model):
    """One CloudTrail management event, as LookupEvents returned it, with what the portal knows of it.

    ``team`` and ``environment`` are the account's, copied so that every filter is one index.
    """
    account = models.ForeignKey(AwsAccount, on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    environment = models.CharField(max_length=10, choices=Environment.choices)
    event_id = models.CharField(max_length=64, help_text="CloudTrail's EventId (unique per account).")
    event_time = models.DateTimeField()
    event_name = models.CharField(max_length=128)
    service = models.CharField(max_length=64, help_text="EventSource without '.amazonaws.com', e.g. sagemaker.")
    username = models.CharField(max_length=128, blank=True, help_text="Username: the role session or IAM user.")
    principal_arn = models.CharField(max_length=300, blank=True, help_text="userIdentity.arn")
    identity_type = models.CharField(max_length=40, blank=True, help_text="userIdentity.type")
    access_key_id = models.CharField(max_length=128, blank=True)
    source_ip = models.CharField(max_length=64, blank=True)
    read_only = models.BooleanField(default=False)
    error_code = models.CharField(max_length=128, blank=True)
    resource_type = models.CharField(max_length=128, blank=True, help_text="The event's main resource.")
    resource_name = models.CharField(max_length=512, blank=True)
    resources = models.JSONField(default=list, blank=True, help_text="Every resource CloudTrail names.")
    target_kind = models.CharField(max_length=24, choices=TargetKind.choices, blank=True)
    target_id = models.PositiveBigIntegerField(null=True, blank=True)
    target_label = models.CharField(max_length=200, blank=True)
    via_portal = models.BooleanField(default=False, help_text="Made with the portal's own role.")
    out_of_band = models.BooleanField(default=False, help_text=(
        "A change to a resource the portal made, not made through the portal."))
    detail = models.JSONField(default=dict, blank=True, help_text="The CloudTrailEvent record.")
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-event_time", "-id"]
        constraints = [models.UniqueConstraint(fields=["account", "event_id"], name="activity_event_unique")]
        # One index per filter, each ending in the list's order, so every filtered first page (and
        # every keyset page after it) is one index range scan (bench/activity_view.py).
        indexes = [
            models.Index(fields=["-event_time", "-id"], name="activity_time"),
            models.Index(fields=["team", "-event_time", "-id"], name="activity_team"),
            models.Index(fields=["account", "-event_time", "-id"], name="activity_account"),
            models.Index(fields=["environment", "-event_time", "-id"], name="activity_environment"),
            models.Index(fields=["username", "-event_time", "-id"], name="activity_user"),
            models.Index(fields=["service", "-event_time", "-id"], name="activity_service"),
            models.Index(fields=["event_name", "-event_time", "-id"], name="activity_event_name"),
            models.Index(fields=["resource_name", "-event_time", "-id"], name="activity_resource"),
            models.Index(fields=["-event_time", "-id"], name="activity_out_of_band",
                         condition=models.Q(out_of_band=True)),
        ]

    def __str__(self):
        return f"{self.event_name} by {self.username or '?'} in {self.account_id} at {self.event_time:%Y-%m-%d %H:%M}"


class ActivitySyncCursor(models.Model):
    """Where the sync of one account stands: the end of the last window read in full, the window
    being read (with LookupEvents' NextToken, valid only with that window's parameters), and the
    lease that keeps two runs off the same account."""
    account = models.OneToOneField(AwsAccount, on_delete=models.CASCADE, related_name="+")
    synced_until = models.DateTimeField(null=True, blank=True, help_text="End of the last window read in full.")
    window_start = models.DateTimeField(null=True, blank=True)
    window_end = models.DateTimeField(null=True, blank=True)
    next_token = models.TextField(blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=36, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_requests = models.PositiveSmallIntegerField(default=0)
    last_events = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    def __str__(self):
        return f"activity sync of {self.account_id} until {self.synced_until}"
