"""Every manifest of every overlay: schema-valid, hardened, wired to the contract."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import kubernetes_validate
import pytest
import yaml

from .contract import (
    APPLICATIONS,
    CONSOLE_PORT,
    CONTRACT_ENV,
    K8S_OVERLAYS,
    METRICS,
    REPO_ROOT,
    SERVICE_DATABASES,
    SERVICE_PORTS,
    command,
)
from .kustomize import Manifest

KUBERNETES_VERSION = "1.34"
# kubernetes_validate knows only core kinds; these are checked field by field below.
CUSTOM_RESOURCE_KINDS = {
    ("postgresql.cnpg.io/v1", "Cluster"),
    ("postgresql.cnpg.io/v1", "Database"),
    ("postgresql.cnpg.io/v1", "ScheduledBackup"),
}
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job")
CLUSTER_SCOPED_KINDS = ("Namespace",)

overlays = pytest.mark.parametrize("overlay", K8S_OVERLAYS)


def of_kind(manifests: list[Manifest], kind: str) -> dict[str, Manifest]:
    return {m["metadata"]["name"]: m for m in manifests if m["kind"] == kind}


def containers(manifest: Manifest) -> Iterator[dict[str, Any]]:
    pod_spec = manifest["spec"]["template"]["spec"]
    yield from pod_spec.get("initContainers", [])
    yield from pod_spec["containers"]


def app_container(manifest: Manifest) -> dict[str, Any]:
    (container,) = manifest["spec"]["template"]["spec"]["containers"]
    assert isinstance(container, dict)
    return container


def env_names(container: dict[str, Any]) -> set[str]:
    return {variable["name"] for variable in container.get("env", [])}


def config_map_data(manifests: list[Manifest], name: str) -> dict[str, str]:
    (config_map,) = [
        m
        for m in manifests
        if m["kind"] == "ConfigMap" and m["metadata"]["name"].startswith(f"{name}-")
    ]
    data: dict[str, str] = config_map["data"]
    return data


@overlays
def test_core_manifests_validate_against_kubernetes_schema(
    rendered_overlays: dict[str, list[Manifest]], overlay: str
) -> None:
    core = [
        m
        for m in rendered_overlays[overlay]
        if (m["apiVersion"], m["kind"]) not in CUSTOM_RESOURCE_KINDS
    ]

    for manifest in core:
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
    assert len(core) > 40


@overlays
def test_custom_resources_are_known_kinds_with_required_fields(
    rendered_overlays: dict[str, list[Manifest]], overlay: str
) -> None:
    manifests = rendered_overlays[overlay]
    groups = {
        m["apiVersion"].split("/")[0] for m in manifests if "." in m["apiVersion"].split("/")[0]
    }
    assert groups <= {"postgresql.cnpg.io", "networking.k8s.io"}
    custom = [m for m in manifests if m["apiVersion"].startswith("postgresql.cnpg.io/")]
    assert {(m["apiVersion"], m["kind"]) for m in custom} <= CUSTOM_RESOURCE_KINDS

    (cluster,) = of_kind(manifests, "Cluster").values()
    assert cluster["spec"]["instances"] == (1 if overlay == "dev" else 3)
    assert re.fullmatch(r"\d+Gi", cluster["spec"]["storage"]["size"])
    assert cluster["spec"]["bootstrap"]["initdb"]["owner"] == "riskwatch"
    databases = of_kind(manifests, "Database").values()
    assert sorted(d["spec"]["name"] for d in databases) == sorted(SERVICE_DATABASES)
    for database in databases:
        assert database["spec"]["owner"] == "riskwatch"
        assert database["spec"]["cluster"]["name"] == cluster["metadata"]["name"]
    for backup in of_kind(manifests, "ScheduledBackup").values():
        assert backup["spec"]["cluster"]["name"] == cluster["metadata"]["name"]
        assert len(backup["spec"]["schedule"].split()) == 6  # CNPG cron has seconds


@overlays
def test_everything_lands_in_the_overlay_namespace(
    rendered_overlays: dict[str, list[Manifest]], overlay: str
) -> None:
    namespaced = [m for m in rendered_overlays[overlay] if m["kind"] not in CLUSTER_SCOPED_KINDS]
    (namespace,) = of_kind(rendered_overlays[overlay], "Namespace")

    assert {m["metadata"].get("namespace") for m in namespaced} == {namespace}


@overlays
def test_workloads_are_hardened(rendered_overlays: dict[str, list[Manifest]], overlay: str) -> None:
    workloads = [m for m in rendered_overlays[overlay] if m["kind"] in WORKLOAD_KINDS]

    for workload in workloads:
        pod_spec = workload["spec"]["template"]["spec"]
        assert pod_spec["securityContext"]["runAsNonRoot"] is True, workload["metadata"]["name"]
        assert pod_spec["automountServiceAccountToken"] is False
        for container in containers(workload):
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False
            assert security["readOnlyRootFilesystem"] is True
            assert security["capabilities"]["drop"] == ["ALL"]
            assert "memory" in container["resources"]["limits"]
            assert "cpu" in container["resources"]["requests"]


@overlays
def test_each_application_has_deployment_service_hpa_pdb_and_migration_job(
    rendered_overlays: dict[str, list[Manifest]], overlay: str
) -> None:
    manifests = rendered_overlays[overlay]
    deployments, services = of_kind(manifests, "Deployment"), of_kind(manifests, "Service")
    autoscalers = of_kind(manifests, "HorizontalPodAutoscaler")
    budgets = of_kind(manifests, "PodDisruptionBudget")
    jobs = {
        m["metadata"]["labels"]["app.kubernetes.io/name"]: m
        for m in of_kind(manifests, "Job").values()
    }

    for application in APPLICATIONS:
        deployment = deployments[application]
        container = app_container(deployment)
        assert container["command"] == command(application, "serve")
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
        assert {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}} in deployment["spec"]["template"][
            "spec"
        ]["volumes"]
        assert services[application]["spec"]["ports"][0]["port"] == SERVICE_PORTS[application]
        assert autoscalers[application]["apiVersion"] == "autoscaling/v2"
        assert autoscalers[application]["spec"]["scaleTargetRef"]["name"] == application
        assert budgets[application]["spec"]["selector"] == deployment["spec"]["selector"]
        job_container = app_container(jobs[application])
        assert job_container["command"] == command(application, "migrate")
        # The migration must run the very code the Deployment will serve.
        assert job_container["image"] == container["image"]
        assert re.search(r"-migrate-\d+-\d+-\d+$", jobs[application]["metadata"]["name"])


def test_prod_runs_three_of_everything_and_replicates_streams(
    rendered_overlays: dict[str, list[Manifest]],
) -> None:
    manifests = rendered_overlays["prod"]
    settings = config_map_data(manifests, "riskwatch-config")

    assert settings["RISKWATCH_STREAM_REPLICAS"] == "3"
    assert len(settings["NATS_URL"].split(",")) == 3
    assert of_kind(manifests, "StatefulSet")["nats"]["spec"]["replicas"] == 3
    nats_conf = config_map_data(manifests, "nats-config")["nats.conf"]
    assert len(re.findall(r"nats://nats-\d\.nats-headless:6222", nats_conf)) == 3
    for application in APPLICATIONS:
        assert of_kind(manifests, "Deployment")[application]["spec"]["replicas"] >= 3
        assert (
            of_kind(manifests, "HorizontalPodAutoscaler")[application]["spec"]["minReplicas"] >= 3
        )
    for image in (app_container(m)["image"] for m in of_kind(manifests, "Deployment").values()):
        assert re.fullmatch(r"ghcr\.io/riskwatch/\w+:\d+\.\d+\.\d+", image)


def test_dev_runs_single_node_nats_without_cluster_routes(
    rendered_overlays: dict[str, list[Manifest]],
) -> None:
    manifests = rendered_overlays["dev"]

    assert of_kind(manifests, "StatefulSet")["nats"]["spec"]["replicas"] == 1
    nats_conf = config_map_data(manifests, "nats-config")["nats.conf"]
    assert not re.search(r"^\s*(cluster|routes)\b", nats_conf, re.MULTILINE)
    assert config_map_data(manifests, "riskwatch-config")["RISKWATCH_STREAM_REPLICAS"] == "1"


@overlays
def test_env_names_are_the_contract_ones(
    rendered_overlays: dict[str, list[Manifest]], overlay: str
) -> None:
    manifests = rendered_overlays[overlay]
    settings = config_map_data(manifests, "riskwatch-config")
    used = set(settings)
    for workload in (m for m in manifests if m["kind"] in ("Deployment", "Job")):
        if workload["metadata"]["labels"].get("app.kubernetes.io/part-of") == "riskwatch":
            used |= env_names(app_container(workload))

    assert used <= CONTRACT_ENV, used - CONTRACT_ENV
    gateway_env = env_names(app_container(of_kind(manifests, "Deployment")["gateway"]))
    assert {"RISKWATCH_ADMIN_EMAIL", "RISKWATCH_ADMIN_PASSWORD", "DATABASE_URL"} <= gateway_env


@overlays
def test_references_resolve_to_rendered_or_documented_objects(
    rendered_overlays: dict[str, list[Manifest]], overlay: str
) -> None:
    manifests = rendered_overlays[overlay]
    config_maps = set(of_kind(manifests, "ConfigMap"))
    # Created outside kustomize: by CloudNativePG, or by the operator (docs/operations.md).
    secrets = set(of_kind(manifests, "Secret")) | {"riskwatch-pg-app", "riskwatch-secrets"}
    if overlay == "dev":
        assert any(name.startswith("riskwatch-secrets-") for name in secrets)
        secrets.discard("riskwatch-secrets")

    for workload in (m for m in manifests if m["kind"] in WORKLOAD_KINDS):
        for container in containers(workload):
            for source in container.get("envFrom", []):
                assert source["configMapRef"]["name"] in config_maps
            for variable in container.get("env", []):
                secret_ref = variable.get("valueFrom", {}).get("secretKeyRef")
                if secret_ref:
                    assert secret_ref["name"] in secrets, secret_ref
        for volume in workload["spec"]["template"]["spec"].get("volumes", []):
            if "configMap" in volume:
                assert volume["configMap"]["name"] in config_maps


@overlays
def test_network_policies_deny_by_default_and_expose_only_the_gateway_and_console(
    rendered_overlays: dict[str, list[Manifest]], overlay: str
) -> None:
    policies = of_kind(rendered_overlays[overlay], "NetworkPolicy")
    default_deny = policies["default-deny-all"]["spec"]
    ingress_rules = [
        (policy["spec"]["podSelector"], rule)
        for policy in policies.values()
        for rule in policy["spec"].get("ingress", [])
    ]
    from_ingress_controller = [
        selector
        for selector, rule in ingress_rules
        for peer in rule["from"]
        if peer.get("namespaceSelector", {})
        .get("matchLabels", {})
        .get("kubernetes.io/metadata.name")
        == "ingress-nginx"
    ]

    assert default_deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    assert sorted(from_ingress_controller, key=str) == [
        {"matchLabels": {"app.kubernetes.io/name": name}} for name in ("console", "gateway")
    ]
    assert all("ipBlock" not in peer for _, rule in ingress_rules for peer in rule["from"])
    (ingress,) = of_kind(rendered_overlays[overlay], "Ingress").values()
    backends = {
        (r["host"], p["backend"]["service"]["name"])
        for r in ingress["spec"]["rules"]
        for p in r["http"]["paths"]
    }
    # The API on its host, the console on a host of its own.
    assert {name for _, name in backends} == {"gateway", "console"}
    assert len({host for host, _ in backends}) == 2


@overlays
def test_the_console_is_a_web_front_end_of_the_gateway(
    rendered_overlays: dict[str, list[Manifest]], overlay: str
) -> None:
    manifests = rendered_overlays[overlay]
    deployment = of_kind(manifests, "Deployment")["console"]
    container = app_container(deployment)
    env = {variable["name"]: variable for variable in container["env"]}
    policies = of_kind(manifests, "NetworkPolicy")
    jobs = list(of_kind(manifests, "Job").values())

    assert container["command"] == command("console", "serve")
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["ports"][0]["containerPort"] == CONSOLE_PORT
    assert of_kind(manifests, "Service")["console"]["spec"]["ports"][0]["port"] == CONSOLE_PORT
    assert (
        of_kind(manifests, "HorizontalPodAutoscaler")["console"]["spec"]["scaleTargetRef"]["name"]
        == "console"
    )
    budget = of_kind(manifests, "PodDisruptionBudget")["console"]
    assert budget["spec"]["selector"] == deployment["spec"]["selector"]
    assert not [j for j in jobs if j["metadata"]["labels"]["app.kubernetes.io/name"] == "console"]
    # Its cookie key from the Secret, never a default; the SSO client secret only when set.
    session_key = env["CONSOLE_SESSION_KEY"]["valueFrom"]["secretKeyRef"]
    assert session_key["key"] == "CONSOLE_SESSION_KEY"
    assert "optional" not in session_key
    assert "value" not in env["CONSOLE_SESSION_KEY"]
    assert env["CONSOLE_OIDC_CLIENT_SECRET"]["valueFrom"]["secretKeyRef"]["optional"] is True
    assert config_map_data(manifests, "riskwatch-config")["CONSOLE_GATEWAY_URL"] == (
        "http://gateway:8000"
    )
    # Not a database or NATS client: the "web" component is outside their policies.
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert labels["app.kubernetes.io/component"] == "web"
    database_peers = policies["apps-to-postgres-and-nats"]["spec"]["podSelector"]
    assert "web" not in database_peers["matchExpressions"][0]["values"]
    assert not {"DATABASE_URL", "NATS_PASSWORD", "GATEWAY_JWT_SIGNING_KEYS"} & set(env)
    # It reaches the gateway, and the gateway lets it in.
    egress = policies["console-to-gateway"]["spec"]["egress"][0]
    assert egress["to"] == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "gateway"}}}]
    assert egress["ports"] == [{"protocol": "TCP", "port": 8000}]
    from_console = policies["gateway-from-console"]["spec"]["ingress"][0]["from"]
    assert from_console == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "console"}}}]


def load_alert_rules() -> list[dict[str, Any]]:
    document = yaml.safe_load((REPO_ROOT / "k8s/base/monitoring/riskwatch-alerts.yaml").read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def test_alert_rules_cover_every_contract_metric_and_link_a_runbook() -> None:
    rules = load_alert_rules()
    expressions = " ".join(rule["expr"] for rule in rules)
    used_metrics = {
        re.sub(r"_(bucket|sum|count)$", "", m) for m in re.findall(r"riskwatch_\w+", expressions)
    }
    operations = (REPO_ROOT / "docs/operations.md").read_text()
    anchors = {heading_anchor(line) for line in operations.splitlines() if line.startswith("#")}

    assert used_metrics == METRICS
    for rule in rules:
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"]
        anchor = rule["annotations"]["runbook_url"].partition("#")[2]
        assert anchor in anchors, anchor
    assert {
        "RiskWatchConsumerLagHigh",
        "RiskWatchOutboxBacklog",
        "RiskWatchAlertLatencyHigh",
        "RiskWatchDeadLetters",
        "RiskWatchNotReady",
    } <= {rule["alert"] for rule in rules}


def heading_anchor(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    text = heading.lstrip("#").strip().lower()
    return re.sub(r"[^a-z0-9 _-]", "", text).replace(" ", "-")


@overlays
def test_alert_rules_ship_in_a_fixed_name_config_map(
    rendered_overlays: dict[str, list[Manifest]], overlay: str
) -> None:
    config_map = of_kind(rendered_overlays[overlay], "ConfigMap")["riskwatch-alert-rules"]

    assert yaml.safe_load(config_map["data"]["riskwatch-alerts.yaml"])["groups"]
