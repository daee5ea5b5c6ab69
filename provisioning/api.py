"""API twins of the provisioning pages: /catalog/products/, /provisioning-requests/ (create with
Idempotency-Key; approve, reject, cancel, retry, update, terminate, submit) and /provisioned-products/."""
import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from portal.api_base import IdempotentCreateMixin, ReasonSerializer, ScopedViewSetMixin, StepLogMixin, deny_reason
from portal.errors import DomainError
from portal.filters import PortalFilterSet
from portal.models import AwsAccount
from portal.permissions import PolicyPermission
from provisioning import selectors, services
from provisioning.models import CatalogProduct, CatalogVersion, ProvisionedProduct, ProvisioningRequest, RequestState


class CatalogVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = CatalogVersion
        fields = ["artifact_id", "name", "description", "guidance", "created_time", "parameters", "outputs"]


class CatalogProductSerializer(serializers.ModelSerializer):
    versions = CatalogVersionSerializer(many=True, read_only=True)
    monthly_estimate_usd = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)

    class Meta:
        model = CatalogProduct
        fields = ["product_id", "name", "owner", "short_description", "product_type", "distributor", "support_email",
                  "support_description", "support_url", "kind", "launch_paths", "enabled", "requires_approval",
                  "hourly_price_usd", "monthly_estimate_usd", "lifetime_days", "synced_at", "versions"]


class CatalogProductViewSet(viewsets.ReadOnlyModelViewSet):
    """The catalog the caller may request from (platform admins see every synced product).
    ``?search=`` searches name and description. POST sync/ (platform admins) starts a sync."""
    queryset = CatalogProduct.objects.none()
    serializer_class = CatalogProductSerializer
    permission_classes = [PolicyPermission]
    policy_model = CatalogProduct
    policy_actions = {"sync": "sync"}
    lookup_field = "product_id"
    search_fields = ["name", "short_description", "owner"]
    ordering_fields = ["name"]
    filterset_fields = ["kind", "requires_approval"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return selectors.catalog_for_user(self.request.user)

    @extend_schema(request=None, responses={202: dict})
    @action(detail=False, methods=["post"])
    def sync(self, request):
        from provisioning.tasks import catalog_sync
        catalog_sync.delay()
        return Response({"status": "sync started"}, status=status.HTTP_202_ACCEPTED)


class ProvisioningRequestSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    requester = serializers.SlugRelatedField(slug_field="username", read_only=True)
    product = serializers.SlugRelatedField(slug_field="product_id", read_only=True)
    product_name = serializers.CharField(source="product.name", read_only=True)
    version = serializers.SlugRelatedField(slug_field="artifact_id", read_only=True)
    account = serializers.SlugRelatedField(slug_field="account_id", read_only=True)
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    undecidable = serializers.SerializerMethodField(
        help_text="Why nobody who exists may decide the request; empty when someone may.")

    class Meta:
        model = ProvisioningRequest
        fields = ["id", "team", "requester", "product", "product_name", "version", "account", "name", "project",
                  "parameters", "state", "state_label", "operation", "provision_token", "record_id",
                  "provisioned_product_id", "outputs", "error_message", "estimated_monthly_usd", "approval_reason",
                  "over_budget", "decided_by", "decided_at", "decision_comment", "created_at", "submitted_at",
                  "state_changed_at", "finished_at", "expires_at", "undecidable"]

    def get_undecidable(self, item) -> str:
        known = self.context.setdefault("approver_ids", {})      # one query per team, not per row
        if item.team_id not in known:
            known[item.team_id] = services.approver_ids(item.team_id)
        return services.undecidable_reason(item, known[item.team_id])


class ProvisioningRequestCreateSerializer(serializers.Serializer):
    product = serializers.SlugRelatedField(slug_field="product_id", queryset=CatalogProduct.objects.all())
    account = serializers.SlugRelatedField(slug_field="account_id", queryset=AwsAccount.objects.all())
    version = serializers.CharField(required=False, allow_blank=True, help_text="artifact id; default: current")
    name = serializers.CharField(max_length=128)
    project = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    parameters = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False, default=dict)
    submit = serializers.BooleanField(required=False, default=True, help_text="False keeps it a draft")


class ProvisioningDecisionSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class ProvisioningUpdateSerializer(serializers.Serializer):
    parameters = serializers.DictField(child=serializers.CharField(allow_blank=True))


class ProvisioningTerminateSerializer(serializers.Serializer):
    confirm_name = serializers.CharField(max_length=128)


class ProvisioningRequestFilter(PortalFilterSet):
    team = django_filters.CharFilter(field_name="team__slug")
    product = django_filters.CharFilter(field_name="product__product_id")
    requester = django_filters.CharFilter(field_name="requester__username")
    state = django_filters.ChoiceFilter(choices=RequestState.choices)

    class Meta:
        model = ProvisioningRequest
        fields = ["team", "product", "requester", "state"]


class _CreateAnswersWithRequest(mixins.CreateModelMixin):
    """Create with the input serializer, answer with the full request."""

    def create(self, request, *args, **kwargs):
        serializer = ProvisioningRequestCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        self.perform_create(serializer)
        return Response(ProvisioningRequestSerializer(serializer.instance).data, status=status.HTTP_201_CREATED)


