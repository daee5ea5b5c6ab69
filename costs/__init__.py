"""Cost Explorer sync, budgets, forecasts, dashboards (issue 8)."""
