"""Activity API: /api/v1/activity-events/ (keyset pages, the page's filters) and one event.
Auditors and platform admins see every account, team members their team's; another team's
event, team or account 404; anyone else 403. Read from the database only."""
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.exceptions import ValidationError

from observability import selectors
from observability.forms import ActivityFilterForm
from observability.models import ActivityEvent
from portal.api_base import ScopedViewSetMixin
from portal.pagination import KeysetPagination


class ActivityPagination(KeysetPagination):
    ordering_field = "event_time"


class ActivityEventSerializer(serializers.ModelSerializer):
    account = serializers.CharField(source="account.account_id")
    account_name = serializers.CharField(source="account.name")
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    target = serializers.SerializerMethodField()

    class Meta:
        model = ActivityEvent
        fields = ["id", "event_id", "event_time", "event_name", "service", "username", "principal_arn",
                  "identity_type", "source_ip", "read_only", "error_code", "account", "account_name", "team",
                  "environment", "resource_type", "resource_name", "resources", "via_portal", "out_of_band",
                  "target"]

    def get_target(self, event) -> dict | None:
        url = selectors.target_url(event)
        if url is None:
            return None
        return {"kind": event.target_kind, "label": event.target_label,
                "url": self.context["request"].build_absolute_uri(url)}


class ActivityEventDetailSerializer(ActivityEventSerializer):
    class Meta(ActivityEventSerializer.Meta):
        fields = [*ActivityEventSerializer.Meta.fields, "detail"]


FILTER_PARAMETERS = [OpenApiParameter(name, str, description=str(field.help_text or field.label or name))
                     for name, field in ActivityFilterForm.base_fields.items()]


@extend_schema_view(list=extend_schema(parameters=FILTER_PARAMETERS))
class ActivityEventViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """CloudTrail management events of the accounts you may see, newest first."""
    policy_model = ActivityEvent
    queryset = ActivityEvent.objects.select_related("account", "team")
    pagination_class = ActivityPagination

    def check_permissions(self, request):
        super().check_permissions(request)
        if not selectors.can_see_activity(request.user):   # nobody's events: 403 on detail routes too
            self.permission_denied(request, message="The activity view is for auditors, platform admins and "
                                                    "team members.")

    def get_serializer_class(self):
        return ActivityEventDetailSerializer if self.action == "retrieve" else ActivityEventSerializer

    def filter_queryset(self, queryset):
        if self.action != "list":
            return queryset
        form = ActivityFilterForm(self.request.query_params)
        if not form.is_valid():
            raise ValidationError({name: list(errors) for name, errors in form.errors.items()})
        return selectors.activity_event_list(self.request.user, form.filters())


def register_api(router) -> None:
    router.register("activity-events", ActivityEventViewSet, basename="activity-event")