class ProvisioningRequestViewSet(ScopedViewSetMixin, IdempotentCreateMixin, _CreateAnswersWithRequest, StepLogMixin,
                                 viewsets.ReadOnlyModelViewSet):
    """Provisioning requests of the caller's teams. Transitions are POST actions (approve, deny
    with a required reason, cancel, retry, as every request kind; reject is deny's older name);
    an action the request's state does not allow answers 409 ``invalid_transition``."""
    queryset = ProvisioningRequest.objects.select_related("team", "requester", "product", "version", "account",
                                                          "decided_by")
    serializer_class = ProvisioningRequestSerializer
    policy_model = ProvisioningRequest
    policy_actions = {"approve": "approve", "reject": "approve", "deny": "approve", "cancel": "change", "retry": "change",
                      "update_parameters": "change", "terminate": "change", "submit": "change"}
    filterset_class = ProvisioningRequestFilter
    search_fields = ["name"]
    ordering_fields = ["created_at", "state"]

    def get_serializer_class(self):
        return ProvisioningRequestCreateSerializer if self.action == "create" else ProvisioningRequestSerializer

    def perform_create(self, serializer):
        data = serializer.validated_data
        version = None
        if data.get("version"):
            version = data["product"].versions.filter(artifact_id=data["version"]).first()
            if version is None:
                raise DomainError("Unknown version for this product.", code="validation_error",
                                  fields={"version": ["Unknown version."]})
        serializer.instance = services.request_create(
            actor=self.request.user, product=data["product"], account=data["account"], version=version,
            name=data["name"], project=data.get("project", ""), parameters=data.get("parameters", {}),
            submit=data.get("submit", True))

    def _answer(self, item):
        item = self.get_queryset().get(pk=item.pk)
        return Response(ProvisioningRequestSerializer(item).data)

    @extend_schema(request=ProvisioningDecisionSerializer, responses=ProvisioningRequestSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        data = _valid(ProvisioningDecisionSerializer, request)
        return self._answer(services.request_approve(actor=request.user, request=self.get_object(),
                                                     comment=data["comment"]))

    @extend_schema(request=ProvisioningDecisionSerializer, responses=ProvisioningRequestSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        data = _valid(ProvisioningDecisionSerializer, request)
        return self._answer(services.request_reject(actor=request.user, request=self.get_object(),
                                                    comment=data["comment"]))

    @extend_schema(request=ReasonSerializer, responses=ProvisioningRequestSerializer)
    @action(detail=True, methods=["post"])
    def deny(self, request, pk=None):
        item = self.get_object()
        return self._answer(services.request_reject(actor=request.user, request=item, comment=deny_reason(request)))

    @extend_schema(request=None, responses=ProvisioningRequestSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._answer(services.request_cancel(actor=request.user, request=self.get_object()))

    @extend_schema(request=None, responses=ProvisioningRequestSerializer)
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        return self._answer(services.request_retry(actor=request.user, request=self.get_object()))

    @extend_schema(request=None, responses=ProvisioningRequestSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        return self._answer(services.request_submit(actor=request.user, request=self.get_object()))

    @extend_schema(request=ProvisioningUpdateSerializer, responses=ProvisioningRequestSerializer)
    @action(detail=True, methods=["post"], url_path="update", url_name="update")
    def update_parameters(self, request, pk=None):
        data = _valid(ProvisioningUpdateSerializer, request)
        return self._answer(services.request_update(actor=request.user, request=self.get_object(),
                                                    parameters=data["parameters"]))

    @extend_schema(request=ProvisioningTerminateSerializer, responses=ProvisioningRequestSerializer)
    @action(detail=True, methods=["post"])
    def terminate(self, request, pk=None):
        data = _valid(ProvisioningTerminateSerializer, request)
        return self._answer(services.request_terminate(actor=request.user, request=self.get_object(),
                                                       confirm_name=data["confirm_name"]))


def _valid(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class ProvisionedProductSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    account = serializers.SlugRelatedField(slug_field="account_id", read_only=True)
    product = serializers.SlugRelatedField(slug_field="product_id", read_only=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ProvisionedProduct
        fields = ["id", "team", "account", "product", "owner", "request", "name", "pp_id", "artifact_id", "status",
                  "status_message", "outputs", "last_record_id", "drift", "drift_report", "checked_at", "created_at",
                  "terminated_at"]


class ProvisionedProductViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """The inventory of the caller's teams: status, outputs, owner, originating request, drift."""
    queryset = ProvisionedProduct.objects.select_related("team", "account", "product", "owner")
    serializer_class = ProvisionedProductSerializer
    policy_model = ProvisionedProduct
    filterset_fields = {"team__slug": ["exact"], "drift": ["exact"], "status": ["exact"],
                        "terminated_at": ["isnull"]}
    ordering_fields = ["name", "created_at"]


def register_api(router) -> None:
    router.register("catalog/products", CatalogProductViewSet, basename="catalog-product")
    router.register("provisioning-requests", ProvisioningRequestViewSet, basename="provisioning-request")
    router.register("provisioned-products", ProvisionedProductViewSet, basename="provisioned-product")
