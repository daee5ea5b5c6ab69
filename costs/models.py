"""Cost data: raw Cost Explorer facts, the attributed rollups dashboards read, forecasts, sync
runs and budget alerts.

``CostFact`` is what Cost Explorer said (one row per day x grouping x key, both metrics).
``CostDaily`` is the attributed grain (day x team x environment x account x service); the
smaller ``CostMonthly`` and ``CostTeamDay`` rollups and ``CostAnomaly`` flags are derived from it
during the sync, so no page ever aggregates the raw table. Amounts are Decimal USD.
"""
from django.conf import settings
from django.db import models

from portal.models import Team

AMOUNT = {"max_digits": 18, "decimal_places": 6, "default": 0}
UNALLOCATED = "unallocated"


class Metric(models.TextChoices):
    UNBLENDED = "unblended", "Unblended"
    AMORTIZED = "amortized", "Amortized"


class CostSyncRun(models.Model):
    """One Cost Explorer sync (periodic window or one backfill window) and what it cost."""
    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=20, default="window")       # window | backfill
    window_start = models.DateField()
    window_end = models.DateField(help_text="Exclusive, like Cost Explorer's End.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RUNNING, db_index=True)
    requests_made = models.PositiveIntegerField(default=0)
    rows = models.PositiveIntegerField(default=0, help_text="Cost Explorer groups upserted.")
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    notes = models.TextField(blank=True, help_text="What was skipped, and why (the run still succeeded).")
    groupings = models.JSONField(default=dict, blank=True, help_text=(
        "Per grouping tried: {pages: Cost Explorer requests spent, complete: read to the last page}."))
    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self):
        return f"{self.kind} {self.window_start}..{self.window_end} {self.status}"


class CostFact(models.Model):
    """One Cost Explorer group of one day, as returned (the local fact table)."""
    class Grouping(models.TextChoices):
        TEAM_SERVICE = "team_service", "Team tag x service"
        ACCOUNT_SERVICE = "account_service", "Linked account x service"
        TEAM_PROJECT = "team_project", "Team tag x project tag"
        TEAM_MODEL = "team_model", "Team tag x model tag"
        TEAM_DOMAIN = "team_domain", "Team tag x domain tag"
        TEAM_REQUEST = "team_request", "Team tag x portal-request tag"

    day = models.DateField()
    grouping = models.CharField(max_length=20, choices=Grouping.choices)
    account_id = models.CharField(max_length=12, blank=True, help_text="Blank in the team grouping.")
    team_tag = models.CharField(max_length=128, blank=True, help_text="Blank: untagged (or the account grouping).")
    service = models.CharField(max_length=200, blank=True, help_text="Blank in the tag groupings.")
    tag_value = models.CharField(max_length=256, blank=True,
                                 help_text="The project, model, domain or portal-request tag (tag groupings).")
    unblended = models.DecimalField(**AMOUNT)
    amortized = models.DecimalField(**AMOUNT)
    estimated = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "grouping", "account_id", "team_tag", "service",
                                                       "tag_value"],
                                               name="cost_fact_unique_key")]
        indexes = [models.Index(fields=["day", "grouping"])]


class CostDaily(models.Model):
    """Attributed daily cost: team (None = unallocated) x environment x account x service."""
    day = models.DateField()
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    environment = models.CharField(max_length=20, blank=True)
    account_id = models.CharField(max_length=12, blank=True)
    service = models.CharField(max_length=200)
    unblended = models.DecimalField(**AMOUNT)
    amortized = models.DecimalField(**AMOUNT)

    class Meta:
        indexes = [models.Index(fields=["day"]), models.Index(fields=["team", "day"])]


class CostMonthly(models.Model):
    """Monthly rollup of CostDaily: month (first day) x team x environment x service."""
    month = models.DateField()
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    environment = models.CharField(max_length=20, blank=True)
    service = models.CharField(max_length=200)
    unblended = models.DecimalField(**AMOUNT)
    amortized = models.DecimalField(**AMOUNT)

    class Meta:
        indexes = [models.Index(fields=["month"]), models.Index(fields=["team", "month"])]


class CostTeamDay(models.Model):
    """Daily total per team (None = unallocated): trends, movers and budgets read this."""
    day = models.DateField()
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    unblended = models.DecimalField(**AMOUNT)
    amortized = models.DecimalField(**AMOUNT)

    class Meta:
        indexes = [models.Index(fields=["day"]), models.Index(fields=["team", "day"])]


