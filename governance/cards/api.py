"""API twins of the model card pages: /api/v1/model-cards/ (create with Idempotency-Key; PATCH
content; submit, approve, send-back, archive → 409 when illegal; versions; diff; export) and
/api/v1/lineage/?arn=… (nodes and edges as JSON).

Content is written with the same flat fields as the page's form (e.g. ``model_overview__model_name``,
``intended_uses__risk_rating``, ``training_metrics`` as "name = value" lines) and read back as
SageMaker's content JSON."""
from django.core.exceptions import PermissionDenied
from rest_framework import exceptions, serializers, viewsets
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from governance.cards import content as card_content
from governance.cards import lineage, selectors, services
from governance.cards.forms import CardContentForm, CardCreateForm
from governance.cards.models import ModelCard, ModelCardExport, ModelCardShare, ModelCardVersion
from governance.models import ModelVersion
from portal.api_base import IdempotentCreateMixin, ReasonSerializer, ScopedViewSetMixin, deny_reason
from portal.models import Team
from portal.permissions import has_perm, scope, teams_for


class ShareSerializer(serializers.ModelSerializer):
    class Meta:
        model = ModelCardShare
        fields = ["id", "account_id", "environment", "permission", "status", "share_arn", "last_error", "updated_at"]


class ExportSerializer(serializers.ModelSerializer):
    class Meta:
        model = ModelCardExport
        fields = ["id", "version", "status", "job_arn", "s3_uri", "last_error", "created_at"]


class ModelCardSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = ModelCard
        fields = ["id", "name", "arn", "team", "model_version", "status", "status_label", "current_version",
                  "created_by", "review_comment", "last_error", "created_at", "updated_at"]


class ModelCardDetailSerializer(ModelCardSerializer):
    shares = ShareSerializer(many=True, read_only=True)

    class Meta(ModelCardSerializer.Meta):
        fields = ModelCardSerializer.Meta.fields + ["content", "shares"]


class VersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ModelCardVersion
        fields = ["version", "status", "content", "author_label", "comment", "created_at"]


class DiffChangeSerializer(serializers.Serializer):
    field = serializers.CharField()
    change = serializers.CharField(help_text="added, removed or changed")
    before = serializers.JSONField(allow_null=True)
    after = serializers.JSONField(allow_null=True)


class DiffSerializer(serializers.Serializer):
    """What changed between two versions of a card (selectors.version_diff)."""
    changes = DiffChangeSerializer(many=True)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.IntegerField()
        fields["to"] = serializers.IntegerField()
        return fields


class CommentSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000)


def _object_body(request) -> dict:
    """The request body as a dict; a JSON body that is not an object is a 400, not a crash."""
    if not hasattr(request.data, "items"):
        raise exceptions.ValidationError({"non_field_errors": ["Send a JSON object of the card's fields."]})
    return request.data.copy() if hasattr(request.data, "copy") else dict(request.data)


def _form_or_400(form):
    if not form.is_valid():
        raise exceptions.ValidationError({field: [str(e) for e in errors] for field, errors in form.errors.items()})
    return form


class _CardCreate:
    """Create through the page's form and the service (below IdempotentCreateMixin in the MRO)."""

    def create(self, request, *args, **kwargs):
        user = request.user
        allowed = teams_for(user, ModelCard, "add")
        teams = Team.objects.all() if allowed is None else Team.objects.filter(pk__in=allowed)
        versions = scope(user, ModelVersion.objects.all(), "view").filter(team__in=teams)
        data = _object_body(request)
        team = scope(user, Team.objects.all(), "view").filter(slug=data.get("team", "")).first()
        if not data.get("team"):
            raise exceptions.ValidationError({"team": ["Give the slug of a team you belong to, e.g. fraud-detection."]})
        if team is None:
            raise exceptions.NotFound(f"No team '{data.get('team')}' that you may see.")
        if allowed is not None and team.pk not in allowed:
            raise PermissionDenied("You may not write model cards for this team.")
        data["team"] = team.pk
        form = _form_or_400(CardCreateForm(data, teams=teams, versions=versions))
        card = services.model_card_create(actor=user, team=form.cleaned_data["team"], name=form.cleaned_data["name"],
                                          content=form.content(), model_version=form.cleaned_data["model_version"])
        return Response(ModelCardDetailSerializer(card).data, status=201)


