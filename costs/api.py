"""Cost API: summary, by team, by service, by tag, daily, forecast, usage and budgets (read from
the local rollups; no request calls Cost Explorer or SageMaker). Executives see every team or their line of business,
auditors and platform admins everything, team members their teams; anyone else 403; a team
outside the caller's scope 404."""
from datetime import timedelta

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import mixins, serializers, viewsets
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.response import Response

from costs import selectors, services
from costs.models import CostTagDaily, Metric
from costs.services import month_start, today
from portal.models import Team
from portal.pagination import Pagination
from portal.permissions import has_perm

MONEY = {"max_digits": 18, "decimal_places": 2, "coerce_to_string": True}


class CostReaderPermission(BasePermission):
    """Signed in and allowed to read some cost data (else 403). Read-only tokens cannot write."""
    def has_permission(self, request, view):
        user = request.user
        if not user or not user.is_authenticated:
            return False
        if request.method not in SAFE_METHODS and getattr(request.auth, "scope", "write") == "read":
            return False
        return selectors.can_see_team_costs(user)


class CostQuerySerializer(serializers.Serializer):
    metric = serializers.ChoiceField(choices=Metric.choices, default=Metric.UNBLENDED)
    start = serializers.DateField(required=False, help_text="First day (default: the first of this month).")
    end = serializers.DateField(required=False, help_text="Last day, included (default: today).")
    team = serializers.SlugField(required=False, help_text="A team slug: only that team's cost.")

    def validate(self, data):
        day = today()
        data["start"] = data.get("start") or month_start(day)
        data["end"] = data.get("end") or day
        if data["start"] > data["end"]:
            raise serializers.ValidationError({"end": ["Must be on or after start."]})
        if (data["end"] - data["start"]).days > selectors.MAX_RANGE_DAYS:
            raise serializers.ValidationError({"start": [f"Choose at most {selectors.MAX_RANGE_DAYS} days."]})
        data["end_exclusive"] = data["end"] + timedelta(days=1)
        return data


SLUG = {"type": "string", "pattern": r"^[-a-zA-Z0-9_]+$"}
QUERY_PARAMETERS = [OpenApiParameter("metric", str, enum=Metric.values),
                    OpenApiParameter("start", OpenApiTypes.DATE, description="First day (default: the first of this month)."),
                    OpenApiParameter("end", OpenApiTypes.DATE, description="Last day, included (default: today)."),
                    OpenApiParameter("team", SLUG, description="A team slug: only that team's cost.")]


class CostReportViewSet(viewsets.ViewSet):
    permission_classes = [CostReaderPermission]
    pagination_class = Pagination        # lists paginate by hand; this tells the schema
    schema_error_statuses = (404,)       # ?team= outside the caller's scope

    def query(self, request) -> dict:
        # A plain dict: DRF reads an empty value of a QueryDict (?team=) as "not given".
        query = CostQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        data = dict(query.validated_data)
        data["scope"] = selectors.cost_scope(request.user)
        data["team_obj"] = selectors.team_for_costs(request.user, data["team"]) if data.get("team") else None
        return data

    def paginated(self, request, items, serializer_class):
        paginator = Pagination()
        page = paginator.paginate_queryset(items, request, view=self)
        return paginator.get_paginated_response(serializer_class(page, many=True).data)


class TeamCostSerializer(serializers.Serializer):
    team = serializers.CharField(source="slug")
    name = serializers.CharField(source="team")
    line_of_business = serializers.CharField()
    amount = serializers.DecimalField(**MONEY)
    month_to_date = serializers.DecimalField(**MONEY)
    previous_period = serializers.DecimalField(**MONEY)
    change_pct = serializers.DecimalField(max_digits=12, decimal_places=1, allow_null=True)
    budget = serializers.DecimalField(**MONEY)
    budget_used_pct = serializers.DecimalField(max_digits=12, decimal_places=1, allow_null=True)
    forecast = serializers.DecimalField(**MONEY)
    forecast_source = serializers.CharField()
    anomalies = serializers.IntegerField()


@extend_schema_serializer(many=False)      # answered by a `list` action, but one object
class SummarySerializer(serializers.Serializer):
    metric = serializers.CharField()
    as_of = serializers.DateField()
    month = serializers.DateField()
    month_to_date = serializers.DecimalField(**MONEY)
    previous_period = serializers.DecimalField(**MONEY)
    change_pct = serializers.DecimalField(max_digits=12, decimal_places=1, allow_null=True)
    budget = serializers.DecimalField(**MONEY)
    budget_used_pct = serializers.DecimalField(max_digits=12, decimal_places=1, allow_null=True)
    forecast = serializers.DecimalField(**MONEY)
    forecast_source = serializers.CharField()
    forecast_lower = serializers.DecimalField(**MONEY, allow_null=True)
    forecast_upper = serializers.DecimalField(**MONEY, allow_null=True)
    unallocated = serializers.DecimalField(**MONEY)
    unallocated_pct = serializers.DecimalField(max_digits=12, decimal_places=1, allow_null=True)
    last_sync = serializers.DateTimeField(allow_null=True)


