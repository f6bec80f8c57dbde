"""The Helm chart, rendered and linted by Helm's own engine (libhelm, bundled by the
helm-python-sdk package; no cluster is contacted), each manifest validated against the
Kubernetes OpenAPI schemas (kubernetes-validate), and the behaviours the values promise."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from helm_python.chart import Chart, lint

CHART = Path(__file__).resolve().parents[2] / "charts" / "pm4ml"
KUBERNETES = "1.30"

MINIMAL: dict[str, Any] = {
    "jws": {"signingKey": "-----BEGIN PRIVATE KEY-----", "peerKeys": {"hub": "-----BEGIN"}},
    "ilp": {"secret": "s3cret"},
}
PRODUCTION: dict[str, Any] = {
    **MINIMAL,
    "replicaCount": 3,
    "dfsp": {"id": "dfspa", "hubEndpoint": "https://hub.example:443", "fspiopVersion": "1.1"},
    "database": {"url": "postgresql+asyncpg://pm4ml@postgres:5432/pm4ml"},
    "bus": {"url": "redis://redis:6379/0"},
    "ingress": {"enabled": True, "host": "dfspa.example", "tls": {"caSecret": "hub/ca"}},
    "autoscaling": {"enabled": True},
    "serviceMonitor": {"enabled": True},
    "networkPolicy": {"enabled": True},
    "otel": {"endpoint": "http://otel-collector:4318", "serviceName": "dfspa"},
    "image": {"repository": "registry.example/pm4ml", "digest": "sha256:" + "ab" * 32},
}


def render(values: dict[str, Any]) -> list[dict[str, Any]]:
    manifests = Chart.load(CHART).render(values, name="dfspa", namespace="pm4ml", is_install=True)
    documents: list[dict[str, Any]] = []
    for text in manifests.values():
        documents.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return documents


def by_kind(documents: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [doc for doc in documents if doc["kind"] == kind]


@pytest.mark.parametrize("values", [MINIMAL, PRODUCTION], ids=["minimal", "production"])
def test_lints_clean_in_strict_mode(values: dict[str, Any]) -> None:
    report = lint(CHART, values, strict=True, namespace="pm4ml")
    assert report["errors"] == []
    assert report["messages"] == []


@pytest.mark.parametrize("values", [MINIMAL, PRODUCTION], ids=["minimal", "production"])
def test_every_manifest_is_valid_kubernetes(values: dict[str, Any]) -> None:
    documents = render(values)
    for doc in documents:
        if doc["kind"] == "ServiceMonitor":  # a CRD: not in the Kubernetes schemas
            assert doc["apiVersion"] == "monitoring.coreos.com/v1"
            continue
        kubernetes_validate.validate(doc, KUBERNETES, strict=True)


def test_production_values_wire_everything() -> None:
    documents = render(PRODUCTION)
    kinds = sorted({doc["kind"] for doc in documents})
    assert kinds == [
        "ConfigMap",
        "Deployment",
        "HorizontalPodAutoscaler",
        "Ingress",
        "Job",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "Secret",
        "Service",
        "ServiceMonitor",
    ]
    services = {doc["metadata"]["name"]: doc for doc in by_kind(documents, "Service")}
    assert set(services) == {
        "dfspa-pm4ml-inbound",
        "dfspa-pm4ml-outbound",
        "dfspa-pm4ml-ops",
        "dfspa-pm4ml-metrics",
    }
    (deployment,) = by_kind(documents, "Deployment")
    assert "replicas" not in deployment["spec"]  # the HPA owns the count
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["runAsNonRoot"] is True
    assert container["livenessProbe"]["httpGet"] == {"path": "/health/live", "port": "metrics"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": "metrics"}
    secrets_in_env = {e["name"] for e in container["env"]}
    assert secrets_in_env == {"PM4ML_ILP_SECRET", "PM4ML_DATABASE_URL"}
    (config,) = by_kind(documents, "ConfigMap")
    assert config["data"]["PM4ML_BUS_URL"] == "redis://redis:6379/0"
    assert config["data"]["PM4ML_DATABASE_MIGRATE_ON_START"] == "false"  # the Job migrates
    assert config["data"]["PM4ML_METRICS_PORT"] == "9464"
    assert config["data"]["PM4ML_OPS_PORT"] == "4002"
    (job,) = by_kind(documents, "Job")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["db", "upgrade"]
    database = [
        s for s in by_kind(documents, "Secret") if s["metadata"]["name"] == "dfspa-pm4ml-database"
    ]
    assert database[0]["metadata"]["annotations"]["helm.sh/hook-weight"] == "0"  # before Job
    (ingress,) = by_kind(documents, "Ingress")
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/auth-tls-verify-client"] == "on"
    assert annotations["nginx.ingress.kubernetes.io/auth-tls-secret"] == "hub/ca"
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == "dfspa-pm4ml-inbound"
    assert config["data"]["PM4ML_LOG_FORMAT"] == "json"
    assert config["data"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4318"
    assert config["data"]["OTEL_SERVICE_NAME"] == "dfspa"
    (deployment,) = by_kind(documents, "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "registry.example/pm4ml@sha256:" + "ab" * 32
    assert container["resources"]["limits"]["cpu"]
    assert {doc["metadata"].get("namespace") for doc in documents} == {"pm4ml"}
    (policy,) = by_kind(documents, "NetworkPolicy")
    inbound, internal = policy["spec"]["ingress"]
    assert [p["port"] for p in inbound["ports"]] == [4000]
    assert "from" not in inbound  # the hub, through whichever ingress controller
    assert internal["from"] == [{"podSelector": {}}]


def test_sqlite_default_migrates_on_start_and_has_no_job() -> None:
    documents = render(MINIMAL)
    assert by_kind(documents, "Job") == []
    (config,) = by_kind(documents, "ConfigMap")
    assert config["data"]["PM4ML_DATABASE_MIGRATE_ON_START"] == "true"
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" not in config["data"]
    assert by_kind(documents, "NetworkPolicy") == []
    (deployment,) = by_kind(documents, "Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "pm4ml:0.1.0"


def test_existing_secrets_are_referenced_not_created() -> None:
    values = copy.deepcopy(PRODUCTION)
    values["jws"] = {"existingSecret": "keys", "peerKeysSecret": "peers"}
    values["ilp"] = {"existingSecret": "ilp"}
    values["database"] = {"existingSecret": "db"}
    documents = render(values)
    assert by_kind(documents, "Secret") == []
    (deployment,) = by_kind(documents, "Deployment")
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert volumes["signing-key"]["secret"]["secretName"] == "keys"
    assert volumes["peer-keys"]["secret"]["secretName"] == "peers"


def test_passthrough_mode_does_not_terminate_tls() -> None:
    values = copy.deepcopy(PRODUCTION)
    values["ingress"] = {"enabled": True, "tlsMode": "passthrough"}
    (ingress,) = by_kind(render(values), "Ingress")
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/ssl-passthrough"] == "true"
    assert not any("auth-tls" in name for name in annotations)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ilp": {"secret": ""}}, "ilp.secret (or ilp.existingSecret) is required"),
        ({"jws": {"signingKey": ""}}, "jws.signingKey (or jws.existingSecret) is required"),
        ({"bus": {"url": ""}}, "autoscaling needs database.url (PostgreSQL) and bus.url"),
        ({"ingress": {"tlsMode": "plain"}}, "ingress.tlsMode must be passthrough or terminate"),
        ({"ingress": {"tls": {"caSecret": ""}}}, "ingress.tls.caSecret is required"),
    ],
)
def test_bad_values_fail_with_a_clear_message(change: dict[str, Any], message: str) -> None:
    values = copy.deepcopy(PRODUCTION)
    for key, part in change.items():
        values[key] = {**values.get(key, {}), **part}
    with pytest.raises(Exception, match=message.replace("(", r"\(").replace(")", r"\)")):
        render(values)
