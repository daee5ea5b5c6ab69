"""Governance forms: the decision form (approve/reject with comment) and the dashboard filters."""
from django import forms

from governance.models import ApprovalStatus, Stage


class DecisionForm(forms.Form):
    outcome = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")], widget=forms.HiddenInput)
    comment = forms.CharField(required=False, max_length=900, widget=forms.Textarea(attrs={"rows": 2}),
                              help_text="Required when you reject: the team reads it.")

    def clean(self):
        data = super().clean()
        if data.get("outcome") == "reject" and not (data.get("comment") or "").strip():
            self.add_error("comment", "Say why you reject this version: the team reads your comment.")
        return data


class RollbackForm(forms.Form):
    comment = forms.CharField(required=False, max_length=900, widget=forms.Textarea(attrs={"rows": 2}),
                              help_text="Why production goes back (kept in the audit log).")


class VersionFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Model name starts with", max_length=63)
    team = forms.ChoiceField(required=False, choices=[])
    stage = forms.ChoiceField(required=False, choices=[("", "Any stage"), *Stage.choices])
    approval_status = forms.ChoiceField(required=False, label="SageMaker status",
                                        choices=[("", "Any status"), *ApprovalStatus.choices])
    deployed = forms.ChoiceField(required=False, label="Deployed to",
                                 choices=[("", "Anywhere or nowhere"), ("test", "Test"), ("prod", "Production")])
    card = forms.ChoiceField(required=False, label="Model card",
                             choices=[("", "With or without a card"), ("approved", "Approved card"),
                                      ("none", "No approved card")])

    def __init__(self, *args, teams=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = [("", "All teams"), *[(team.slug, team.name) for team in teams]]
        for field in self.fields.values():
            css = "form-select" if isinstance(field, forms.ChoiceField) else "form-control"
            field.widget.attrs["class"] = f"{css} {css}-sm"


class DelegationForm(forms.Form):
    delegate = forms.CharField(max_length=150, label="Colleague's username")
    starts_on = forms.DateField(required=False, label="From (optional, default now)",
                                widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(label="Until (inclusive)", widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(required=False, max_length=200, label="Reason (optional)")

    def clean_delegate(self):
        from django.contrib.auth import get_user_model
        username = self.cleaned_data["delegate"].strip()
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise forms.ValidationError(f"No active user is called '{username}'. Check the spelling.")
        return user

    def starts_at(self):
        """Start of the chosen day in the current time zone, or None (now)."""
        from datetime import datetime, time

        from django.utils import timezone
        day = self.cleaned_data.get("starts_on")
        if day is None:
            return None
        start = timezone.make_aware(datetime.combine(day, time.min))
        return max(start, timezone.now())

    def ends_at(self):
        """End of the chosen day, in the current time zone."""
        from datetime import datetime, time, timedelta

        from django.utils import timezone
        day = self.cleaned_data["ends_on"]
        return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))
