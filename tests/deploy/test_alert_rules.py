"""deploy/prometheus: the alert rules as the issue names them, each with promtool unit tests
(firing and not firing), and promtool/amtool's own checks of every config file."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from tests.deploy.deploy_files import (
    DEPLOY,
    PROMETHEUS_DIR,
    RULE_FILES,
    RULE_TEST_FILES,
    alerts,
    metric_names,
    require_tool,
)

# name: (severity, threshold as written in the expression, `for`)
EXPECTED_ALERTS = {
    "EdmHighErrorRatio": ("critical", "> 0.05", "5m"),
    "EdmHighLatencyP95": ("warning", "> 5)", "10m"),
    "EdmLowConfidence": ("warning", "< 0.5)", "15m"),
    "EdmErrorRatioWorseThanPrevious": ("critical", "> 0.05", "5m"),
    "EdmConfidenceWorseThanPrevious": ("warning", "- 0.1)", "15m"),
    "EdmLatencyWorseThanPrevious": ("warning", "(1.5 * histogram_quantile(0.95,", "10m"),
    "EdmNoProductionModel": ("critical", "== 0", "2m"),
    "EdmModelReloadFailed": ("warning", "[10m]) > 0", "0m"),
    "EdmServedVersionMismatch": ("warning", "!= on()", "10m"),
    "EdmInputDrift": ("warning", "> 0.2)", "30m"),
    "EdmServiceDown": ("critical", "== 0", "1m"),
    "EdmAlertNotificationsUnauthorized": ("warning", "[15m])) >= 3", "5m"),
}
# Only the comparative alerts roll back: the new version worse than the previous one on the
# same tracks. The absolute ones (error ratio, latency SLO, confidence) name the version too,
# for a person, and carry no degradation label.
DEGRADATION = {
    "EdmErrorRatioWorseThanPrevious",
    "EdmConfidenceWorseThanPrevious",
    "EdmLatencyWorseThanPrevious",
}
ABSOLUTE = {"EdmHighErrorRatio", "EdmHighLatencyP95", "EdmLowConfidence"}
REVIEW = {"EdmInputDrift"}  # drift asks a person to review: never a degradation
VERSION_JOIN = (
    'group_left(version) count_values("version", max(edm_model_version{variant="production"}))'
)
PREVIOUS_JOIN = (
    "group_left(previous_version) "
    'count_values("previous_version", max(edm_model_version{variant="previous"}))'
)


def run(command: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=cwd)


def test_every_alert_is_there_with_its_threshold_labels_and_annotations() -> None:
    found = alerts()
    assert set(found) == set(EXPECTED_ALERTS)
    for name, (severity, threshold, duration) in EXPECTED_ALERTS.items():
        rule = found[name]
        assert threshold in " ".join(rule["expr"].split()), name
        assert rule["for"] == duration, name
        assert rule["labels"]["service"] == "edm", name
        assert rule["labels"]["severity"] == severity, name
        assert rule["annotations"]["summary"].strip(), name
        assert rule["annotations"]["description"].strip(), name
        # The degradation alerts name the version they concern: the rollback keys on it. The
        # review alerts name it too (whose drift reference), and are never degradations.
        is_degradation = rule["labels"].get("degradation") == "true"
        is_review = rule["labels"].get("review") == "true"
        assert is_degradation == (name in DEGRADATION), name
        assert is_review == (name in REVIEW), name
        assert not (is_degradation and is_review), name
        expr = " ".join(rule["expr"].split())
        assert (VERSION_JOIN in expr) == (name in DEGRADATION | ABSOLUTE | REVIEW), name
        # A comparative alert compares both variants and names the version it would restore.
        assert (PREVIOUS_JOIN in expr) == is_degradation, name
        if is_degradation:
            assert 'variant="production"' in expr and 'variant="previous"' in expr, name


def test_every_alert_has_unit_tests_that_fire_it_and_that_do_not() -> None:
    fired: set[str] = set()
    quiet: set[str] = set()
    for path in RULE_TEST_FILES:
        spec = yaml.safe_load(path.read_text())
        assert spec["rule_files"] == [f"../rules/{rule.name}" for rule in RULE_FILES], path
        for test in spec["tests"]:
            for case in test.get("alert_rule_test", []):
                (fired if case.get("exp_alerts") else quiet).add(case["alertname"])
    assert fired == set(EXPECTED_ALERTS), set(EXPECTED_ALERTS) - fired
    assert quiet == set(EXPECTED_ALERTS), set(EXPECTED_ALERTS) - quiet


def test_promtool_unit_tests_pass() -> None:
    promtool = require_tool("promtool")
    result = run([promtool, "test", "rules", *(path.name for path in RULE_TEST_FILES)],
                 cwd=PROMETHEUS_DIR / "tests")  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(RULE_TEST_FILES), result.stdout


def test_promtool_unit_tests_fail_when_a_rule_is_wrong(tmp_path: Path) -> None:
    """The unit tests can fail: the same tests against a rule file whose error-ratio threshold
    moved from 5 % to 50 %."""
    promtool = require_tool("promtool")
    (tmp_path / "rules").mkdir()
    (tmp_path / "tests").mkdir()
    for rule in RULE_FILES:
        text = rule.read_text()
        assert text.count(") > 0.05") == 1
        (tmp_path / "rules" / rule.name).write_text(text.replace(") > 0.05", ") > 0.5"))
    test = PROMETHEUS_DIR / "tests" / "error_ratio.test.yml"
    (tmp_path / "tests" / test.name).write_text(test.read_text())
    result = run([promtool, "test", "rules", test.name], cwd=tmp_path / "tests")
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "alertname: EdmHighErrorRatio" in output, output


def test_promtool_checks_the_rules_and_the_prometheus_config() -> None:
    promtool = require_tool("promtool")
    result = run([promtool, "check", "rules", *map(str, RULE_FILES)])
    assert result.returncode == 0, result.stdout + result.stderr
    result = run([promtool, "check", "config", str(PROMETHEUS_DIR / "prometheus.yml")])
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(RULE_FILES)} rule files found" in result.stdout, result.stdout


def test_prometheus_config_scrapes_the_service_and_sends_alerts_to_alertmanager() -> None:
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["edm-serve"].get("metrics_path", "/metrics") == "/metrics"
    assert jobs["edm-serve"]["static_configs"][0]["targets"] == ["edm:8000"]
    assert config["rule_files"] == ["rules/*.yml"]
    targets = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert targets == ["alertmanager:9093"]
    # EdmServiceDown and EdmNoProductionModel name the job.
    assert all('job="edm-serve"' in rule["expr"] for name, rule in alerts().items()
               if "up{" in rule["expr"])  # fmt: skip


def test_alertmanager_routes_every_alert_to_the_service_webhook() -> None:
    config = yaml.safe_load((DEPLOY / "alertmanager" / "alertmanager.yml").read_text())
    receivers = {receiver["name"]: receiver for receiver in config["receivers"]}
    route = config["route"]
    used = {route["receiver"]} | {child["receiver"] for child in route.get("routes", [])}
    assert used == {"edm-service", "edm-review"}
    for name in used:  # the review receiver logs at the service, which never acts on it
        (hook,) = receivers[name]["webhook_configs"]
        assert hook["url"] == "http://edm:8001/hooks/alertmanager"  # the admin listener
        assert hook["send_resolved"] is True
        # The token comes from a file written at start, never from this file.
        authorization = hook["http_config"]["authorization"]
        assert "credentials" not in authorization and authorization["credentials_file"]
    assert "version" in route["group_by"]


def test_amtool_checks_the_alertmanager_config() -> None:
    amtool = require_tool("amtool")
    config = str(DEPLOY / "alertmanager" / "alertmanager.yml")
    result = run([amtool, "check-config", config])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
    # Every alert, with its labels (a degradation or review one with a version), reaches the
    # service; a review alert (drift) only through the review route, never the rollback's.
    for name, rule in alerts().items():
        labels = rule["labels"] | {"alertname": name}
        if "degradation" in labels or "review" in labels:
            labels["version"] = "3"
        receiver = "edm-review" if labels.get("review") == "true" else "edm-service"
        result = run([amtool, "config", "routes", "test", f"--config.file={config}",
                      f"--verify.receivers={receiver}",
                      *(f"{key}={value}" for key, value in labels.items())])  # fmt: skip
        assert result.returncode == 0, (name, result.stdout + result.stderr)
    # Even mislabelled as a degradation too, a review alert takes the review route.
    result = run([amtool, "config", "routes", "test", f"--config.file={config}",
                  "--verify.receivers=edm-review", "alertname=EdmInputDrift", "service=edm",
                  "review=true", 'degradation=true', "version=3"])  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ('sum by (le) (rate(edm_x_bucket{route="/p"}[5m])) > 0.5', {"edm_x_bucket"}),
        ('count_values("v", max(edm_v{a="b"})) * on() group_left(v) up', {"edm_v", "up"}),
        ("a offset 10m unless b and on(x) c or vector(1)", {"a", "b", "c"}),
        ("histogram_quantile(0.95, sum(rate(m[$__rate_interval])) by (le)) / 1e3", {"m"}),
        ('edm:rec:rate5m{quantile="0.5"}', {"edm:rec:rate5m"}),
    ],
)
def test_metric_names_of_an_expression(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names