class ServiceCostSerializer(serializers.Serializer):
    service = serializers.CharField()
    amount = serializers.DecimalField(**MONEY)


class DailyCostSerializer(serializers.Serializer):
    day = serializers.DateField()
    amount = serializers.DecimalField(**MONEY)


class CostSummaryViewSet(CostReportViewSet):
    """Headline figures of this month: month to date, same days last month, budget, forecast,
    unallocated share (for the team given, or everything the caller may see)."""
    pagination_class = None
    @extend_schema(parameters=QUERY_PARAMETERS, responses=SummarySerializer)
    def list(self, request):
        q = self.query(request)
        rows = selectors.cost_by_team(request.user, metric=q["metric"], scope=q["scope"])
        if q["team_obj"]:
            rows = [r for r in rows if r["team_id"] == q["team_obj"].id]
        summary = selectors.cost_summary(request.user, metric=q["metric"], rows=rows, scope=q["scope"]
                                         if not q["team_obj"] else selectors.CostScope(all_teams=False))
        return Response(SummarySerializer(summary).data)


class CostByTeamViewSet(CostReportViewSet):
    """Spend per team in the range with month to date, budget and forecast."""
    @extend_schema(parameters=QUERY_PARAMETERS, responses=TeamCostSerializer(many=True))
    def list(self, request):
        q = self.query(request)
        rows = selectors.cost_by_team(request.user, metric=q["metric"], start=q["start"], end=q["end_exclusive"],
                                      scope=q["scope"])
        if q["team_obj"]:
            rows = [r for r in rows if r["team_id"] == q["team_obj"].id]
        rows.sort(key=lambda r: r["amount"], reverse=True)
        return self.paginated(request, rows, TeamCostSerializer)


class CostByServiceViewSet(CostReportViewSet):
    """Spend per AWS service in the range, largest first."""
    @extend_schema(parameters=QUERY_PARAMETERS, responses=ServiceCostSerializer(many=True))
    def list(self, request):
        q = self.query(request)
        rows = selectors.cost_by_service(request.user, metric=q["metric"], start=q["start"], end=q["end_exclusive"],
                                         team=q["team_obj"], scope=q["scope"])
        return self.paginated(request, rows, ServiceCostSerializer)


class CostDailyViewSet(CostReportViewSet):
    """Spend per complete day in the range (today, whose cost still accrues, is left out)."""
    @extend_schema(parameters=QUERY_PARAMETERS, responses=DailyCostSerializer(many=True))
    def list(self, request):
        q = self.query(request)
        rows = selectors.cost_daily(request.user, metric=q["metric"], start=q["start"], end=q["end_exclusive"],
                                    team=q["team_obj"], scope=q["scope"])
        return self.paginated(request, rows, DailyCostSerializer)


class TagCostSerializer(serializers.Serializer):
    team = serializers.CharField(source="team__slug", allow_null=True)
    key = serializers.ChoiceField(choices=CostTagDaily.Key.choices)
    value = serializers.CharField()
    amount = serializers.DecimalField(**MONEY)


class TagQuerySerializer(serializers.Serializer):
    key = serializers.ChoiceField(choices=CostTagDaily.Key.choices, required=False,
                                  help_text="Only this tag: project, model, domain (a SageMaker domain) or request "
                                            "(a provisioned product: the portal-request tag, the request's id).")


class CostByTagViewSet(CostReportViewSet):
    """Spend per team and project, model, SageMaker domain or provisioned product (portal-request)
    tag in the range (tagged cost only), largest first."""
    @extend_schema(parameters=[*QUERY_PARAMETERS, OpenApiParameter("key", str, enum=CostTagDaily.Key.values)],
                   responses=TagCostSerializer(many=True))
    def list(self, request):
        q = self.query(request)
        tag = TagQuerySerializer(data=request.query_params.dict())
        tag.is_valid(raise_exception=True)
        rows = selectors.cost_by_tag(request.user, metric=q["metric"], start=q["start"], end=q["end_exclusive"],
                                     team=q["team_obj"], key=tag.validated_data.get("key", ""), scope=q["scope"])
        return self.paginated(request, rows, TagCostSerializer)


class InstanceTypeUsageSerializer(serializers.Serializer):
    instance_type = serializers.CharField()
    endpoints = serializers.IntegerField()
    instances = serializers.IntegerField()


class TeamUsageSerializer(serializers.Serializer):
    team = serializers.CharField(source="slug")
    name = serializers.CharField()
    line_of_business = serializers.CharField()
    active_users = serializers.IntegerField()
    domains = serializers.IntegerField(help_text="SageMaker domains the portal provisioned, not terminated.")
    user_profiles = serializers.IntegerField()
    mlops_projects = serializers.IntegerField()
    models_in_prod = serializers.IntegerField()
    endpoints = serializers.IntegerField(help_text="SageMaker endpoints in the team's accounts (last usage sync).")
    instances = serializers.IntegerField()
    by_instance_type = InstanceTypeUsageSerializer(many=True)