class CostTagDaily(models.Model):
    """Daily cost per team and project, model or SageMaker domain tag (what the portal tags when it
    provisions)."""
    class Key(models.TextChoices):
        PROJECT = "project", "Project"
        MODEL = "model", "Model"
        DOMAIN = "domain", "SageMaker domain"
        REQUEST = "request", "Provisioned product"     # the portal-request tag: the request's id

    day = models.DateField()
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    key = models.CharField(max_length=20, choices=Key.choices)
    value = models.CharField(max_length=256)
    unblended = models.DecimalField(**AMOUNT)
    amortized = models.DecimalField(**AMOUNT)

    class Meta:
        indexes = [models.Index(fields=["day"]), models.Index(fields=["team", "day"]),
                   models.Index(fields=["key", "day"])]


class EndpointVariant(models.Model):
    """One production variant of a SageMaker endpoint in a team account, as the last usage sync
    saw it (``costs.services.usage_sync``): what the usage report counts endpoints by."""
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                             help_text="The account's team when synced.")
    account_id = models.CharField(max_length=12)
    endpoint_name = models.CharField(max_length=63)
    variant_name = models.CharField(max_length=63)
    status = models.CharField(max_length=30, help_text="EndpointStatus: InService, Creating, Updating, …")
    instance_type = models.CharField(max_length=40, help_text="Blank for a serverless variant.")
    instance_count = models.PositiveIntegerField(default=0)
    synced_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account_id", "endpoint_name", "variant_name"],
                                               name="endpoint_variant_unique")]
        indexes = [models.Index(fields=["team", "instance_type"])]


class UsageSyncRun(models.Model):
    """One run of the usage sync (``costs.services.usage_sync``): when, which accounts it read,
    and which it could not. The usage report says when endpoints were last read from it."""
    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField()
    account_ids = models.JSONField(default=list, help_text="The accounts asked for; [] means every team account.")
    accounts_read = models.PositiveIntegerField(default=0)
    variants = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=dict, blank=True, help_text="{account id: AWS's message} of accounts not read.")

    class Meta:
        ordering = ["-started_at", "-id"]


class CostAnomaly(models.Model):
    """A day whose cost for (team, environment, service) is far above its trailing baseline."""
    day = models.DateField()
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    environment = models.CharField(max_length=20, blank=True)
    service = models.CharField(max_length=200)
    amount = models.DecimalField(**AMOUNT)
    baseline = models.DecimalField(**AMOUNT)

    class Meta:
        ordering = ["-day", "-amount"]
        indexes = [models.Index(fields=["day"]), models.Index(fields=["team", "day"])]


class CostForecast(models.Model):
    """Cost Explorer's forecast of the organisation's spend from ``start`` to the month's end."""
    month = models.DateField()
    metric = models.CharField(max_length=20, choices=Metric.choices)
    start = models.DateField()
    mean = models.DecimalField(**AMOUNT)
    lower = models.DecimalField(**AMOUNT)
    upper = models.DecimalField(**AMOUNT)
    fetched_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["month", "metric"], name="cost_forecast_unique_month")]


class BudgetAlert(models.Model):
    """One budget alert sent: at most one per team, month, threshold and basis."""
    class Basis(models.TextChoices):
        ACTUAL = "actual", "Actual"
        FORECAST = "forecast", "Forecast"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    threshold = models.PositiveSmallIntegerField(help_text="Percent of the budget: 80 or 100.")
    basis = models.CharField(max_length=10, choices=Basis.choices)
    amount = models.DecimalField(**AMOUNT)
    budget = models.DecimalField(max_digits=12, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["team", "month", "threshold", "basis"],
                                               name="budget_alert_once")]


class CostSyncLock(models.Model):
    """The single row a sync locks while it replaces cost rows, so two syncs never interleave."""
    id = models.PositiveSmallIntegerField(primary_key=True, default=1)


class DigestSubscription(models.Model):
    """A user who opted in to the weekly cost digest e-mail."""
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cost_digest")
    created_at = models.DateTimeField(auto_now_add=True)


class DigestDelivery(models.Model):
    """One weekly digest sent to one user: at most one per user and week."""
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    week_start = models.DateField(help_text="The Monday of the week the digest covers.")
    sent_at = models.DateTimeField(auto_now_add=True)
    with_pdf = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "week_start"], name="digest_once_per_week")]
