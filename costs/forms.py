"""Forms of the costs pages: the report filter (metric, date range) and the budget."""
from datetime import timedelta
from decimal import Decimal

from django import forms

from costs.models import Metric
from costs.selectors import MAX_RANGE_DAYS
from costs.services import last_complete_day, month_start, today


class CostFilterForm(forms.Form):
    """Metric and an inclusive date range; defaults to the complete days of the month of the last
    complete day (this month so far; on the 1st, last month). Today may be chosen: its cost so far
    is in the totals, and the daily chart stops the day before."""
    metric = forms.ChoiceField(choices=Metric.choices, required=False, initial=Metric.UNBLENDED,
                               help_text="Amortized spreads up-front and savings-plan fees over the days they cover.")
    start = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        day, complete = today(), last_complete_day()
        data["metric"] = data.get("metric") or Metric.UNBLENDED
        start, end = data.get("start") or month_start(complete), data.get("end") or complete
        if start > end:
            self.add_error("end", "The end date must be on or after the start date.")
        elif (end - start).days > MAX_RANGE_DAYS:
            self.add_error("start", f"Choose at most {MAX_RANGE_DAYS} days: Cost Explorer keeps 13 months.")
        elif end > day:
            self.add_error("end", f"Choose a day up to today ({day:%Y-%m-%d}); future cost is in the forecast.")
        data["start"], data["end"] = start, end
        data["end_exclusive"] = end + timedelta(days=1)
        return data

    def values(self) -> dict:
        """The cleaned filter, or the defaults when the input is invalid (errors are shown)."""
        if self.is_valid():
            return self.cleaned_data
        day = last_complete_day()
        return {"metric": Metric.UNBLENDED, "start": month_start(day), "end": day,
                "end_exclusive": day + timedelta(days=1)}


class BudgetForm(forms.Form):
    monthly_budget_usd = forms.DecimalField(label="Monthly budget (USD)", min_value=Decimal("0"), max_digits=12,
                                            decimal_places=2,
                                            help_text="Alerts go to the team leads at 80% and 100% of it.")