class UsageViewSet(viewsets.ViewSet):
    """Per team: active users, SageMaker domains, user profiles, MLOps projects, models in
    production and endpoints by instance type (``?team=`` narrows to one team)."""
    permission_classes = [CostReaderPermission]
    pagination_class = Pagination
    schema_error_statuses = (404,)

    @extend_schema(parameters=[OpenApiParameter("team", SLUG)], responses=TeamUsageSerializer(many=True))
    def list(self, request):
        scope = selectors.cost_scope(request.user)
        teams = scope.teams().order_by("name")
        if "team" in request.query_params:      # given empty: 404 like any team one cannot see
            teams = teams.filter(pk=selectors.team_for_costs(request.user, request.query_params["team"]).pk)
        paginator = Pagination()
        page = paginator.paginate_queryset(teams, request, view=self)
        rows = selectors.usage_by_team(request.user, page, scope=scope)
        return paginator.get_paginated_response(TeamUsageSerializer(rows, many=True).data)


class ForecastSerializer(serializers.Serializer):
    team = serializers.CharField(source="slug")
    month_to_date = serializers.DecimalField(**MONEY)
    forecast = serializers.DecimalField(**MONEY)
    forecast_source = serializers.CharField()
    budget = serializers.DecimalField(**MONEY)
    forecast_pct = serializers.DecimalField(max_digits=12, decimal_places=1, allow_null=True)


class CostForecastViewSet(CostReportViewSet):
    """Month-end forecast per team (fetched from Cost Explorer during the sync, never live)."""
    @extend_schema(parameters=QUERY_PARAMETERS, responses=ForecastSerializer(many=True))
    def list(self, request):
        q = self.query(request)
        rows = selectors.cost_by_team(request.user, metric=q["metric"], scope=q["scope"])
        if q["team_obj"]:
            rows = [r for r in rows if r["team_id"] == q["team_obj"].id]
        return self.paginated(request, rows, ForecastSerializer)


class BudgetSerializer(serializers.ModelSerializer):
    team = serializers.CharField(source="slug", read_only=True)
    month_to_date = serializers.SerializerMethodField()
    forecast = serializers.SerializerMethodField()
    budget_used_pct = serializers.SerializerMethodField()

    class Meta:
        model = Team
        fields = ["team", "name", "line_of_business", "monthly_budget_usd", "month_to_date", "forecast",
                  "budget_used_pct"]
        read_only_fields = ["name", "line_of_business"]

    def validate(self, attrs):
        if "monthly_budget_usd" not in attrs:
            raise serializers.ValidationError({"monthly_budget_usd": ["Give the new monthly budget in US dollars."]})
        return attrs

    def _row(self, team):
        return self.context.get("rows", {}).get(team.id, {})

    def get_month_to_date(self, team) -> str | None:
        value = self._row(team).get("month_to_date")
        return None if value is None else f"{value:.2f}"

    def get_forecast(self, team) -> str | None:
        value = self._row(team).get("forecast")
        return None if value is None else f"{value:.2f}"

    def get_budget_used_pct(self, team) -> str | None:
        value = self._row(team).get("budget_used_pct")
        return None if value is None else str(value)


class BudgetViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin,
                    viewsets.GenericViewSet):
    """Monthly budgets of the teams the caller may see, with spend so far and the forecast.
    Platform admins change them (PATCH monthly_budget_usd; audited)."""
    permission_classes = [CostReaderPermission]
    serializer_class = BudgetSerializer
    lookup_field = "slug"
    http_method_names = ["get", "patch", "head", "options"]
    queryset = Team.objects.none()   # the real queryset is the caller's cost scope

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return selectors.cost_scope(self.request.user).teams().order_by("name")

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if getattr(self, "request", None) is not None and self.request.user.is_authenticated:
            rows = selectors.cost_by_team(self.request.user)
            context["rows"] = {r["team_id"]: r for r in rows}
        return context

    def perform_update(self, serializer):
        if not has_perm(self.request.user, "change", Team):
            from rest_framework.exceptions import PermissionDenied
            raise PermissionDenied("Only platform admins change budgets.")
        serializer.instance = services.budget_set(actor=self.request.user, team=serializer.instance,
                                                  monthly_budget_usd=serializer.validated_data["monthly_budget_usd"])


def register_api(router) -> None:
    router.register("costs/summary", CostSummaryViewSet, basename="cost-summary")
    router.register("costs/by-team", CostByTeamViewSet, basename="cost-by-team")
    router.register("costs/by-service", CostByServiceViewSet, basename="cost-by-service")
    router.register("costs/daily", CostDailyViewSet, basename="cost-daily")
    router.register("costs/by-tag", CostByTagViewSet, basename="cost-by-tag")
    router.register("costs/usage", UsageViewSet, basename="cost-usage")
    router.register("costs/forecast", CostForecastViewSet, basename="cost-forecast")
    router.register("budgets", BudgetViewSet, basename="budget")
