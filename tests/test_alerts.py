"""The alerting operators install: deploy/prometheus/alerts.yml passes
promtool and its unit tests, every alert is tested firing and quiet, and every
metric the rules and the Grafana dashboard name is one that subcycle's
exporter, its workers or Dramatiq's Prometheus middleware exports.

promtool comes with Debian's ``prometheus`` package. Without it these tests
skip, except in CI (``SUBCYCLE_REQUIRE_PROMTOOL=1``), where they fail.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from subcycle.bootstrap import App
from subcycle.commands.metrics import registry_for
from workers import metrics

ROOT = Path(__file__).resolve().parent.parent
PROMETHEUS = ROOT / "deploy" / "prometheus"
RULES = PROMETHEUS / "alerts.yml"
RULE_TESTS = PROMETHEUS / "alerts.test.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "subcycle.json"
OPERATIONS = ROOT / "docs" / "operations.md"
REQUIRE_PROMTOOL = os.environ.get("SUBCYCLE_REQUIRE_PROMTOOL") == "1"

# Series Prometheus makes itself, not any exporter.
FROM_PROMETHEUS = {"up"}


def promtool_or_skip() -> str:
    found = shutil.which("promtool")
    if found is None:
        if REQUIRE_PROMTOOL:
            pytest.fail("promtool required (SUBCYCLE_REQUIRE_PROMTOOL=1) but not on PATH")
        pytest.skip("no promtool (apt-get install prometheus)")
    return found


def promtool(*args: str | Path) -> str:
    done = subprocess.run(
        [promtool_or_skip(), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def alerts() -> list[dict[str, Any]]:
    return [rule for rule in rules() if "alert" in rule]


# --- PromQL: the metric names an expression reads -------------------------

_KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left"}
_KEYWORDS |= {"group_right", "offset", "bool", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """Identifiers that are neither a function (followed by ``(``), a keyword,
    a label (inside ``{}`` or a ``by (…)`` list), a duration nor a variable."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers (Grafana's $queue too)
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges and subqueries ($__rate_interval)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    found = re.findall(r"(?<![\w:.$])([A-Za-z_:][\w:]*)(?![\w:])(?!\s*\()", text)
    return {name for name in found if name.lower() not in _KEYWORDS}


def test_metric_names_are_read_from_promql_without_functions_labels_or_keywords() -> None:
    expr = (
        'sum by (queue, le) (rate(a_total{queue=~"$queue", x="y(z)"}[$__rate_interval]))'
        " / on () group_left b offset 15m > bool 0.05 and absent(up{job='j'})"
        " or time() - c:recorded + 9 * 3600 > 1e3"
    )
    assert metric_names(expr) == {"a_total", "b", "up", "c:recorded"}


# --- What the code exports -------------------------------------------------

# No ``_created`` series: the workers serve counters and histograms through
# prometheus-client's multi-process collector, which has none.
_SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count"),
    "summary": ("", "_sum", "_count"),
    "info": ("_info",),
}


def series_names(families: Iterator[Any] | list[Any]) -> set[str]:
    """The series a family is exposed as (prometheus-client drops ``_total``
    from a counter's family name and puts it back on the sample)."""
    return {f.name + suffix for f in families for suffix in _SUFFIXES[f.type]}


_DRAMATIQS = """
import json, os, sys
os.environ["dramatiq_prom_db"] = sys.argv[1]
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware.prometheus import Prometheus
middleware = Prometheus()
middleware.after_process_boot(StubBroker())  # where it defines its metrics
from prometheus_client.metrics import MetricWrapperBase
print(json.dumps([[f.name, f.type] for m in vars(middleware).values()
                  if isinstance(m, MetricWrapperBase) for f in m.collect()]))
"""


