"""The activity filter, one definition for the page and the API (bad input names its field)."""
from django import forms

from portal.models import Environment


class ActivityFilterForm(forms.Form):
    team = forms.SlugField(required=False, help_text="A team slug.")
    account = forms.RegexField(regex=r"^\d{12}$", required=False, help_text="A 12-digit account id.",
                               error_messages={"invalid": "Enter a 12-digit AWS account id."})
    environment = forms.ChoiceField(choices=[("", "Any"), *Environment.choices], required=False)
    user = forms.CharField(max_length=128, required=False, help_text="The CloudTrail user name (role session).")
    service = forms.RegexField(regex=r"^[a-z0-9-]+$", max_length=64, required=False,
                               help_text="e.g. sagemaker, servicecatalog.",
                               error_messages={"invalid": "Use the service's short name, e.g. sagemaker."})
    event_name = forms.CharField(max_length=128, required=False, help_text="e.g. CreateEndpoint.")
    resource = forms.CharField(max_length=512, required=False, help_text="A resource name or ARN.")
    since = forms.DateTimeField(required=False, help_text="From this time (ISO 8601, UTC if no offset).")
    until = forms.DateTimeField(required=False, help_text="Up to this time.")
    out_of_band = forms.BooleanField(required=False, label="Only changes made outside the portal")

    def __init__(self, *args, teams=None, accounts=None, **kwargs):
        """``teams``/``accounts``: (value, label) pairs the page offers as menus (the API takes text)."""
        super().__init__(*args, **kwargs)
        if teams is not None:
            self.fields["team"].widget = forms.Select(choices=[("", "Any team"), *teams])
        if accounts is not None:
            self.fields["account"].widget = forms.Select(
                choices=[("", "Any account"), *[(value, f"{label} ({value})") for value, label in accounts]])

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", "Must be on or after 'since'.")
        return data

    def filters(self) -> dict:
        """The cleaned filters with values (call after is_valid())."""
        return {name: value for name, value in self.cleaned_data.items() if value not in (None, "", False)}
