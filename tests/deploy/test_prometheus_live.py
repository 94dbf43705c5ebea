"""A real Prometheus scraping a running gateway: the target is up, the gateway's metrics come
back through Prometheus's HTTP API with exactly the counts of the traffic sent, and the
shipped alerting rules evaluate against real data without an error."""

from __future__ import annotations

from tests.deploy import traffic
from tests.deploy.conftest import JOB, ROUNDS, Live
from tests.deploy.support import wait_for


def by(live: Live, expr: str, label: str) -> dict[str, float]:
    return {s["metric"].get(label, ""): float(s["value"][1]) for s in live.prometheus.query(expr)}


def test_gateway_target_is_up(live: Live) -> None:
    (target,) = live.prometheus.targets()
    assert target["health"] == "up", target.get("lastError")
    assert target["labels"]["job"] == "gateway"
    assert target["scrapeUrl"].endswith("/metrics")


def test_every_decision_counted_exactly(live: Live) -> None:
    decisions = by(live, f"sum by (decision) (gateway_auth_decisions_total{{{JOB}}})", "decision")
    assert decisions == traffic.expected_decisions(ROUNDS)


def test_decisions_carry_route_and_policy(live: Live) -> None:
    expr = f'sum by (route) (gateway_auth_decisions_total{{{JOB}, policy="admin"}})'
    # expired (api), allowed and refreshed (admin), the poll (session), each round.
    assert by(live, expr, "route") == {"api": ROUNDS, "admin": 2 * ROUNDS, "session": ROUNDS}


def test_renewals_and_session_ages(live: Live) -> None:
    assert (
        live.prometheus.value(f'sum(gateway_session_refreshes_total{{{JOB}, policy="admin"}})')
        == ROUNDS
    )
    ages = by(live, f"sum by (policy) (gateway_session_age_seconds_count{{{JOB}}})", "policy")
    assert ages == {"admin": 4 * ROUNDS, "general": 2 * ROUNDS}
    under_two_minutes = live.prometheus.value(
        f'sum(gateway_session_age_seconds_bucket{{{JOB}, policy="admin", le="300.0"}})'
    )
    assert under_two_minutes == ROUNDS  # the fresh `allowed` cookie; the others are hours old


def test_upstream_errors_and_statuses(live: Live) -> None:
    errors = by(live, f"sum by (reason) (gateway_upstream_errors_total{{{JOB}}})", "reason")
    assert errors == {"connect": ROUNDS}
    codes = by(live, f"sum by (code) (gateway_requests_total{{{JOB}}})", "code")
    assert codes == {"200": 4 * ROUNDS, "401": 4 * ROUNDS, "403": ROUNDS, "502": ROUNDS}


def test_passive_reissues_and_step_ups(live: Live) -> None:
    held = by(live, f"sum by (policy) (gateway_passive_reissues_total{{{JOB}}})", "policy")
    assert held == {"admin": ROUNDS}  # the poll's re-issue, its iat kept
    expr = f'sum by (route) (gateway_auth_decisions_total{{{JOB}, decision="step_up"}})'
    assert by(live, expr, "route") == {"billing": ROUNDS}


def test_reloads_counted_and_the_config_kept(live: Live) -> None:
    reloads = by(live, f"gateway_config_reloads_total{{{JOB}}}", "result")
    assert reloads["success"] == 1 and reloads["failure"] >= 1
    (info,) = live.prometheus.query(f"gateway_config_info{{{JOB}}}")
    assert len(info["metric"]["sha256"]) == 12


def test_alert_rules_evaluate_cleanly_on_real_data(live: Live) -> None:
    def evaluated() -> list[dict[str, object]] | None:
        rules = live.prometheus.rules()
        done = all(not str(r.get("lastEvaluation", "")).startswith("0001") for r in rules)
        return rules if rules and done else None

    rules = wait_for("every alerting rule to be evaluated", evaluated, deadline=15)
    assert {r["health"] for r in rules} == {"ok"}, [r.get("lastError") for r in rules]


def test_reload_failure_alert_fires(live: Live) -> None:
    def firing() -> bool:
        alerts = [r for r in live.prometheus.rules() if r["name"] == "GatewayConfigReloadFailing"]
        return bool(alerts) and alerts[0]["state"] == "firing"

    assert wait_for("GatewayConfigReloadFailing to fire", firing, deadline=15)
