"""Model card forms: one structured section per SageMaker content section (AWS_API.md §6.2)."""
import re

from django import forms

from governance.cards import content as card_content

CARD_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")


class CardContentForm(forms.Form):
    """The card's content. Limits are SageMaker's; cleaned_data feeds content.build_content."""
    intended_uses__risk_rating = forms.ChoiceField(
        label="Risk rating", choices=[(r, r) for r in card_content.RISK_RATINGS], initial="Unknown")
    training_metrics = forms.CharField(
        label="Training metrics", required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line: name = number (at most 50).")
    evaluation_name = forms.CharField(label="Evaluation name", required=False, max_length=63,
                                      help_text="Needed when you give an observation or metrics.")
    evaluation_observation = forms.CharField(label="Evaluation observation", required=False, max_length=2096,
                                             widget=forms.Textarea(attrs={"rows": 3}))
    evaluation_metrics = forms.CharField(label="Evaluation metrics", required=False,
                                         widget=forms.Textarea(attrs={"rows": 3}),
                                         help_text="One per line: name = number.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for section, key, label, max_length in card_content.TEXT_FIELDS:
            widget = forms.Textarea(attrs={"rows": 2}) if max_length > 1024 or "description" in key else None
            self.fields[f"{section}__{key}"] = forms.CharField(label=label, required=False, max_length=max_length,
                                                               widget=widget)
        if "model_overview__model_name" in self.fields:
            self.fields["model_overview__model_name"].required = True

    def sections(self):
        """Fields grouped per content section, in the card's order, for the template."""
        groups = []
        for section, title in card_content.SECTIONS:
            names = [name for name in self.fields if name.startswith(section + "__")]
            if section == "training_details":
                names.append("training_metrics")
            if section == "evaluation_details":
                names = ["evaluation_name", "evaluation_observation", "evaluation_metrics"]
            groups.append({"title": title, "fields": [self[name] for name in names]})
        return groups

    def clean_training_metrics(self):
        metrics, errors = card_content.parse_metrics(self.cleaned_data.get("training_metrics"),
                                                     limit=card_content.MAX_TRAINING_METRICS)
        if errors:
            raise forms.ValidationError(errors)
        return metrics

    def clean_evaluation_metrics(self):
        metrics, errors = card_content.parse_metrics(self.cleaned_data.get("evaluation_metrics"), limit=100)
        if errors:
            raise forms.ValidationError(errors)
        return metrics

    def clean(self):
        data = super().clean()
        if not data.get("evaluation_name") and (data.get("evaluation_observation") or data.get("evaluation_metrics")):
            self.add_error("evaluation_name", "Name the evaluation (1–63 characters) to record its results.")
        return data

    def content(self, base: dict | None = None) -> dict:
        return card_content.build_content(self.cleaned_data, base=base)


class CardCreateForm(CardContentForm):
    name = forms.CharField(label="Card name", max_length=63,
                           help_text="Letters, digits and hyphens, starting with a letter or digit; cannot change.")
    team = forms.ModelChoiceField(queryset=None, label="Team", empty_label=None)
    model_version = forms.ModelChoiceField(queryset=None, label="Model version", required=False,
                                           help_text="Optional: the registry version this card documents.")
    field_order = ["name", "team", "model_version"]

    def __init__(self, *args, teams=None, versions=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams
        self.fields["model_version"].queryset = versions

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not CARD_NAME.match(name):
            raise forms.ValidationError("Use letters, digits and single hyphens only (e.g. churn-model-v1), "
                                        "at most 63 characters.")
        return name


class TransitionForm(forms.Form):
    comment = forms.CharField(label="Comment", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class DiffForm(forms.Form):
    a = forms.IntegerField(label="From version", min_value=1)
    b = forms.IntegerField(label="To version", min_value=1)
