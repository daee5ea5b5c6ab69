"""Forms for the core pages. Validation messages say what to fix; bound forms keep input."""
from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model

from portal.models import ApiToken, GlobalRole, Team, TeamRole, WebhookDelivery, slug_validator
from portal.webhooks import EVENTS_HELP


def show_domain_error(form, error) -> None:
    """Put a service's DomainError on a bound form: on each field it names, else form-wide.
    The form keeps everything the user typed."""
    placed = False
    for field, field_errors in error.fields.items():
        if field in form.fields:
            for message in field_errors:
                form.add_error(field, message)
            placed = True
    if not placed:
        form.add_error(None, error.message)


class TeamForm(forms.ModelForm):
    slug = forms.CharField(max_length=40, validators=[slug_validator],
                           help_text="Lower-case letters, digits and hyphens; used as the AWS 'team' tag "
                                     "and cannot be changed later.")

    class Meta:
        model = Team
        fields = ["name", "slug", "line_of_business", "cost_center", "monthly_budget_usd", "description"]
        labels = {"monthly_budget_usd": "Monthly budget (USD)"}
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["slug"].disabled = True
            self.fields["slug"].help_text = "The slug is the team's AWS tag and cannot be changed."

    def validate_unique(self):
        """Uniqueness is checked by the service, inside its transaction."""


class MemberForm(forms.Form):
    username = forms.CharField(max_length=150, help_text="The portal username of the person to add.")
    role = forms.ChoiceField(choices=TeamRole.choices)

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise forms.ValidationError(f"No active user is called '{username}'. Create the user first.")
        self.cleaned_data["user"] = user
        return username


class UserCreateForm(forms.Form):
    username = forms.CharField(max_length=150)
    email = forms.EmailField()
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)


class RoleGrantForm(forms.Form):
    role = forms.ChoiceField(choices=GlobalRole.choices)
    line_of_business = forms.CharField(max_length=100, required=False,
                                       help_text="Only for approvers and executives; leave blank for all.")


class TokenCreateForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What will use this token, e.g. 'nightly report job'.")
    scope = forms.ChoiceField(choices=ApiToken.Scope.choices, initial=ApiToken.Scope.WRITE)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["expires_in_days"] = forms.IntegerField(
            min_value=1, max_value=settings.API_TOKEN_MAX_DAYS, initial=90, label="Expires in (days)")


class AuditFilterForm(forms.Form):
    action = forms.CharField(required=False, help_text="Starts with, e.g. 'team.' or 'request.approve'.")
    actor = forms.CharField(required=False, label="Who (username)")
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False, to_field_name="slug")
    target_type = forms.CharField(required=False, label="Object type")
    target_id = forms.CharField(required=False, label="Object id")
    since = forms.DateTimeField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="From")
    until = forms.DateTimeField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Until (before)")

    def __init__(self, *args, teams=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams if teams is not None else Team.objects.all()

    def filters(self) -> dict:
        data = dict(self.cleaned_data)
        data["team"] = data["team"].slug if data.get("team") else ""
        return data


class WebhookForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What receives the events, e.g. 'team chat bridge'.")
    url = forms.URLField(max_length=500, assume_scheme="https", label="URL",
                         help_text="An https:// endpoint that accepts a signed JSON POST.")
    events = forms.CharField(
        required=False, max_length=1000, label="Events",
        help_text=f"Comma-separated. {EVENTS_HELP}")
    active = forms.BooleanField(required=False, initial=True)

    def clean_events(self) -> list[str]:
        return [event for event in self.cleaned_data["events"].replace(",", " ").split() if event]

    @classmethod
    def for_webhook(cls, webhook, data=None):
        """The edit form of ``webhook``: its values until the user posts theirs."""
        return cls(data, initial={"name": webhook.name, "url": webhook.url, "events": ", ".join(webhook.events),
                                  "active": webhook.active})


class DeliveryFilterForm(forms.Form):
    state = forms.ChoiceField(required=False, choices=[("", "Any state"), *WebhookDelivery.State.choices])
    kind = forms.CharField(required=False, max_length=60, label="Event", help_text="Starts with, e.g. 'model.'.")


class InboxFilterForm(forms.Form):
    """The approvals inbox filters, shared by the page and the API (a bad value names its field)."""
    kind = forms.ChoiceField(required=False, choices=())
    team = forms.SlugField(required=False, max_length=40)
    line_of_business = forms.CharField(required=False, max_length=100)
    min_age_days = forms.IntegerField(required=False, min_value=0, max_value=3650)
    max_age_days = forms.IntegerField(required=False, min_value=0, max_value=3650)
    min_amount = forms.DecimalField(required=False, min_value=0, max_digits=14, decimal_places=2)
    max_amount = forms.DecimalField(required=False, min_value=0, max_digits=14, decimal_places=2)
    over_budget = forms.ChoiceField(required=False, choices=[("", "any"), ("true", "yes"), ("false", "no")])
    risk = forms.ChoiceField(required=False, choices=[("", "any"), ("low", "low"), ("medium", "medium"),
                                                      ("high", "high")])
    order = forms.ChoiceField(required=False, choices=[("oldest", "oldest first"), ("newest", "newest first")])

    def __init__(self, *args, **kwargs):
        from portal import inbox
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", "every kind")] + [(kind.key, kind.label) for kind in inbox.kinds()]

    def to_filter(self):
        from portal.inbox import InboxFilter
        data = self.cleaned_data
        over = {"true": True, "false": False}.get(data.get("over_budget") or "")
        return InboxFilter(kind=data.get("kind") or "", team=data.get("team") or "",
                           line_of_business=data.get("line_of_business") or "",
                           min_age_days=data.get("min_age_days"), max_age_days=data.get("max_age_days"),
                           min_amount=data.get("min_amount"), max_amount=data.get("max_amount"),
                           over_budget=over, risk=data.get("risk") or "", order=data.get("order") or "oldest")
