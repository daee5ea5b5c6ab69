"""Budget headroom for request forms: the costs app answers, provisioning asks.

portal depends on no other app, so the costs app registers its answer in ``ready()``. Without a
registered provider (the costs app not installed) no estimate is ever over budget.
"""
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class BudgetExcess:
    """An estimate that would not fit in what is left of a team's monthly budget."""

    budget: Decimal
    left: Decimal      # the budget minus the month-end forecast; negative when already over
    added: Decimal     # the monthly estimate, prorated to the days left in the month

    def sentence(self, team_name: str) -> str:
        left = (f"only ${self.left:,.2f} of its ${self.budget:,.2f} monthly budget is left" if self.left > 0 else
                f"its month-end forecast is already ${-self.left:,.2f} over its ${self.budget:,.2f} monthly budget")
        return (f"Over budget: this would add about ${self.added:,.2f} to {team_name}'s costs this month, and "
                f"{left} after the forecast. A team lead or platform admin must approve it.")


Provider = Callable[..., "BudgetExcess | None"]
_provider: Provider | None = None


def register_provider(provider: Provider) -> None:
    """Set the function ``provider(team, monthly_estimate_usd) -> BudgetExcess | None``."""
    global _provider
    _provider = provider


def budget_excess(team, monthly_estimate_usd: Decimal) -> BudgetExcess | None:
    """How ``monthly_estimate_usd`` overruns ``team``'s budget, or None when it fits (or nobody knows).
    Reads local data only: never a Cost Explorer call."""
    if _provider is None or not monthly_estimate_usd or monthly_estimate_usd <= 0:
        return None
    return _provider(team, monthly_estimate_usd)
