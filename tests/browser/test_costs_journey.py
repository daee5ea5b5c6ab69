"""Journey: an executive opens the cost dashboard (synced from the sandbox's Cost Explorer),
switches to amortized cost, drills into a team and exports the CSV; the charts are drawn."""
import csv
import io

import pytest
from django.core.management import call_command

from costs import services
from portal.demo import DEMO_PASSWORD

pytestmark = pytest.mark.browser

PIXELS = """(id) => {
  const canvas = document.getElementById(id);
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < data.length; i += 4) { if (data[i] !== 0) { painted++; } }
  return {painted: painted, points: canvas.costChart ? canvas.costChart.data.datasets[0].data.length : 0};
}"""


@pytest.fixture
def synced_demo(transactional_db, aws_endpoint, settings):
    settings.SHOW_DEMO_PASSWORDS = True
    call_command("seed_demo")
    # This month and the last, so "against the same days last month" has something to compare.
    start = services.month_start(services.month_start(services.today()) - __import__("datetime").timedelta(days=1))
    run = services.cost_sync_window(start=start, max_requests=services.MAX_REQUESTS_PER_BACKFILL_MONTH * 2)
    assert run.status == "succeeded", run.error


def _chart_drawn(page, canvas_id):
    page.wait_for_selector(f"#{canvas_id}[data-rendered]")
    drawn = page.evaluate(PIXELS, canvas_id)
    assert drawn["points"] > 0, f"{canvas_id}: Chart.js has no data"
    assert drawn["painted"] > 500, f"{canvas_id}: the canvas is blank"


def test_executive_reads_the_dashboard_switches_metric_drills_in_and_exports(synced_demo, live_server, page,
                                                                            screenshot):
    page.goto(f"{live_server.url}/accounts/login/?next=/costs/")
    page.get_by_label("Username or email").fill("executive")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url(f"{live_server.url}/costs/")
    assert page.locator("h1").inner_text() == "Cost dashboard"
    for canvas in ("chart-daily", "chart-lines", "chart-services"):
        _chart_drawn(page, canvas)
    unblended_mtd = page.get_by_test_id("mtd").inner_text()
    assert "Unallocated" in page.get_by_test_id("team-table").inner_text()

    page.get_by_test_id("metric-switch").get_by_role("link", name="Amortized").click()
    page.wait_for_url("**metric=amortized**")
    assert page.get_by_test_id("metric-switch").locator("[aria-current=true]").inner_text() == "Amortized"
    assert page.get_by_test_id("mtd").inner_text() != unblended_mtd
    _chart_drawn(page, "chart-daily")
    screenshot("costs-dashboard-amortized")

    with page.expect_download() as download_info:
        page.get_by_test_id("export-csv").click()
    rows = list(csv.DictReader(io.StringIO(open(download_info.value.path(), encoding="utf-8").read())))
    assert {"fraud-detection", "credit-risk", "marketing-ml"} <= {row["team"] for row in rows}
    assert {row["metric"] for row in rows} == {"amortized"}

    page.get_by_test_id("team-table").get_by_role("link", name="Fraud Detection").click()
    page.wait_for_url("**/costs/teams/fraud-detection/**")
    assert "Fraud Detection — costs" in page.locator("h1").inner_text()
    assert "metric=amortized" in page.url
    for canvas in ("chart-daily", "chart-burn", "chart-services"):
        _chart_drawn(page, canvas)
    assert "prod" in page.get_by_test_id("account-table").inner_text()
    screenshot("costs-team-report")
    assert not page.console_errors, page.console_errors      # no CSP violations, no script errors
