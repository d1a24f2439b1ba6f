"""The compose stack says what the README says: PostgreSQL behind a proxying MLflow server, and
the service's monitoring (Prometheus with the rules, Alertmanager routed to the service,
Grafana with the dashboards), wired to each other by the names and ports the configs use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from tests.deploy.deploy_files import DEPLOY

SECRETS = ("EDM_ALERT_TOKEN", "GRAFANA_ADMIN_PASSWORD", "POSTGRES_PASSWORD")


def stack() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> host path (relative to deploy/) of the bind mounts."""
    found = {}
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith("./"):
            found[target] = source
    return found


def test_compose_stack_runs_mlflow_on_postgresql_with_proxied_s3_artifacts() -> None:
    services = stack()["services"]
    assert {"postgres", "mlflow", "minio"} <= set(services)
    command = " ".join(services["mlflow"]["command"].split())
    assert "--backend-store-uri postgresql://" in command
    assert "--artifacts-destination s3://" in command
    assert services["mlflow"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "${POSTGRES_PASSWORD" in services["postgres"]["environment"]["POSTGRES_PASSWORD"]
    example = (DEPLOY / ".env.example").read_text()
    assert "POSTGRES_PASSWORD=" in example and "S3_SECRET_KEY=" in example


def test_prometheus_runs_the_repository_config_and_rules_and_scrapes_the_service() -> None:
    compose = stack()
    services = compose["services"]
    prometheus = services["prometheus"]
    mounted = mounts(prometheus)
    config_path = "/etc/prometheus/prometheus.yml"
    assert mounted[config_path] == "./prometheus/prometheus.yml"
    assert f"--config.file={config_path}" in prometheus["command"]
    # rule_files are relative to the config: the rules folder is mounted beside it.
    assert mounted["/etc/prometheus/rules"] == "./prometheus/rules"
    for source in mounted.values():
        assert (DEPLOY / source).exists(), source
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    (edm_job,) = [job for job in config["scrape_configs"] if job["job_name"] == "edm-serve"]
    host, port = edm_job["static_configs"][0]["targets"][0].split(":")
    assert host in services and f"{port}:{port}" in services[host]["ports"]
    alertmanager_host, alertmanager_port = config["alerting"]["alertmanagers"][0]["static_configs"][
        0
    ]["targets"][0].split(":")
    assert alertmanager_host in services
    assert any(p.endswith(f":{alertmanager_port}") for p in services["alertmanager"]["ports"])
    assert "prometheus-data" in compose["volumes"]
    # No login on Prometheus and Alertmanager: published on loopback only.
    for name in ("prometheus", "alertmanager"):
        assert all(port.startswith("127.0.0.1:") for port in services[name]["ports"]), name


def test_alertmanager_delivers_to_the_service_with_the_token_from_the_environment() -> None:
    services = stack()["services"]
    alertmanager = services["alertmanager"]
    config_path = "/etc/alertmanager/alertmanager.yml"
    assert mounts(alertmanager)[config_path] == "./alertmanager/alertmanager.yml"
    config = yaml.safe_load((DEPLOY / "alertmanager" / "alertmanager.yml").read_text())
    (hook,) = config["receivers"][0]["webhook_configs"]
    # The hooks' own listener: reachable on the compose network, published nowhere.
    edm_command = " ".join(services["edm"]["command"].split())
    assert hook["url"] == "http://edm:8001/hooks/alertmanager"
    assert "--admin-host 0.0.0.0 --admin-port 8001" in edm_command
    assert not any(port.endswith(":8001") for port in services["edm"]["ports"])
    # The token file the config names is written at start from the environment, by a shell
    # builtin: the token is on no command line and in no file of the repository.
    start = " ".join(alertmanager["command"])
    assert hook["http_config"]["authorization"]["credentials_file"] in start
    assert "$$EDM_ALERT_TOKEN" in start and f"--config.file={config_path}" in start
    for name in ("alertmanager", "edm"):
        assert "${EDM_ALERT_TOKEN" in services[name]["environment"]["EDM_ALERT_TOKEN"], name
    assert "${EDM_AUTO_ROLLBACK:---no-auto-rollback}" in edm_command
    assert "token" not in edm_command.lower()


def test_grafana_is_provisioned_with_the_prometheus_data_source_and_the_dashboards() -> None:
    compose = stack()
    services = compose["services"]
    grafana = services["grafana"]
    assert grafana["image"].startswith("grafana/grafana:")
    mounted = mounts(grafana)
    assert mounted["/etc/grafana/provisioning"] == "./grafana/provisioning"
    provider = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "dashboards" / "edm.yml").read_text()
    )["providers"][0]
    assert mounted[provider["options"]["path"]] == "./grafana/dashboards"
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert (DEPLOY / "grafana" / "dashboards" / Path(home).name).is_file()
    (source,) = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )["datasources"]
    assert source["url"] == "http://prometheus:9090" and "prometheus" in services
    assert "${GRAFANA_ADMIN_PASSWORD" in grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD"]
    assert "grafana-data" in compose["volumes"]


def test_every_secret_the_stack_asks_for_is_in_the_example_environment() -> None:
    example = (DEPLOY / ".env.example").read_text()
    text = (DEPLOY / "docker-compose.yml").read_text()
    for name in SECRETS:
        assert "${" + name in text and f"{name}=" in example, name


def test_docker_stop_waits_longer_than_the_service_drains() -> None:
    import typer

    from edm.cli.main import app

    serve = typer.main.get_command(app).commands["serve"]  # type: ignore[attr-defined]
    drain = next(p.default for p in serve.params if p.name == "drain_seconds")
    grace = stack()["services"]["edm"]["stop_grace_period"]
    assert grace.endswith("s") and float(grace[:-1]) > drain


def test_the_service_records_its_traffic_into_a_volume_its_user_can_write() -> None:
    """What `edm monitor reference --from-traffic` reads when the catalogue has moved on."""
    compose = stack()
    edm = compose["services"]["edm"]
    command = " ".join(edm["command"].split())
    assert "--record-traffic /var/lib/edm/traffic" in command
    assert "edm-traffic:/var/lib/edm/traffic" in edm["volumes"]
    assert "edm-traffic" in compose["volumes"]
    # A named volume starts as a copy of the image's folder: it must exist there, owned by the
    # user the service runs as, or the first recorded answer fails on permissions.
    dockerfile = (DEPLOY / "edm.Dockerfile").read_text()
    assert "install -d -o edm /var/lib/edm/traffic" in dockerfile
    assert dockerfile.index("install -d -o edm") < dockerfile.index("USER edm")