@pytest.fixture(scope="module")
def dramatiq_series(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """What the installed Dramatiq's Prometheus middleware defines, read from
    the middleware itself in a process of its own (it switches
    prometheus-client to multi-process mode)."""
    done = subprocess.run(
        [sys.executable, "-c", _DRAMATIQS, str(tmp_path_factory.mktemp("prom"))],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    class Family:
        def __init__(self, name: str, type_: str) -> None:
            self.name, self.type = name, type_

    return series_names([Family(n, t) for n, t in json.loads(done.stdout)])


@pytest.fixture
def exported(app: App, dramatiq_series: set[str]) -> set[str]:
    """Every series name a scrape of our jobs can hold, and the rules' own."""
    recorded = {rule["record"] for rule in rules() if "record" in rule}
    return (
        series_names(registry_for(app).collect())
        | series_names(metrics.registry().collect())
        | dramatiq_series
        | recorded
        | FROM_PROMETHEUS
    )


def test_the_exported_names_include_the_exporters_the_workers_and_dramatiqs(
    exported: set[str],
) -> None:
    assert {
        "subcycle_queue_messages",
        "subcycle_scheduler_lease_held",
        "subcycle_billing_last_closed_period_end_timestamp_seconds",
        "subcycle_events_processed_total",
        "subcycle_charged_jpy_total",
        "dramatiq_messages_total",
        "dramatiq_message_duration_milliseconds_bucket",
    } <= exported


def test_every_metric_the_alert_rules_read_is_exported(exported: set[str]) -> None:
    read = {name for rule in rules() for name in metric_names(rule["expr"])}
    assert "subcycle_queue_oldest_ready_age_seconds" in read  # the parser found them
    assert read - exported == set()


# --- The rules ---------------------------------------------------------------


def test_the_alert_rules_pass_promtool_check() -> None:
    assert "SUCCESS" in promtool("check", "rules", RULES)


def test_every_alert_fires_and_stays_quiet_as_its_promtool_unit_tests_say() -> None:
    assert "SUCCESS" in promtool("test", "rules", RULE_TESTS)


def test_the_example_prometheus_config_is_valid_and_loads_the_rules() -> None:
    out = promtool("check", "config", PROMETHEUS / "prometheus.yml")
    assert "1 rule files found" in out


def test_every_alert_has_a_unit_test_where_it_fires_and_one_where_it_does_not() -> None:
    cases = [
        case
        for group in yaml.safe_load(RULE_TESTS.read_text())["tests"]
        for case in group.get("alert_rule_test", [])
    ]
    for alert in {rule["alert"] for rule in alerts()}:
        mine = [case for case in cases if case["alertname"] == alert]
        assert any(case.get("exp_alerts") for case in mine), f"{alert} never fires"
        assert any(not case.get("exp_alerts") for case in mine), f"{alert} is never quiet"


def test_every_alert_says_how_long_how_bad_what_and_where_to_read_on() -> None:
    anchors = {
        "#" + re.sub(r"[^a-z0-9 -]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        for line in OPERATIONS.read_text().splitlines()
        if line.startswith("#")
    }
    for alert in alerts():
        assert "for" in alert, alert["alert"]
        assert alert["labels"]["severity"] in {"critical", "warning"}, alert["alert"]
        assert {"summary", "description", "runbook"} <= alert["annotations"].keys()
        doc, _, anchor = alert["annotations"]["runbook"].partition("#")
        assert doc == "docs/operations.md"
        assert "#" + anchor in anchors, f"{alert['alert']}: no heading for #{anchor}"


# --- The dashboard ---------------------------------------------------------


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    flat = []
    for panel in board["panels"]:
        flat.append(panel)
        flat.extend(panel.get("panels", []))  # a collapsed row holds its own
    return flat


def dashboard_queries() -> list[str]:
    return [
        target["expr"]
        for panel in panels(dashboard())
        for target in panel.get("targets", [])
        if "expr" in target
    ]


def test_every_metric_a_dashboard_panel_or_variable_reads_is_exported(
    exported: set[str],
) -> None:
    read = {name for expr in dashboard_queries() for name in metric_names(expr)}
    for variable in dashboard()["templating"]["list"]:
        if variable["type"] == "query":
            read |= set(re.findall(r"label_values\(\s*([\w:]+)", variable["definition"]))
    assert "dramatiq_message_duration_milliseconds_bucket" in read
    assert read - exported == set()


def test_every_panel_reads_the_prometheus_chosen_in_the_datasource_variable() -> None:
    board = dashboard()
    [variable] = [v for v in board["templating"]["list"] if v["name"] == "DS_PROMETHEUS"]
    assert (variable["type"], variable["query"]) == ("datasource", "prometheus")
    for panel in panels(board):
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
        assert panel["targets"], panel["title"]


def test_every_dashboard_query_is_valid_promql(tmp_path: Path) -> None:
    """promtool parses each query as a recording rule, Grafana's variables
    replaced by what Grafana would put there."""
    grafana = {"$__rate_interval": "1m", "$queue": ".*"}
    checked = []
    for i, expr in enumerate(dashboard_queries()):
        for variable, value in grafana.items():
            expr = expr.replace(variable, value)
        assert "$" not in expr, expr
        checked.append({"record": f"dashboard:query_{i}", "expr": expr})
    rules_file = tmp_path / "dashboard.rules.yml"
    rules_file.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": checked}]}))
    assert f"SUCCESS: {len(checked)} rules found" in promtool("check", "rules", rules_file)