class ModelCardViewSet(ScopedViewSetMixin, IdempotentCreateMixin, _CardCreate, viewsets.ReadOnlyModelViewSet):
    """Model cards mirrored from SageMaker (central account). Filters: ?status=, ?team=<slug>."""
    policy_model = ModelCard
    policy_actions = {"submit": "submit", "approve": "approve", "send_back": "send_back", "deny": "send_back",
                      "archive": "archive",
                      "versions": "view", "diff": "view", "export": "export", "partial_update": "change"}
    queryset = ModelCard.objects.all()
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        queryset = super().get_queryset().select_related("team", "created_by")
        status = self.request.query_params.get("status")
        if status:
            queryset = queryset.filter(status=status)
        team = self.request.query_params.get("team")
        if team:
            queryset = queryset.filter(team__slug=team)
        if self.action == "retrieve":
            queryset = queryset.prefetch_related("shares")
        return queryset.order_by("-updated_at", "-id")

    def get_serializer_class(self):
        return ModelCardDetailSerializer if self.action == "retrieve" else ModelCardSerializer

    def partial_update(self, request, *args, **kwargs):
        """Save new content: the given fields replace the current ones (a new version)."""
        card = self.get_object()
        data = {**card_content.form_initial(card.content), **_object_body(request)}
        form = _form_or_400(CardContentForm(data))
        services.model_card_save(actor=request.user, card=card, content=form.content(base=card.content))
        card.refresh_from_db()
        return Response(ModelCardDetailSerializer(card).data)

    def _transition(self, request, name):
        card = self.get_object()
        body = CommentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        card = services.model_card_transition(actor=request.user, card=card, action=name,
                                              comment=body.validated_data.get("comment", ""))
        return Response(ModelCardDetailSerializer(card).data)

    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        return self._transition(request, "submit")

    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._transition(request, "approve")

    @action(detail=True, methods=["post"], url_path="send-back", url_name="send-back")
    def send_back(self, request, pk=None):
        return self._transition(request, "send_back")

    @extend_schema(request=ReasonSerializer, responses=ModelCardDetailSerializer)
    @action(detail=True, methods=["post"])
    def deny(self, request, pk=None):
        """Send the card back to its author with the required reason (send-back's name shared with
        every request kind)."""
        card = self.get_object()
        card = services.model_card_transition(actor=request.user, card=card, action="send_back",
                                              comment=deny_reason(request))
        return Response(ModelCardDetailSerializer(card).data)

    @action(detail=True, methods=["post"])
    def archive(self, request, pk=None):
        return self._transition(request, "archive")

    @extend_schema(responses=VersionSerializer(many=True))
    @action(detail=True, methods=["get"])
    def versions(self, request, pk=None):
        card = self.get_object()
        page = self.paginate_queryset(selectors.versions_of(card))
        return self.get_paginated_response(VersionSerializer(page, many=True).data)

    @extend_schema(responses=DiffSerializer, parameters=[
        OpenApiParameter("a", int, description="The older version (default: the one before the latest)."),
        OpenApiParameter("b", int, description="The newer version (default: the latest).")])
    @action(detail=True, methods=["get"])
    def diff(self, request, pk=None):
        """?a=<version>&b=<version> (default: the previous and the latest)."""
        card = self.get_object()
        try:
            a = int(request.query_params.get("a", max(card.current_version - 1, 1)))
            b = int(request.query_params.get("b", card.current_version))
        except ValueError:
            raise exceptions.ValidationError({"a": ["Give version numbers, e.g. ?a=1&b=2."]}) from None
        result = selectors.version_diff(card, a, b)
        return Response(result)

    @extend_schema(request=None, responses={202: ExportSerializer})
    @action(detail=True, methods=["post"])
    def export(self, request, pk=None):
        card = self.get_object()
        export = services.model_card_export_request(actor=request.user, card=card)
        export.refresh_from_db()
        return Response(ExportSerializer(export).data, status=202)


class LineageViewSet(viewsets.ViewSet):
    """GET /api/v1/lineage/?arn=<SageMaker ARN>&direction=Both|Ascendants|Descendants"""
    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=[
        OpenApiParameter("arn", {"type": "string", "pattern": r"^arn[^:]*:[^:]*:[^:]*:[^:]*:[0-9]{12}:"}, required=True, description="ARN of a SageMaker lineage entity or model package"),
        OpenApiParameter("direction", str, enum=["Both", "Ascendants", "Descendants"], default="Both")],
        responses={200: dict})
    def list(self, request):
        if not has_perm(request.user, "view", ModelCard):
            raise PermissionDenied("You may not see model lineage.")
        arn = request.query_params.get("arn", "")
        if not arn:
            raise exceptions.ValidationError({"arn": ["Give ?arn=<the ARN of a SageMaker lineage entity>."]})
        return Response(lineage.lineage_for_user(request.user, arn,
                                                 direction=request.query_params.get("direction", "Both")))


def register_api(router) -> None:
    router.register("model-cards", ModelCardViewSet, basename="model-card")
    router.register("lineage", LineageViewSet, basename="lineage")
