"""``portal plugins list``: the loaded plugins, what they offer, per-tenant state, failures."""

import types

import pytest

from portal.plugins import RuleSet, hookimpl
from portal.plugins.models import PluginActivation


class CountryRules(RuleSet):
    key = "test_country_rules"
    label = "Test country rules"

    def check(self, order, ctx):
        return []


@pytest.fixture
def cli(app, db_session):
    runner = app.test_cli_runner()

    def invoke(*args):
        return runner.invoke(args=list(args))

    return invoke


@pytest.fixture
def test_plugins(register_plugin):
    """A working rule-set plugin and a broken one, registered for this test only."""
    rules = types.ModuleType("test_cli_rules", "Country rules for tests.")
    rules.portal_mandatory_data_rule_sets = hookimpl(lambda: [CountryRules])
    broken = types.ModuleType("test_cli_broken", "Broken.")
    broken.portal_mandatory_data_rule_sets = hookimpl(lambda: "not a list")
    assert register_plugin("test_cli_rules", rules) is not None
    assert register_plugin("test_cli_broken", broken) is None


def lines_by_name(output: str) -> dict[str, str]:
    return {line.split()[0]: line for line in output.strip().splitlines()}


def test_the_list_shows_each_plugin_and_what_it_offers(cli, test_plugins):
    result = cli("plugins", "list")

    assert result.exit_code == 0, result.output
    lines = lines_by_name(result.stdout)
    assert "supplyport 0.1.0" in lines["manual"]
    assert "integrations: manual" in lines["manual"]
    assert lines["manual"].endswith("[enabled by default]")
    assert "rule sets: test_country_rules" in lines["test_cli_rules"]
    assert "[" not in lines["test_cli_rules"]
    assert "test_cli_broken" not in lines


def test_failures_go_to_stderr_and_do_not_fail_the_command(cli, test_plugins):
    result = cli("plugins", "list")

    assert result.exit_code == 0
    failures = [line for line in result.stderr.splitlines() if "test_cli_broken" in line]
    assert failures == [
        "failed: test_cli_broken: portal_mandatory_data_rule_sets() must return a list, got str"
    ]


def test_the_state_for_a_tenant(cli, test_plugins, tenant, other_tenant, in_tenant):
    with in_tenant(tenant) as session:
        session.add(PluginActivation(name="test_cli_rules", enabled=True))
        session.add(PluginActivation(name="manual", enabled=False))
        session.commit()

    mine = lines_by_name(cli("plugins", "list", "--tenant", tenant.slug).stdout)
    theirs = lines_by_name(cli("plugins", "list", "--tenant", other_tenant.slug).stdout)

    assert mine["test_cli_rules"].endswith("[enabled]")
    assert mine["manual"].endswith("[disabled]")
    assert theirs["test_cli_rules"].endswith("[disabled]")
    assert theirs["manual"].endswith("[enabled]")


def test_an_unknown_tenant_is_an_error(cli):
    result = cli("plugins", "list", "--tenant", "no-such-tenant")
    assert result.exit_code == 1
    assert "There is no tenant with the slug 'no-such-tenant'." in result.stderr


def test_the_command_is_listed_in_the_help(cli):
    result = cli("--help")
    assert "plugins" in result.output
    assert "list" in cli("plugins", "--help").output
