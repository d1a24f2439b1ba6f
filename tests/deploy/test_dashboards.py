"""deploy/grafana: the dashboards' JSON (unique uids and panel ids, panels inside Grafana's
24-column grid without overlap, every target an expression on the provisioned data source) and
every expression parsed by promtool. Grafana itself is not packaged here: these checks and the
real-Prometheus test (test_prometheus_integration.py) are what stands for it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml
from tests.deploy.deploy_files import (
    GRAFANA_DIR,
    dashboard_expressions,
    dashboards,
    panels,
    require_tool,
    source_metric_names,
)

GRID_COLUMNS = 24
# What the issue asks the dashboards to show, as words of the panel titles.
WANTED = [
    "requests per second", "error ratio", "latency", "confidence", "drift", "reloads",
    "served version", "shadow",
]  # fmt: skip


def provisioned_datasource_uid() -> str:
    (source,) = yaml.safe_load(
        (GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )["datasources"]
    assert source["type"] == "prometheus"
    return source["uid"]


def test_dashboards_have_unique_uids_and_panel_ids() -> None:
    found = dashboards()
    assert len(found) >= 2
    uids = [dashboard["uid"] for dashboard in found.values()]
    assert len(set(uids)) == len(uids) and all(uids), uids
    assert len({dashboard["title"] for dashboard in found.values()}) == len(found)
    for path, dashboard in found.items():
        ids = [panel["id"] for panel in panels(dashboard)]
        assert len(set(ids)) == len(ids), (path.name, ids)


def test_panels_lie_inside_the_grid_without_overlapping() -> None:
    for path, dashboard in dashboards().items():
        taken: dict[tuple[int, int], str] = {}
        for panel in panels(dashboard):
            pos = panel["gridPos"]
            x, y, w, h = pos["x"], pos["y"], pos["w"], pos["h"]
            assert w > 0 and h > 0 and x >= 0 and y >= 0, (path.name, panel["title"])
            assert x + w <= GRID_COLUMNS, (path.name, panel["title"], pos)
            for cell in ((column, row) for column in range(x, x + w) for row in range(y, y + h)):
                assert cell not in taken, (path.name, panel["title"], "overlaps", taken[cell])
                taken[cell] = panel["title"]


def test_every_target_is_an_expression_on_the_provisioned_datasource() -> None:
    uid = provisioned_datasource_uid()
    for path, dashboard in dashboards().items():
        for panel in panels(dashboard):
            if panel["type"] == "row":
                continue
            where = (path.name, panel["title"])
            assert panel["datasource"] == {"type": "prometheus", "uid": uid}, where
            assert panel["targets"], where
            assert panel.get("description", "").strip(), where
            ref_ids = [target["refId"] for target in panel["targets"]]
            assert len(set(ref_ids)) == len(ref_ids), where
            for target in panel["targets"]:
                assert target["expr"].strip(), where
                assert target.get("datasource", panel["datasource"])["uid"] == uid, where


def test_the_dashboards_show_what_the_issue_asks_for() -> None:
    titles = " | ".join(
        panel["title"].lower() for dashboard in dashboards().values() for panel in panels(dashboard)
    )
    for words in WANTED:
        assert words in titles, words
    read = " ".join(" ".join(source_metric_names(expr)) for _, expr in dashboard_expressions())
    wanted = ["edm_requests_total", "edm_request_duration_seconds_bucket", "edm_model_version",
              "edm_registry_alias_version", "edm_drift_psi", "edm_prediction_confidence_bucket",
              "edm_model_reload_total", "edm_shadow_"]  # fmt: skip
    for metric in wanted:
        assert metric in read, metric


def test_the_dashboards_are_provisioned_from_their_folder() -> None:
    (provider,) = yaml.safe_load(
        (GRAFANA_DIR / "provisioning" / "dashboards" / "edm.yml").read_text()
    )["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"].rstrip("/").endswith("/edm")


def test_promtool_parses_every_dashboard_expression(tmp_path: Path) -> None:
    """promtool checks rule files offline: each expression becomes a recording rule."""
    promtool = require_tool("promtool")
    expressions = dashboard_expressions()
    rules = {
        "groups": [
            {
                "name": "dashboards",
                "rules": [
                    {"record": f"dashboard:expression_{index}", "expr": expr}
                    for index, (_, expr) in enumerate(expressions)
                ],
            }
        ]
    }
    path = tmp_path / "dashboards.rules.yml"
    path.write_text(yaml.safe_dump(rules))
    result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True,
                            text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(expressions)} rules found" in result.stdout
