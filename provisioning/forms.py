"""Forms of the provisioning pages. The request form is generated from the parameters Service
Catalog gave for the chosen version (DescribeProvisioningParameters); the service re-checks
everything on the server and its messages land on the fields, keeping what was typed."""

from django import forms
from django.core.validators import RegexValidator

from portal.models import AwsAccount, Environment, Team, TeamRole
from provisioning.models import CatalogProduct, ParameterPreset, product_name_validator
from provisioning.policies import allowed_values

FIXED_FIELDS = ("name", "project", "version")


def parameter_field(parameter: dict, presets: dict, initial=None) -> forms.Field:
    """A form field for one ProvisioningArtifactParameter: choices from AllowedValues (narrowed by
    presets), pattern and length checks, NoEcho as a password field, the description as help."""
    key = parameter["ParameterKey"]
    constraints = parameter.get("ParameterConstraints") or {}
    rules = presets.get(key, {})
    default = rules.get("default", parameter.get("DefaultValue"))
    required = default is None
    help_text = parameter.get("Description", "")
    if constraints.get("ConstraintDescription"):
        help_text = f"{help_text} ({constraints['ConstraintDescription']})".strip()
    choices = allowed_values(parameter, presets)
    common = {"label": key, "required": required, "help_text": help_text,
              "initial": initial if initial is not None else default}
    if choices:
        options = [(value, value) for value in choices]
        if not required:
            options = [("", "— default —")] + options if default == "" else options
        return forms.ChoiceField(choices=options, **common)
    validators = []
    if constraints.get("AllowedPattern"):
        pattern = constraints["AllowedPattern"]
        validators.append(RegexValidator(
            rf"^(?:{pattern})$" if not parameter.get("ParameterType", "").startswith(("List", "CommaDelimited"))
            else rf"^(?:{pattern})(?:,(?:{pattern}))*$",
            constraints.get("ConstraintDescription") or f"Must match the pattern {pattern}."))
    kwargs = {"validators": validators}
    if constraints.get("MinLength"):
        kwargs["min_length"] = int(constraints["MinLength"])
    if constraints.get("MaxLength"):
        kwargs["max_length"] = int(constraints["MaxLength"])
    if parameter.get("ParameterType") == "Number":
        number = {}
        if constraints.get("MinValue"):
            number["min_value"] = float(constraints["MinValue"])
        if constraints.get("MaxValue"):
            number["max_value"] = float(constraints["MaxValue"])
        return forms.FloatField(**number, **common)
    widget = forms.PasswordInput(render_value=True) if parameter.get("IsNoEcho") else forms.TextInput
    return forms.CharField(widget=widget, strip=True, **kwargs, **common)


class ParametersMixin:
    """Adds one field per visible parameter (hidden presets are set by the platform, not shown)."""

    def add_parameter_fields(self, parameters: list[dict], presets: dict, initial: dict | None = None):
        self.parameter_keys = []
        self.hidden_parameters = []
        for parameter in parameters:
            key = parameter["ParameterKey"]
            if "hidden" in presets.get(key, {}):
                self.hidden_parameters.append((key, presets[key]["hidden"]))
                continue
            self.fields[key] = parameter_field(parameter, presets, (initial or {}).get(key))
            self.parameter_keys.append(key)

    def parameter_values(self) -> dict:
        values = {}
        for key in self.parameter_keys:
            value = self.cleaned_data.get(key)
            if value not in (None, ""):
                values[key] = (str(int(value)) if isinstance(value, float) and value.is_integer() else str(value))
        return values


class RequestForm(ParametersMixin, forms.Form):
    name = forms.CharField(max_length=128, validators=[product_name_validator], label="Product name",
                           help_text="The provisioned product's name: unique in the account; it cannot change later.")
    project = forms.CharField(max_length=100, required=False, label="Project",
                              help_text="Optional; becomes the 'project' tag for cost reports.")
    version = forms.ChoiceField(label="Version")

    def __init__(self, *args, product: CatalogProduct, versions, version, presets: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["version"].choices = [
            (v.artifact_id, f"{v.name}{' (deprecated)' if v.deprecated else ''} — {v.description}") for v in versions
            if not v.deprecated]
        self.fields["version"].initial = version.artifact_id if version else None
        self.fields["version"].help_text = "Changing the version reloads the form with that version's parameters."
        self.add_parameter_fields(version.parameters if version else [], presets)


class UpdateForm(ParametersMixin, forms.Form):
    def __init__(self, *args, parameters: list[dict], presets: dict, current: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_parameter_fields(parameters, presets, current)


class DecisionForm(forms.Form):
    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                              help_text="Required when rejecting: tell the requester what to change.")


class TerminateForm(forms.Form):
    confirm_name = forms.CharField(max_length=128, label="Type the product's name to confirm")


class ProductPolicyForm(forms.ModelForm):
    allowed_roles = forms.MultipleChoiceField(choices=TeamRole.choices, required=False,
                                              widget=forms.CheckboxSelectMultiple,
                                              help_text="None ticked: every team role may request it.")
    allowed_teams = forms.ModelMultipleChoiceField(queryset=Team.objects.order_by("name"), required=False,
                                                   help_text="None selected: every team may request it.")

    class Meta:
        model = CatalogProduct
        fields = ["enabled", "requires_approval", "hourly_price_usd", "lifetime_days", "allowed_teams",
                  "allowed_roles"]
        labels = {"hourly_price_usd": "Hourly price (USD)", "lifetime_days": "Lifetime (days)"}


class PresetForm(forms.Form):
    key = forms.ChoiceField(label="Parameter")
    mode = forms.ChoiceField(choices=ParameterPreset.Mode.choices)
    value = forms.CharField(max_length=4096)
    team = forms.ModelChoiceField(queryset=Team.objects.order_by("name"), required=False,
                                  empty_label="Every team")
    environment = forms.ChoiceField(choices=[("", "Every environment")] + list(Environment.choices), required=False)
    account = forms.ModelChoiceField(queryset=AwsAccount.objects.filter(team__isnull=False).order_by("name"),
                                     required=False, empty_label="Every account (of the team and environment)",
                                     to_field_name="account_id",
                                     help_text="One account's own value (its network, for example); leave the "
                                               "team and environment empty then.")

    def __init__(self, *args, keys: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["key"].choices = [(k, k) for k in keys]


