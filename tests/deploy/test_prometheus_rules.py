"""deploy/prometheus: `promtool check rules`, `promtool test rules` (a case for every alert),
proof that those tests bite, `promtool check config` for compose's prometheus.yml, and every
metric and label the rules use checked against gateway/observe/metrics.py."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.metric_names import problems
from tests.deploy.support import DEPLOY, run, tool

RULES = DEPLOY / "prometheus" / "alerts.yml"
RULE_TESTS = DEPLOY / "prometheus" / "alerts.test.yml"
# What the issue asks the rules to cover, and the alert that does.
REQUIRED = {
    "upstream error ratio": "GatewayUpstreamErrorRatioHigh",
    "5xx ratio": "GatewayHigh5xxRatio",
    "invalid spike": "GatewayInvalidSessionsSpike",
    "expired spike": "GatewayExpiredSessionsSpike",
    "renewals stopped": "GatewaySessionRenewalsStopped",
    "config reload failing": "GatewayConfigReloadFailing",
    "latency p99": "GatewayLatencyP99High",
}


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def alerts() -> list[dict[str, Any]]:
    return [rule for group in load(RULES)["groups"] for rule in group["rules"]]


def test_promtool_checks_the_rules() -> None:
    result = run([tool("promtool"), "check", "rules", str(RULES)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alerts())} rules found" in result.stdout


def test_promtool_unit_tests_pass() -> None:
    result = run([tool("promtool"), "test", "rules", str(RULE_TESTS)], cwd=RULES.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize(("need", "alert"), REQUIRED.items(), ids=list(REQUIRED))
def test_required_alert_exists(need: str, alert: str) -> None:
    assert alert in [rule["alert"] for rule in alerts()]


@pytest.mark.parametrize("alert", [rule["alert"] for rule in alerts()])
def test_every_alert_has_a_firing_and_a_quiet_case(alert: str) -> None:
    fired = {
        case["alertname"]
        for test in load(RULE_TESTS)["tests"]
        for case in test["alert_rule_test"]
        if case.get("exp_alerts")
    }
    quiet = {
        case["alertname"]
        for test in load(RULE_TESTS)["tests"]
        for case in test["alert_rule_test"]
        if not case.get("exp_alerts")
    }
    assert alert in fired, "no test where it fires"
    assert alert in quiet, "no test where it stays quiet"


@pytest.mark.parametrize("alert", [rule["alert"] for rule in alerts()])
def test_alert_is_labelled_and_explained(alert: str) -> None:
    rule = next(r for r in alerts() if r["alert"] == alert)
    assert rule["labels"]["severity"] in {"critical", "warning"}
    assert rule["annotations"]["summary"] and rule["annotations"]["description"]


@pytest.mark.parametrize("alert", [rule["alert"] for rule in alerts()])
def test_alert_uses_only_the_gateway_metrics(alert: str) -> None:
    rule = next(r for r in alerts() if r["alert"] == alert)
    assert problems(rule["expr"]) == []


# Each change breaks one alert; its unit test must notice.
MUTATIONS = [
    (
        "5xx-threshold",
        "          > 0.05\n        for: 10m\n        labels:\n          severity: "
        'critical\n        annotations:\n          summary: "{{ $value | humanizePercentage }} '
        "of gateway",
        "          > 0.5\n        for: 10m\n        labels:\n          severity: "
        'critical\n        annotations:\n          summary: "{{ $value | humanizePercentage }} '
        "of gateway",
    ),
    ("renewals-unless", "unless on (job)", "and on (job)"),
    (
        "reload-new-series",
        'unless gateway_config_reloads_total{result="failure"} offset 15m',
        'and gateway_config_reloads_total{result="failure"} offset 15m',
    ),
    (
        "upstream-never-answered",
        "or sum by (job, upstream) (rate(gateway_upstream_errors_total[5m]))\n",
        "\n",
    ),
]


@pytest.mark.parametrize(("old", "new"), [m[1:] for m in MUTATIONS], ids=[m[0] for m in MUTATIONS])
def test_unit_tests_catch_a_broken_rule(tmp_path: Path, old: str, new: str) -> None:
    text = RULES.read_text()
    assert text.count(old) == 1, "the mutation no longer applies: update it with the rule"
    (tmp_path / "alerts.yml").write_text(text.replace(old, new))
    shutil.copy(RULE_TESTS, tmp_path / "alerts.test.yml")
    result = run([tool("promtool"), "test", "rules", "alerts.test.yml"], cwd=tmp_path)
    assert result.returncode != 0, "the unit tests did not notice the broken rule"


def test_compose_prometheus_config_is_valid() -> None:
    config = DEPLOY / "prometheus" / "prometheus.yml"
    result = run([tool("promtool"), "check", "config", str(config)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert load(config)["rule_files"] == ["alerts.yml"]
