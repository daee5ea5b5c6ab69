"""The attribution rules on hand-made facts: tag, then the account's owner, then unallocated."""
from datetime import date
from decimal import Decimal as D
from types import SimpleNamespace

from costs.services import attribute

DAY = date(2026, 3, 2)


def fact(grouping, key, service, unblended, amortized=None):
    return SimpleNamespace(day=DAY, grouping=grouping, service=service, unblended=D(unblended),
                           amortized=D(amortized if amortized is not None else unblended),
                           account_id=key if grouping == "account_service" else "",
                           team_tag=key if grouping == "team_service" else "")


ACCOUNTS = {"111": (1, "dev"), "112": (1, "prod"), "211": (2, "dev"), "900": (None, "shared")}
TEAMS = {"alpha": 1, "beta": 2}


def test_tagged_cost_goes_to_the_tag_team_in_its_accounts_in_proportion():
    out = attribute([fact("team_service", "alpha", "S", "30"), fact("account_service", "111", "S", "10"),
                     fact("account_service", "112", "S", "20")], ACCOUNTS, TEAMS)
    assert dict(out) == {(DAY, 1, "dev", "111", "S"): [D("10"), D("10")],
                         (DAY, 1, "prod", "112", "S"): [D("20"), D("20")]}


def test_untagged_cost_goes_to_the_account_owner_or_unallocated():
    out = attribute([fact("team_service", "", "S", "15"), fact("account_service", "211", "S", "5"),
                     fact("account_service", "900", "S", "7"), fact("account_service", "555", "S", "3")],
                    ACCOUNTS, TEAMS)
    assert out[(DAY, 2, "dev", "211", "S")] == [D("5"), D("5")]
    assert out[(DAY, None, "shared", "900", "S")] == [D("7"), D("7")]       # platform-owned: unallocated
    assert out[(DAY, None, "", "555", "S")] == [D("3"), D("3")]             # unknown account: unallocated


def test_a_tag_naming_no_team_falls_back_to_the_account_owner():
    out = attribute([fact("team_service", "marketing", "S", "8"), fact("account_service", "111", "S", "8")],
                    ACCOUNTS, TEAMS)
    assert dict(out) == {(DAY, 1, "dev", "111", "S"): [D("8"), D("8")]}


def test_a_tag_in_another_teams_account_stays_with_the_tag_and_totals_hold():
    facts = [fact("team_service", "beta", "S", "4"), fact("team_service", "", "S", "6", "5"),
             fact("account_service", "111", "S", "10", "9")]
    out = attribute(facts, ACCOUNTS, TEAMS)
    assert out[(DAY, 2, "dev", "111", "S")] == [D("4"), D("4")]             # beta's cost, seen in alpha's account
    assert out[(DAY, 1, "dev", "111", "S")] == [D("6"), D("5")]             # the rest is alpha's (owner)
    assert sum(v[0] for v in out.values()) == D("10") and sum(v[1] for v in out.values()) == D("9")


def test_without_an_account_breakdown_untagged_cost_is_unallocated():
    out = attribute([fact("team_service", "alpha", "S", "2"), fact("team_service", "", "S", "3")], ACCOUNTS, TEAMS)
    assert out[(DAY, 1, "", "", "S")] == [D("2"), D("2")]
    assert out[(DAY, None, "", "", "S")] == [D("3"), D("3")]
