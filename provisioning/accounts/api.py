"""API twin of the account request pages: /account-requests/ (create with Idempotency-Key;
approve (first or second approval), reject, cancel, retry, close; approve/reject also decide a
pending closure). The account inventory is portal's /accounts/."""
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from portal.api_base import IdempotentCreateMixin, ReasonSerializer, ScopedViewSetMixin, StepLogMixin, deny_reason
from portal.models import Team
from provisioning.accounts import services
from provisioning.accounts.models import VENDING_ENVIRONMENTS, AccountApproval, AccountBaselineProduct, AccountRequest
from provisioning.accounts.selectors import with_approvals


class AccountApprovalSerializer(serializers.ModelSerializer):
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = AccountApproval
        fields = ["stage", "decision", "decided_by", "comment", "at"]


class AccountBaselineProductSerializer(serializers.ModelSerializer):
    class Meta:
        model = AccountBaselineProduct
        fields = ["product_name", "product_id", "status", "record_id", "provisioned_product_id", "error_message"]


class AccountRequestSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    requester = serializers.SlugRelatedField(slug_field="username", read_only=True)
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    approvals = AccountApprovalSerializer(many=True, read_only=True)
    baseline_products = AccountBaselineProductSerializer(many=True, read_only=True)
    queue_position = serializers.SerializerMethodField()
    undecidable = serializers.SerializerMethodField(
        help_text="Why nobody who exists can give the approvals the request still needs; empty when someone can.")

    class Meta:
        model = AccountRequest
        fields = ["id", "team", "requester", "environment", "purpose", "account_name", "email", "sso_first_name",
                  "sso_last_name", "sso_email", "ou_path", "monthly_budget_usd", "lease_end", "state",
                  "vending_path", "account_id", "create_request_id", "failure_reason", "error_message",
                  "approvals_required", "approvals", "decided_by", "decided_at", "decision_comment",
                  "baseline_products", "created_at", "queued_at", "state_changed_at", "finished_at",
                  "queue_position", "undecidable"]

    def get_queue_position(self, item) -> int | None:
        return services.queue_position(item) if item.state == "queued" else None

    def get_undecidable(self, item) -> str:
        known = self.context.setdefault("approver_ids", {})      # one query per team, not per row
        if item.team_id not in known:
            known[item.team_id] = services.approver_ids(item.team_id)
        return services.undecidable_reason(item, known[item.team_id])


class AccountRequestCreateSerializer(serializers.Serializer):
    team = serializers.SlugRelatedField(slug_field="slug", queryset=Team.objects.all())
    environment = serializers.ChoiceField(choices=VENDING_ENVIRONMENTS)
    purpose = serializers.CharField(max_length=2000)
    account_name = serializers.CharField(max_length=100)
    email = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    sso_first_name = serializers.CharField(max_length=100)
    sso_last_name = serializers.CharField(max_length=100)
    sso_email = serializers.CharField(max_length=254)
    monthly_budget_usd = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0)
    lease_end = serializers.DateField(required=False, allow_null=True, default=None)
    ou_path = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class CommentSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class _CreateThroughService(mixins.CreateModelMixin):
    """Create through the service (below IdempotentCreateMixin in the MRO), answer with the full request."""

    def create(self, request, *args, **kwargs):
        serializer = AccountRequestCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        item = services.account_request_create(actor=request.user, **serializer.validated_data)
        return Response(AccountRequestSerializer(item).data, status=status.HTTP_201_CREATED)


class CloseSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class AccountRequestViewSet(ScopedViewSetMixin, IdempotentCreateMixin, _CreateThroughService, StepLogMixin,
                            viewsets.ReadOnlyModelViewSet):
    """Account requests of the caller's teams. Transitions are POST actions (approve, deny with a
    required reason, cancel, retry, as every request kind; reject is deny's older name); one the
    request's state does not allow answers 409 ``invalid_transition``."""
    queryset = with_approvals(AccountRequest.objects.select_related("team", "requester", "decided_by")
                              ).prefetch_related("baseline_products")
    serializer_class = AccountRequestSerializer
    policy_model = AccountRequest
    policy_actions = {"approve": "approve", "reject": "approve", "deny": "approve", "retry": "approve", "cancel": "view",
                      "close": "change"}
    filterset_fields = {"state": ["exact"], "environment": ["exact"], "team__slug": ["exact"]}
    ordering_fields = ["created_at", "state"]

    def get_serializer_class(self):
        return AccountRequestCreateSerializer if self.action == "create" else AccountRequestSerializer

    def _answer(self, item):
        return Response(AccountRequestSerializer(self.get_queryset().get(pk=item.pk)).data)

    def _comment(self, request) -> str:
        serializer = CommentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data["comment"]

    @extend_schema(request=CommentSerializer, responses=AccountRequestSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._answer(services.account_request_approve(actor=request.user, request=self.get_object(),
                                                             comment=self._comment(request)))

    @extend_schema(request=CommentSerializer, responses=AccountRequestSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._answer(services.account_request_reject(actor=request.user, request=self.get_object(),
                                                            comment=self._comment(request)))

    @extend_schema(request=ReasonSerializer, responses=AccountRequestSerializer)
    @action(detail=True, methods=["post"])
    def deny(self, request, pk=None):
        item = self.get_object()
        return self._answer(services.account_request_reject(actor=request.user, request=item,
                                                            comment=deny_reason(request)))

    @extend_schema(request=None, responses=AccountRequestSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._answer(services.account_request_cancel(actor=request.user, request=self.get_object()))

    @extend_schema(request=None, responses=AccountRequestSerializer)
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        return self._answer(services.account_request_retry(actor=request.user, request=self.get_object()))

    @extend_schema(request=CloseSerializer, responses=AccountRequestSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        """Ask to close the (ready) account; a platform admin approves with approve/ or rejects with reject/."""
        serializer = CloseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._answer(services.account_close_request(actor=request.user, request=self.get_object(),
                                                           reason=serializer.validated_data["reason"]))


def register_api(router) -> None:
    router.register("account-requests", AccountRequestViewSet, basename="account-request")
