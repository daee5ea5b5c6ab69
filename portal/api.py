"""API twins of the core pages: teams, memberships, global roles, accounts, audit log, tokens, webhooks."""
import django_filters
from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, serializers, viewsets
from rest_framework.decorators import action, api_view, permission_classes
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from portal import selectors, services, webhooks
from portal.api_base import IdempotentCreateMixin, ScopedViewSetMixin
from portal.errors import DomainError
from portal.filters import PortalFilterSet
from portal.models import (ApiToken, ApprovalDelegation, AuditEvent, AwsAccount, Membership, Notification, RoleAssignment, Team,
                           TeamWebhook, WebhookDelivery)
from portal.notifications import notification_mark_read
from portal.permissions import global_roles, has_perm, is_platform_admin, team_roles


class TeamSerializer(serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ["id", "name", "slug", "line_of_business", "cost_center", "monthly_budget_usd", "description",
                  "created_at"]
        read_only_fields = ["id", "created_at"]
        extra_kwargs = {"slug": {"validators": []}, "name": {"validators": []}}


class TeamViewSet(ScopedViewSetMixin, IdempotentCreateMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin,
                  viewsets.ReadOnlyModelViewSet):
    """Teams the caller can see. Platform admins create and change them."""
    queryset = Team.objects.all()
    serializer_class = TeamSerializer
    policy_model = Team
    lookup_field = "slug"
    filterset_fields = ["line_of_business", "cost_center"]
    search_fields = ["name", "slug"]
    ordering_fields = ["name", "monthly_budget_usd", "created_at"]

    def perform_create(self, serializer):
        serializer.instance = services.team_create(actor=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.team_update(actor=self.request.user, team=serializer.instance,
                                                   **serializer.validated_data)


class MembershipSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", queryset=Team.objects.all())
    user = serializers.SlugRelatedField(slug_field="username", queryset=get_user_model().objects.filter(is_active=True))

    class Meta:
        model = Membership
        fields = ["id", "team", "user", "role", "created_at"]
        read_only_fields = ["id", "created_at"]
        validators = []


class MembershipViewSet(ScopedViewSetMixin, IdempotentCreateMixin, mixins.CreateModelMixin,
                        mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet):
    """Who is in which team with which role. Platform admins add (or change) and remove members."""
    queryset = Membership.objects.select_related("team", "user")
    serializer_class = MembershipSerializer
    policy_model = Membership
    filterset_fields = {"team__slug": ["exact"], "role": ["exact"], "user__username": ["exact"]}
    ordering_fields = ["created_at", "role"]

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.membership_set(actor=self.request.user, team=data["team"],
                                                      user=data["user"], role=data["role"])

    def perform_destroy(self, instance):
        services.membership_remove(actor=self.request.user, membership=instance)


class RoleAssignmentSerializer(serializers.ModelSerializer):
    user = serializers.SlugRelatedField(slug_field="username", queryset=get_user_model().objects.filter(is_active=True))

    class Meta:
        model = RoleAssignment
        fields = ["id", "user", "role", "line_of_business", "created_at"]
        read_only_fields = ["id", "created_at"]
        validators = []


class RoleAssignmentViewSet(ScopedViewSetMixin, IdempotentCreateMixin, mixins.CreateModelMixin,
                            mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet):
    """Global roles (platform admin, model approver, executive, auditor)."""
    queryset = RoleAssignment.objects.select_related("user")
    serializer_class = RoleAssignmentSerializer
    policy_model = RoleAssignment
    filterset_fields = {"role": ["exact"], "user__username": ["exact"], "line_of_business": ["exact"]}
    ordering_fields = ["created_at", "role"]

    def perform_create(self, serializer):
        serializer.instance = services.role_grant(actor=self.request.user, **serializer.validated_data)

    def perform_destroy(self, instance):
        services.role_revoke(actor=self.request.user, assignment=instance)


class AwsAccountSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = AwsAccount
        fields = ["account_id", "name", "email", "team", "environment", "ou_path", "status", "created_at"]


class AwsAccountViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """AWS accounts the caller's teams own (all of them for platform-wide roles)."""
    queryset = AwsAccount.objects.select_related("team")
    serializer_class = AwsAccountSerializer
    policy_model = AwsAccount
    lookup_field = "account_id"
    filterset_fields = {"team__slug": ["exact"], "environment": ["exact"], "status": ["exact"]}
    search_fields = ["name", "account_id"]
    ordering_fields = ["name", "environment", "created_at"]


class AuditEventFilter(PortalFilterSet):
    action = django_filters.CharFilter(lookup_expr="startswith")
    team = django_filters.CharFilter(field_name="team__slug")
    since = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = AuditEvent
        fields = ["action", "actor_label", "team", "target_type", "target_id", "request_id", "since", "until"]


class AuditEventSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = AuditEvent
        fields = ["seq", "occurred_at", "actor_label", "action", "target_type", "target_id", "target_label", "team",
                  "before", "after", "ip_address", "request_id", "prev_hash", "hash"]


class AuditEventViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """The audit log (auditors and platform admins), newest first."""
    queryset = AuditEvent.objects.select_related("team").order_by("-seq")
    serializer_class = AuditEventSerializer
    policy_model = AuditEvent
    lookup_field = "seq"
    filterset_class = AuditEventFilter
    ordering_fields = ["seq", "occurred_at"]


class ApiTokenSerializer(serializers.ModelSerializer):
    expires_in_days = serializers.IntegerField(write_only=True, min_value=1, default=90)
    token = serializers.CharField(read_only=True, allow_null=True, default=None,
                                  help_text="The secret; returned once, on creation (else null).")

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "scope", "created_at", "expires_at", "last_used_at", "revoked_at",
                  "expires_in_days", "token"]
        read_only_fields = ["id", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at"]


class ApiTokenViewSet(IdempotentCreateMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin,
                      viewsets.ReadOnlyModelViewSet):
    """The caller's own API tokens. DELETE revokes (the row stays for the audit trail). The secret
    is in the creation response only; an Idempotency-Key replay returns the token with "token": null."""
    queryset = ApiToken.objects.none()   # the real queryset is the caller's own tokens
    idempotency_redact = ("token",)
    serializer_class = ApiTokenSerializer
    permission_classes = [IsAuthenticated]
    ordering_fields = ["created_at", "expires_at"]
    filterset_fields = ["scope"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return selectors.tokens_for_user(self.request.user)

    def perform_create(self, serializer):
        via_token = self.request.auth if isinstance(self.request.auth, ApiToken) else None
        token, secret = services.api_token_create(actor=self.request.user, via_token=via_token,
                                                  **serializer.validated_data)
        token.token = secret   # shown once, in this response
        serializer.instance = token

    def perform_destroy(self, instance):
        services.api_token_revoke(actor=self.request.user, token=instance)


@extend_schema(responses={200: dict})
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def me(request):
    """Who the caller is: username, global roles and team roles."""
    user = request.user
    teams = {team.pk: team.slug for team in Team.objects.filter(pk__in=team_roles(user))}
    return Response({
        "username": user.get_username(), "email": user.email, "global_roles": sorted(global_roles(user)),
        "teams": [{"team": teams[team_id], "role": role} for team_id, role in sorted(team_roles(user).items())],
    })


class NotificationSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Notification
        fields = ["id", "kind", "subject", "body", "url", "team", "created_at", "read_at"]


class NotificationViewSet(viewsets.ReadOnlyModelViewSet):
    """The caller's notifications, newest first. POST mark-read marks them read."""
    queryset = Notification.objects.none()
    serializer_class = NotificationSerializer
    permission_classes = [IsAuthenticated]
    filterset_fields = {"kind": ["exact", "startswith"], "read_at": ["isnull"]}
    ordering_fields = ["created_at"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return selectors.notifications_for_user(self.request.user)

    @extend_schema(request=None, responses={200: dict})
    @action(detail=False, methods=["post"], url_path="mark-read")
    def mark_read(self, request):
        return Response({"marked": notification_mark_read(actor=request.user)})


def _may_manage_webhooks(context, team_id: int) -> bool:
    request = context.get("request")
    return request is not None and has_perm(request.user, "change", TeamWebhook, team_id)


class WebhookDeliverySerializer(serializers.ModelSerializer):
    """A delivery; ``response_excerpt`` (the receiver's own words) only for those who may manage the
    webhook, others get "" and see the status code and the generic reason."""
    team = serializers.SlugRelatedField(source="webhook.team", slug_field="slug", read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = ["id", "webhook", "team", "kind", "event_id", "payload", "state", "attempts", "next_attempt_at",
                  "last_status_code", "last_error", "response_excerpt", "created_at", "delivered_at"]
        read_only_fields = fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not _may_manage_webhooks(self.context, instance.webhook.team_id):
            data["response_excerpt"] = ""
        return data


class TeamWebhookSerializer(serializers.ModelSerializer):
    """A webhook; the full URL (it may carry a credential) only for those who may change the webhook,
    others get ``display_url``."""
    team = serializers.SlugRelatedField(slug_field="slug", queryset=Team.objects.all())
    events = serializers.ListField(child=serializers.CharField(max_length=60), required=False, max_length=100,
                                   help_text=webhooks.EVENTS_HELP)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    secret = serializers.CharField(source="new_secret", read_only=True,
                                   help_text="The signing secret: only in the answers of create and rotate-secret.")

    class Meta:
        model = TeamWebhook
        fields = ["id", "team", "name", "url", "events", "active", "created_by", "created_at", "secret_rotated_at",
                  "secret"]
        read_only_fields = ["id", "created_at", "secret_rotated_at"]
        validators = []

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not _may_manage_webhooks(self.context, instance.team_id):
            data["url"] = webhooks.display_url(instance.url)
        return data


class TeamWebhookViewSet(ScopedViewSetMixin, IdempotentCreateMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin,
                         mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet):
    """Outbound webhooks of the caller's teams. Team leads and platform admins manage them; members and
    auditors read them. The signing secret is returned once, by create and rotate-secret (an
    Idempotency-Key replay returns "secret": null). Deliveries: /api/v1/webhook-deliveries/?webhook=<id>."""
    queryset = TeamWebhook.objects.select_related("team", "created_by").defer("signing_secret")
    serializer_class = TeamWebhookSerializer
    policy_model = TeamWebhook
    policy_actions = {"test": "change", "rotate_secret": "change"}
    idempotency_redact = ("secret",)
    filterset_fields = {"team__slug": ["exact"], "active": ["exact"]}
    search_fields = ["name"]     # not url: it is encrypted, and searching it would reveal its secret part
    ordering_fields = ["name", "created_at"]

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "no-store"   # create and rotate-secret carry the secret
        return response

    def perform_create(self, serializer):
        webhook, secret = webhooks.webhook_create(actor=self.request.user, **serializer.validated_data)
        webhook.new_secret = secret
        serializer.instance = webhook

    def perform_update(self, serializer):
        changes = dict(serializer.validated_data)
        team = changes.pop("team", serializer.instance.team)
        if team != serializer.instance.team:
            raise DomainError("A webhook cannot move to another team; create one there.",
                              fields={"team": ["Cannot change."]})
        serializer.instance = webhooks.webhook_update(actor=self.request.user, webhook=serializer.instance, **changes)

    def perform_destroy(self, instance):
        webhooks.webhook_delete(actor=self.request.user, webhook=instance)

    @extend_schema(request=None, responses={202: WebhookDeliverySerializer})
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        """Send a webhook.test event to this webhook now."""
        delivery = webhooks.webhook_send_test(actor=request.user, webhook=self.get_object())
        return Response(WebhookDeliverySerializer(delivery, context=self.get_serializer_context()).data, status=202)

    @extend_schema(request=None, responses={200: TeamWebhookSerializer})
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        """Replace the signing secret; the answer carries the new one, once."""
        webhook, secret = webhooks.webhook_rotate_secret(actor=request.user, webhook=self.get_object())
        webhook.new_secret = secret
        return Response(self.get_serializer(webhook).data)


class WebhookDeliveryFilter(PortalFilterSet):
    webhook = django_filters.NumberFilter(field_name="webhook_id")
    team = django_filters.CharFilter(field_name="webhook__team__slug")
    kind = django_filters.CharFilter(lookup_expr="startswith")

    class Meta:
        model = WebhookDelivery
        fields = ["webhook", "team", "state", "kind", "event_id"]


class WebhookDeliveryViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """Delivery history of the webhooks the caller may see, newest first. For team leads and platform
    admins, POST redeliver sends a finished delivery again (same event id) and POST send-now sends a
    pending one without waiting for its next retry."""
    queryset = WebhookDelivery.objects.select_related("webhook__team").defer("webhook__signing_secret").order_by(
        "-created_at", "-id")
    serializer_class = WebhookDeliverySerializer
    policy_model = WebhookDelivery
    policy_actions = {"redeliver": "change", "send_now": "change"}
    filterset_class = WebhookDeliveryFilter
    ordering_fields = ["created_at", "next_attempt_at"]

    @extend_schema(request=None, responses={202: WebhookDeliverySerializer})
    @action(detail=True, methods=["post"])
    def redeliver(self, request, pk=None):
        """Queue this delivery's event again, as a new delivery."""
        copy = webhooks.webhook_delivery_redeliver(actor=request.user, delivery=self.get_object())
        return Response(self.get_serializer(copy).data, status=202)

    @extend_schema(request=None, responses={202: WebhookDeliverySerializer})
    @action(detail=True, methods=["post"], url_path="send-now")
    def send_now(self, request, pk=None):
        """Send a pending delivery now instead of at its next retry (409 while it is being sent or once
        it has finished: then redeliver)."""
        delivery = webhooks.webhook_delivery_send_now(actor=request.user, delivery=self.get_object())
        return Response(self.get_serializer(delivery).data, status=202)


class InboxRowSerializer(serializers.Serializer):
    """One row of the approvals inbox (portal.inbox.InboxRow)."""
    key = serializers.CharField()
    kind = serializers.CharField()
    kind_label = serializers.CharField()
    id = serializers.IntegerField()
    title = serializers.CharField()
    team = serializers.CharField()
    team_slug = serializers.CharField()
    line_of_business = serializers.CharField()
    waiting_since = serializers.DateTimeField()
    age_days = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    over_budget = serializers.BooleanField()
    risk = serializers.CharField()
    summary = serializers.CharField()
    url = serializers.CharField()
    reason = serializers.CharField()
    on_behalf_of = serializers.CharField()
    context = serializers.DictField()


class InboxDecideSerializer(serializers.Serializer):
    keys = serializers.ListField(child=serializers.CharField(max_length=60), min_length=1, max_length=100)
    outcome = serializers.ChoiceField(choices=["approve", "deny"])
    comment = serializers.CharField(required=False, allow_blank=True, max_length=900, default="")


class ApprovalInboxViewSet(viewsets.GenericViewSet):
    """The caller's approvals inbox: everything they may decide now, of every kind (provisioning
    requests, account requests, model versions, model cards), oldest first (``order=newest`` for
    newest). Filters: ``kind``, ``team`` (slug), ``line_of_business``, ``min_age_days``,
    ``max_age_days``, ``min_amount``, ``max_amount``, ``over_budget`` (true/false), ``risk``
    (low/medium/high). ``undecidable/``: platform admins, what nobody can decide and why."""
    serializer_class = InboxRowSerializer
    permission_classes = [IsAuthenticated]
    filter_backends = []

    def _filters(self, request):
        from portal import inbox
        from portal.forms import InboxFilterForm
        if not inbox.may_use(request.user):
            raise exceptions.PermissionDenied("Only people who decide requests, models or cards have an "
                                              "approvals inbox.")
        form = InboxFilterForm(request.query_params)
        if not form.is_valid():
            raise exceptions.ValidationError({name: list(errors) for name, errors in form.errors.items()})
        return form.to_filter()

    def _page(self, rows):
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(InboxRowSerializer(page, many=True).data)

    def list(self, request):
        from portal import inbox
        return self._page(inbox.inbox_for(request.user, self._filters(request)))

    @extend_schema(request=InboxDecideSerializer, responses={200: InboxDecideSerializer})
    @action(detail=False, methods=["post"])
    def decide(self, request):
        """POST {"keys": ["model_card:3", ...], "outcome": "approve"|"deny", "comment"}: every item must
        be one the caller may decide now, else nothing is decided (403); then one decision each,
        through its kind's service (each audited). A deny needs a comment."""
        from portal import inbox
        self._filters(request)   # the same gate as the list
        serializer = InboxDecideSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        done = inbox.inbox_decide(actor=request.user, keys=data["keys"], outcome=data["outcome"],
                                  comment=data.get("comment", ""))
        return Response({"decided": done})

    @extend_schema(responses=InboxRowSerializer(many=True))
    @action(detail=False, methods=["get"])
    def undecidable(self, request):
        from portal import inbox
        filters = self._filters(request)
        if not is_platform_admin(request.user):
            raise exceptions.PermissionDenied("Only platform admins see what nobody can decide.")
        return self._page(inbox.undecidable_for(request.user, filters))


class DelegationSerializer(serializers.ModelSerializer):
    delegator = serializers.SlugRelatedField(slug_field="username", read_only=True)
    delegate = serializers.SlugRelatedField(slug_field="username",
                                            queryset=get_user_model().objects.filter(is_active=True))

    class Meta:
        model = ApprovalDelegation
        fields = ["id", "delegator", "delegate", "starts_at", "ends_at", "reason", "created_at", "revoked_at"]
        read_only_fields = ["id", "delegator", "created_at", "revoked_at"]
        extra_kwargs = {"starts_at": {"required": False}}


class ApprovalDelegationViewSet(IdempotentCreateMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin,
                                viewsets.ReadOnlyModelViewSet):
    """The caller's delegations, given and received. POST {"delegate": username, "starts_at"
    (optional, default now), "ends_at", "reason"} lets a colleague take your decisions (every kind
    in the approvals inbox) while you are away; DELETE ends one (the row stays)."""
    queryset = ApprovalDelegation.objects.none()
    serializer_class = DelegationSerializer
    permission_classes = [IsAuthenticated]
    filter_backends = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return selectors.delegations_of(self.request.user)

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.delegation_create(actor=self.request.user, delegate=data["delegate"],
                                                         ends_at=data["ends_at"], starts_at=data.get("starts_at"),
                                                         reason=data.get("reason", ""))

    def perform_destroy(self, instance):
        services.delegation_revoke(actor=self.request.user, delegation=instance)


