"""API twins of the governance pages: /api/v1/model-groups/, /api/v1/model-versions/ (approve,
reject, sign-off, rollback, continue actions) and /api/v1/model-approvals/ (the caller's model queue with metrics; every kind: /api/v1/approvals/). The
EventBridge endpoint is /api/v1/events/sagemaker/ (governance/urls.py: it authenticates by secret)."""
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from governance import selectors, services
from governance.models import ApprovalDecision, Deployment, ModelGroup, ModelVersion, Stage
from governance.transitions import WAITING_FOR

from portal.api_base import ReasonSerializer, ScopedViewSetMixin, deny_reason
from portal.errors import InvalidTransition

STAGE_OF = {state: stage for stage, state in WAITING_FOR.items()}


class ModelGroupSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    account_id = serializers.CharField(source="account.account_id", read_only=True)

    class Meta:
        model = ModelGroup
        fields = ["id", "name", "arn", "team", "account_id", "is_central", "description", "created_at"]


class DecisionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApprovalDecision
        fields = ["id", "stage", "outcome", "actor_label", "comment", "decided_at", "mirrored_at"]


class DeploymentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Deployment
        fields = ["id", "environment", "status", "endpoint_name", "endpoint_arn", "account_id", "record_id",
                  "is_rollback", "error", "created_at", "finished_at"]


class ModelVersionSerializer(serializers.ModelSerializer):
    group = serializers.CharField(source="group.name", read_only=True)
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    registered_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    is_central = serializers.BooleanField(source="group.is_central", read_only=True)
    stage_label = serializers.CharField(source="get_stage_display", read_only=True)
    waiting_for_stage = serializers.SerializerMethodField()

    class Meta:
        model = ModelVersion
        fields = ["id", "group", "version", "arn", "team", "is_central", "stage", "stage_label", "waiting_for_stage",
                  "approval_status", "approval_description", "metrics", "custom_metadata", "source", "created_by_arn",
                  "registered_by", "description", "central_arn", "upstream_dataset_count", "created_at",
                  "stage_changed_at", "last_error"]

    def get_waiting_for_stage(self, version) -> int | None:
        return None if version.promoted_from_id else STAGE_OF.get(version.stage)


class ModelVersionDetailSerializer(ModelVersionSerializer):
    decisions = DecisionSerializer(many=True, read_only=True)
    deployments = DeploymentSerializer(many=True, read_only=True)

    class Meta(ModelVersionSerializer.Meta):
        fields = ModelVersionSerializer.Meta.fields + ["inference_specification", "model_metrics", "decisions",
                                                        "deployments"]


class ModelDecisionCommentSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, max_length=900, default="")


class ApprovalSerializer(serializers.Serializer):
    """A queue row: the version and the context to decide it."""
    version = ModelVersionSerializer()
    stage = serializers.IntegerField()
    card_status = serializers.CharField()
    age_days = serializers.IntegerField()
    note = serializers.CharField()
    datasets = serializers.IntegerField(allow_null=True)
    prod_version = serializers.SerializerMethodField()
    metrics = serializers.SerializerMethodField()

    def get_prod_version(self, row) -> str | None:
        return row["prod"].arn if row["prod"] else None

    def get_metrics(self, row) -> list:
        return [{**metric, "delta": None if metric["delta"] is None else str(metric["delta"])}
                for metric in row["metrics"]]


class ModelGroupViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """Model package groups of the team dev registries and the central registry.
    Filters: ?team=<slug>&central=true|false."""
    queryset = ModelGroup.objects.all()
    serializer_class = ModelGroupSerializer
    policy_model = ModelGroup
    filter_backends = []

    policy_actions = {"sync": "sync"}

    def get_queryset(self):
        params = self.request.query_params
        return selectors.group_list_for_user(self.request.user, team=params.get("team", ""),
                                             central=params.get("central", ""))

    @extend_schema(request=None, responses={202: dict})
    @action(detail=False, methods=["post"])
    def sync(self, request):
        """Platform admins: sync every team dev registry and the central registry now (in the background)."""
        services.registry_sync_request(actor=request.user)
        return Response({"status": "started"}, status=202)


class ModelVersionViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """Model versions with their chain position. Filters: ?team=&stage=&approval_status=&deployed=
    test|prod&card=approved|none&q=<name prefix>&registry=chain|central|all. Actions take {"comment": "..."}
    (deny: {"reason": "..."}, required; reject is its older name; retry is continue's name shared with
    every request kind); an action the version's stage does not allow answers 409 invalid_transition."""
    queryset = ModelVersion.objects.all()
    serializer_class = ModelVersionSerializer
    policy_model = ModelVersion
    policy_actions = {"approve": "view", "reject": "view", "deny": "view", "sign_off": "view", "rollback": "rollback",
                      "continue_chain": "view", "retry": "view"}
    filter_backends = []

    def get_queryset(self):
        params = self.request.query_params
        if self.action == "list":
            return selectors.version_list_for_user(
                self.request.user, team=params.get("team", ""), stage=params.get("stage", ""),
                approval_status=params.get("approval_status", ""), deployed=params.get("deployed", ""),
                card=params.get("card", ""),
                q=params.get("q", ""), registry=params.get("registry", "chain"))
        return selectors.version_list_for_user(self.request.user, registry="all").prefetch_related(
            "decisions", "deployments")

    def get_serializer_class(self):
        return ModelVersionDetailSerializer if self.action != "list" else ModelVersionSerializer

    def _comment(self, request) -> str:
        serializer = ModelDecisionCommentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data["comment"]

    def _answer(self, version):
        version = self.get_queryset().get(pk=version.pk)
        return Response(ModelVersionDetailSerializer(version).data)

    @extend_schema(request=ModelDecisionCommentSerializer, responses=ModelVersionDetailSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve the stage the version waits for (1: team lead, 2: model approver, 3: ML engineer)."""
        version = self.get_object()
        services.model_version_approve(actor=request.user, version=version, comment=self._comment(request))
        return self._answer(version)

    @extend_schema(request=ModelDecisionCommentSerializer, responses=ModelVersionDetailSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        """Reject at the version's current stage; the comment is required."""
        version = self.get_object()
        services.model_version_reject(actor=request.user, version=version, comment=self._comment(request))
        return self._answer(version)

    @extend_schema(request=ReasonSerializer, responses=ModelVersionDetailSerializer)
    @action(detail=True, methods=["post"])
    def deny(self, request, pk=None):
        """Reject at the version's current stage with the required reason (the team reads it)."""
        version = self.get_object()
        services.model_version_reject(actor=request.user, version=version, comment=deny_reason(request))
        return self._answer(version)

    @extend_schema(request=ModelDecisionCommentSerializer, responses=ModelVersionDetailSerializer)
    @action(detail=True, methods=["post"], url_path="sign-off", url_name="sign-off")
    def sign_off(self, request, pk=None):
        """Stage 3: the ML engineer signs off a version in test for production."""
        version = self.get_object()
        services.model_version_signoff(actor=request.user, version=version, comment=self._comment(request))
        return self._answer(version)

    @extend_schema(request=ModelDecisionCommentSerializer, responses=ModelVersionDetailSerializer)
    @action(detail=True, methods=["post"])
    def rollback(self, request, pk=None):
        """Roll production back from this version (in prod) to the one before it; answers the restored version."""
        version = self.get_object()
        previous = services.model_version_rollback(actor=request.user, version=version, comment=self._comment(request))
        return self._answer(previous)

    @extend_schema(request=None, responses=ModelVersionDetailSerializer)
    @action(detail=True, methods=["post"], url_path="continue", url_name="continue")
    def continue_chain(self, request, pk=None):
        """Retry the next background step: copy to central (dev_approved) or deploy (approved for test/prod)."""
        return self._continue(request)

    @extend_schema(request=None, responses=ModelVersionDetailSerializer)
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        """The same as continue/: retry the next background step (the verb every request kind has)."""
        return self._continue(request)

    def _continue(self, request):
        version = self.get_object()
        if version.stage == Stage.DEV_APPROVED:
            services.model_version_promote(actor=request.user, version=version)
        elif version.stage in (Stage.CENTRAL_APPROVED, Stage.PROD_APPROVED, Stage.DEPLOYING_TEST,
                               Stage.DEPLOYING_PROD):
            services.model_version_deploy(actor=request.user, version=version)
        else:
            raise InvalidTransition(f"This version is {version.get_stage_display().lower()}; no step to continue.")
        return self._answer(version)


class ApprovalViewSet(ScopedViewSetMixin, viewsets.GenericViewSet):
    """The caller's approval queue: versions waiting for a decision they may take, oldest first,
    with metrics against production (deltas), model card status, lineage summary, note and age."""
    queryset = ModelVersion.objects.all()
    serializer_class = ApprovalSerializer
    policy_model = ModelVersion
    filter_backends = []

    def get_queryset(self):
        return selectors.approval_queue_for_user(self.request.user)

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ApprovalSerializer(selectors.with_context(page), many=True).data)


def register_api(router) -> None:
    router.register("model-groups", ModelGroupViewSet, basename="model-group")
    router.register("model-versions", ModelVersionViewSet, basename="model-version")
    router.register("model-approvals", ApprovalViewSet, basename="model-approval")
