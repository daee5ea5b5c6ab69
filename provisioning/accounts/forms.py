"""Account vending forms: they shape input; the services decide (and their errors land on the fields)."""
from django import forms

from portal.models import Environment, Team
from provisioning.accounts.models import VENDING_ENVIRONMENTS


class AccountRequestForm(forms.Form):
    team = forms.ModelChoiceField(queryset=Team.objects.none(), to_field_name="slug")
    environment = forms.ChoiceField(choices=VENDING_ENVIRONMENTS,
                                    help_text="Decides the OU: dev → Workloads/NonProd, test → Deployments/NonProd, "
                                              "prod → Deployments/Prod, sandbox → Sandbox.")
    purpose = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
    account_name = forms.CharField(max_length=100, help_text="1–50 printable ASCII characters; unique.")
    email = forms.CharField(max_length=100, required=False, label="Root e-mail",
                            help_text="Unique across AWS. Leave empty to use the platform's pattern.")
    sso_first_name = forms.CharField(max_length=100, label="SSO user first name")
    sso_last_name = forms.CharField(max_length=100, label="SSO user last name")
    sso_email = forms.CharField(max_length=254, label="SSO user e-mail")
    monthly_budget_usd = forms.DecimalField(min_value=0, max_digits=12, decimal_places=2, label="Monthly budget (USD)")
    lease_end = forms.DateField(required=False, label="Lease end (sandbox only)",
                                widget=forms.DateInput(attrs={"type": "date"}))
    ou_path = forms.ChoiceField(required=False, label="OU (platform admins only)",
                                help_text="Empty: derived from the environment.")

    def __init__(self, *args, teams, ous=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams
        if ous:
            self.fields["ou_path"].choices = [("", "From the environment")] + [(ou, ou) for ou in ous]
        else:
            del self.fields["ou_path"]


class DecisionForm(forms.Form):
    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 1}), max_length=2000)


class ImportForm(forms.Form):
    account_id = forms.RegexField(regex=r"^\d{12}$", error_messages={"invalid": "Pick an account (12 digits)."})
    team = forms.ModelChoiceField(queryset=Team.objects.order_by("name"), to_field_name="slug")
    environment = forms.ChoiceField(choices=Environment.choices)
