"""The rendered chart is valid Kubernetes and agrees with what the services really do.

Rendered offline by Helm's own engine (helm-python-sdk); every manifest is validated
against the Kubernetes API schemas of KUBE_VERSIONS (kubernetes-validate, strict:
unknown fields are errors). The ServiceMonitor is a CRD kubernetes-validate has no
schema for; SERVICE_MONITOR below checks the fields we emit instead.
"""

from __future__ import annotations

import re
from typing import Any

import jsonschema
import kubernetes_validate
import msgspec
import pytest
import yaml

from services.api.routes.health import HEALTH_PATH, READY_PATH
from services.checker.db import CONNECT_TIMEOUT
from services.checker.main import SHUTDOWN_GRACE
from services.checker.metrics import HEALTH_PATH as CHECKER_HEALTH_PATH
from services.checker.metrics import METRICS_PATH
from shared.settings import FIELDS, Settings, load_settings

from .render import (
    RELEASE,
    Release,
    container_env,
    container_port,
    hook_weight,
    hooks,
    pod_spec,
    render,
    secret_data,
    strip,
)

# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and a recent one.
KUBE_VERSIONS = ("1.29.0", "1.33.0")

DB_URL = "postgresql://uptimatum:s3cret@pg.example.internal:5432/uptimatum"
USER_SECRET = "uptimatum-credentials"
# What the user's own Secret holds, for the variants that use existingSecret.
EXISTING = {
    USER_SECRET: {
        "database-url": DB_URL,
        "database-password": "s3cret",
        "admin-token": "user-admin-token",
    }
}

INGRESS = {
    "enabled": True,
    "className": "nginx",
    "annotations": {"cert-manager.io/cluster-issuer": "letsencrypt"},
    "hosts": [{"host": "status.example.org", "paths": [{"path": "/", "pathType": "Prefix"}]}],
    "tls": [{"secretName": "status-tls", "hosts": ["status.example.org"]}],
}

VARIANTS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "database-url": {"database": {"url": DB_URL}},
    "database-parts": {
        "database": {"host": "pg.example.internal", "user": "app", "password": "s3cret"}
    },
    "existing-secret": {"existingSecret": USER_SECRET},
    "existing-secret-parts": {
        "existingSecret": USER_SECRET,
        "database": {"host": "pg.example.internal"},
    },
    "ingress-tls": {"database": {"url": DB_URL}, "api": {"ingress": INGRESS}},
    "service-monitor": {
        "database": {"url": DB_URL},
        "checker": {"serviceMonitor": {"enabled": True, "labels": {"release": "prom"}}},
    },
    "hpa": {
        "database": {"url": DB_URL},
        "api": {"autoscaling": {"enabled": True, "targetMemoryUtilizationPercentage": 80}},
    },
    "replicas-1": {
        "database": {"url": DB_URL},
        "api": {"replicaCount": 1},
        "checker": {"replicaCount": 1},
    },
    "other-ports": {
        "database": {"url": DB_URL},
        "api": {"port": 8080},
        "checker": {"metricsPort": 9200},
    },
}
CONFIGURED = [name for name in VARIANTS if name != "defaults"]

# A hand-written subset of the monitoring.coreos.com/v1 ServiceMonitor schema
# (prometheus-operator CRD): the fields this chart emits, typed, nothing else allowed.
_DURATION = {"type": "string", "pattern": r"^(0|([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?)$"}
_LABELS = {"type": "object", "additionalProperties": {"type": "string"}}
SERVICE_MONITOR = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "ServiceMonitor"},
        "metadata": {
            "type": "object",
            "required": ["name"],
            "additionalProperties": False,
            "properties": {"name": {"type": "string"}, "labels": _LABELS},
        },
        "spec": {
            "type": "object",
            "required": ["selector", "endpoints"],
            "additionalProperties": False,
            "properties": {
                "selector": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"matchLabels": _LABELS},
                },
                "endpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["port"],
                        "properties": {
                            "port": {"type": "string"},
                            "path": {"type": "string"},
                            "interval": _DURATION,
                            "scrapeTimeout": _DURATION,
                        },
                    },
                },
            },
        },
    },
}


def _release(variant: str) -> Release:
    return render(VARIANTS[variant])


def _api_settings(release: Release) -> Settings:
    return load_settings(container_env(release, release.deployment("api"), EXISTING))


def _checker_settings(release: Release) -> Settings:
    return load_settings(container_env(release, release.deployment("checker"), EXISTING))


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_manifest_is_valid_kubernetes(variant: str) -> None:
    release = _release(variant)
    kinds = set()
    for manifest in release.manifests:
        kinds.add(manifest["kind"])
        if manifest["kind"] == "ServiceMonitor":
            jsonschema.validate(strip(manifest), SERVICE_MONITOR)
            continue
        for version in KUBE_VERSIONS:
            try:
                kubernetes_validate.validate(strip(manifest), version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                path = ".".join(str(p) for p in exc.path)
                pytest.fail(f"{manifest['__template__']} ({version}): {path}: {exc.message}")
    assert {"Deployment", "Service", "ConfigMap", "Job", "PodDisruptionBudget"} <= kinds


def test_optional_resources_follow_their_switches() -> None:
    plain = _release("database-url")
    assert not plain.all("Ingress")
    assert not plain.all("HorizontalPodAutoscaler")
    assert not plain.all("ServiceMonitor")
    assert _release("ingress-tls").all("Ingress")
    assert _release("hpa").all("HorizontalPodAutoscaler")
    assert _release("service-monitor").all("ServiceMonitor")
    assert not _release("existing-secret").all("Secret"), "existingSecret: the chart makes none"


@pytest.mark.parametrize("variant", ["database-url", "other-ports"])
def test_api_probes_are_the_routes_the_api_serves(variant: str) -> None:
    release = _release(variant)
    api = release.deployment("api")
    container = pod_spec(api)["containers"][0]
    listens_on = _api_settings(release).port
    liveness = container["livenessProbe"]["httpGet"]
    readiness = container["readinessProbe"]["httpGet"]
    assert liveness["path"] == HEALTH_PATH
    assert readiness["path"] == READY_PATH
    assert container_port(api, liveness["port"]) == listens_on
    assert container_port(api, readiness["port"]) == listens_on
    service = release.get("Service", RELEASE)
    (port,) = service["spec"]["ports"]
    assert container_port(api, port["targetPort"]) == listens_on


@pytest.mark.parametrize("variant", ["service-monitor", "other-ports"])
def test_checker_probe_and_scrape_target_are_what_the_checker_serves(variant: str) -> None:
    release = _release(variant)
    checker = release.deployment("checker")
    container = pod_spec(checker)["containers"][0]
    serves_on = _checker_settings(release).metrics_port
    liveness = container["livenessProbe"]["httpGet"]
    assert liveness["path"] == CHECKER_HEALTH_PATH
    assert container_port(checker, liveness["port"]) == serves_on

    service = release.get("Service", f"{RELEASE}-checker-metrics")
    annotations = service["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/path"] == METRICS_PATH
    assert int(annotations["prometheus.io/port"]) == serves_on
    (port,) = service["spec"]["ports"]
    assert container_port(checker, port["targetPort"]) == serves_on
    assert _selects(service["spec"]["selector"], checker)

    for monitor in release.all("ServiceMonitor"):
        (endpoint,) = monitor["spec"]["endpoints"]
        assert endpoint["path"] == METRICS_PATH
        assert endpoint["port"] == port["name"]
        assert _labels_match(monitor["spec"]["selector"]["matchLabels"], service)


# Settings a workload deliberately does not get, and why.
NOT_SET = {
    "url": dict.fromkeys(
        ("DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD"),
        "DATABASE_URL overrides the DB_* parts",
    ),
    "parts": {"DATABASE_URL": "the database is given as DB_* parts"},
    "checker": {
        "ADMIN_TOKEN": "the checker serves no writes; it never gets the token",
        "API_WORKERS": "the API's worker processes; the checker has none",
    },
    "every": {
        "MIGRATIONS_DIR": "the image sets it (/app/migrations)",
        "DATA_DIR": "only `uptimatum dev` reads it, and no workload runs that",
    },
}


@pytest.mark.parametrize("variant", CONFIGURED)
def test_every_setting_is_set_or_deliberately_left_out(variant: str) -> None:
    release = _release(variant)
    parts = "host" in VARIANTS[variant].get("database", {})
    for component in ("api", "checker"):
        env = container_env(release, release.deployment(component), EXISTING)
        left_out = (
            NOT_SET["parts" if parts else "url"]
            | NOT_SET["every"]
            | (NOT_SET["checker"] if component == "checker" else {})
        )
        missing = {name for name in FIELDS if name not in env} - set(left_out)
        assert not missing, f"{component} lacks {sorted(missing)}"
        assert not set(left_out) & set(env), f"{component} gets {set(left_out) & set(env)}"
        settings = load_settings(env)  # every value is one the services accept
        assert settings.production
        assert settings.json_logs
        assert settings.conninfo() == _expected_conninfo(VARIANTS[variant])


def _expected_conninfo(values: dict[str, Any]) -> str:
    database: dict[str, Any] = {"port": 5432, "name": "uptimatum", "user": "uptimatum"}
    database |= {"password": "s3cret"} | values.get("database", {})
    if "host" not in database:
        return DB_URL
    parts = {"DB_HOST": database["host"], "DB_PORT": str(database["port"])}
    parts |= {"DB_NAME": database["name"], "DB_USER": database["user"]}
    return load_settings(parts | {"DB_PASSWORD": database["password"]}).conninfo()


def test_admin_token_reaches_the_api_and_only_the_api() -> None:
    release = _release("database-url")
    secret = secret_data(release, RELEASE)
    assert _api_settings(release).admin_token == secret["admin-token"]
    assert _checker_settings(release).admin_token is None
    mine = _release("existing-secret")
    assert _api_settings(mine).admin_token == EXISTING[USER_SECRET]["admin-token"]
    assert _api_settings(mine).database_url == DB_URL


# One value per setting, where it lives in values.yaml and the setting it must produce.
# A setting added to shared/settings.py fails the coverage check until it is mapped.
REACHABLE: dict[str, tuple[dict[str, Any], Any]] = {
    "DATABASE_URL": (
        {"database": {"url": "postgresql://a@db.example/b"}},
        "postgresql://a@db.example/b",
    ),
    "DB_HOST": ({"database": {"host": "db.example"}}, "db.example"),
    "DB_PORT": ({"database": {"host": "db.example", "port": 6432}}, 6432),
    "DB_NAME": ({"database": {"host": "db.example", "name": "status"}}, "status"),
    "DB_USER": ({"database": {"host": "db.example", "user": "svc"}}, "svc"),
    "DB_PASSWORD": ({"database": {"host": "db.example", "password": "pw"}}, "pw"),
    "DB_POOL_MIN": ({"database": {"poolMin": 3}}, 3),
    "DB_POOL_MAX": ({"database": {"poolMax": 25}}, 25),
    "HOST": ({"extraConfig": {"HOST": "::"}}, "::"),
    "PORT": ({"api": {"port": 8080}}, 8080),
    "API_WORKERS": ({"api": {"workers": 4}}, 4),
    "CHECK_INTERVAL": ({"config": {"checkInterval": 60}}, 60),
    "CHECK_TIMEOUT": ({"config": {"checkTimeout": 5}}, 5),
    "CHECK_RETENTION_DAYS": ({"config": {"checkRetentionDays": 90}}, 90),
    "CHECK_CONCURRENCY": ({"config": {"checkConcurrency": 500}}, 500),
    "HISTORY_BUCKET_SECONDS": ({"config": {"historyBucketSeconds": 900}}, 900),
    "CLEANUP_HOUR": ({"config": {"cleanupHour": 4}}, 4),
    "PUBLIC_URL": (
        {"config": {"publicUrl": "https://status.example.com"}},
        "https://status.example.com",
    ),
    "AUDIT_RETENTION_DAYS": ({"config": {"auditRetentionDays": 90}}, 90),
    "NOTIFY_GIVE_UP_SECONDS": ({"config": {"notifyGiveUpSeconds": 3600}}, 3600),
    "METRICS_PORT": ({"checker": {"metricsPort": 9300}}, 9300),
    "APP_ENV": ({"config": {"appEnv": "development"}}, "development"),
    "ADMIN_TOKEN": ({"adminToken": "given-token"}, "given-token"),
    "LOG_LEVEL": ({"config": {"logLevel": "DEBUG"}}, "DEBUG"),
    "LOG_FORMAT": ({"config": {"logFormat": "text"}}, "text"),
    "MIGRATIONS_DIR": ({"extraConfig": {"MIGRATIONS_DIR": "/srv/m"}}, "/srv/m"),
    "DATA_DIR": ({"extraConfig": {"DATA_DIR": "/srv/data"}}, "/srv/data"),
    "CORS_ORIGINS": (
        {"config": {"corsOrigins": ["https://a.example", "https://b.example"]}},
        ["https://a.example", "https://b.example"],
    ),
}


def test_every_setting_has_a_value_in_the_chart() -> None:
    assert set(REACHABLE) == set(FIELDS)


@pytest.mark.parametrize("variable", sorted(REACHABLE))
def test_every_setting_is_reachable_from_values(variable: str) -> None:
    values, expected = REACHABLE[variable]
    release = render({"database": {"url": DB_URL}} | values if "database" not in values else values)
    component = "checker" if variable in ("METRICS_PORT", "CHECK_CONCURRENCY") else "api"
    env = container_env(release, release.deployment(component))
    assert getattr(load_settings(env), FIELDS[variable]) == expected


def test_extra_config_overrides_a_setting_for_every_workload() -> None:
    release = render({"database": {"url": DB_URL}, "extraConfig": {"LOG_LEVEL": "DEBUG"}})
    for workload in (release.deployment("api"), release.deployment("checker"), release.job):
        env = container_env(release, workload)
        assert load_settings(env).log_level == "DEBUG"


def _bound(field: str, which: str) -> int:
    struct = msgspec.inspect.type_info(Settings)
    assert isinstance(struct, msgspec.inspect.StructType)
    (info,) = [f for f in struct.fields if f.name == field]
    value = getattr(info.type, which)
    assert value is not None
    return int(value)


def test_schema_bounds_are_the_settings_bounds() -> None:
    """A value the schema accepts is one the services accept, and the other way round."""
    import json

    from .render import CHART

    schema = json.loads((CHART / "values.schema.json").read_text())
    config = schema["properties"]["config"]["properties"]
    for key, field in {
        "checkInterval": "check_interval",
        "checkTimeout": "check_timeout",
        "checkRetentionDays": "check_retention_days",
        "checkConcurrency": "check_concurrency",
        "historyBucketSeconds": "history_bucket_seconds",
        "cleanupHour": "cleanup_hour",
        "auditRetentionDays": "audit_retention_days",
        "notifyGiveUpSeconds": "notify_give_up_seconds",
    }.items():
        assert config[key]["minimum"] == _bound(field, "ge"), key
        assert config[key]["maximum"] == _bound(field, "le"), key
    database = schema["properties"]["database"]["properties"]
    assert database["poolMin"]["minimum"] == _bound("db_pool_min", "ge")
    assert database["poolMax"]["maximum"] == _bound("db_pool_max", "le")
    workers = schema["properties"]["api"]["properties"]["workers"]
    assert (workers["minimum"], workers["maximum"]) == (
        _bound("api_workers", "ge"),
        _bound("api_workers", "le"),
    )


# --- the migration hook -----------------------------------------------------------


@pytest.mark.parametrize("variant", CONFIGURED)
def test_migration_job_runs_before_install_and_upgrade(variant: str) -> None:
    release = _release(variant)
    job = release.job
    assert hooks(job) == {"pre-install", "pre-upgrade"}
    policy = job["metadata"]["annotations"]["helm.sh/hook-delete-policy"].split(",")
    assert "before-hook-creation" in policy  # a rerun replaces the last Job
    container = pod_spec(job)["containers"][0]
    assert container["args"] == ["migrate"]
    assert container["image"] == pod_spec(release.deployment("api"))["containers"][0]["image"]
    assert pod_spec(job)["restartPolicy"] in ("Never", "OnFailure")


@pytest.mark.parametrize("variant", CONFIGURED)
def test_migration_job_only_reads_what_exists_when_it_runs(variant: str) -> None:
    """On a first install the hook runs before the release's own objects exist.

    Whatever the Job names must be the user's own (existingSecret) or another hook
    of both events with a lower weight, so that it is created first.
    """
    release = _release(variant)
    job = release.job
    spec = pod_spec(job)
    named: list[tuple[str, str]] = []
    container = spec["containers"][0]
    for source in container.get("envFrom", []):
        for kind, key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
            if key in source:
                named.append((kind, source[key]["name"]))
    for entry in container.get("env", []):
        if "valueFrom" in entry:
            named.append(("Secret", entry["valueFrom"]["secretKeyRef"]["name"]))
    if "serviceAccountName" in spec:
        named.append(("ServiceAccount", spec["serviceAccountName"]))
    for kind, name in named:
        if kind == "Secret" and name == VARIANTS[variant].get("existingSecret"):
            continue
        target = release.find(kind, name)
        assert target is not None, f"the Job reads {kind} {name}, which the chart does not make"
        assert hooks(target) >= {"pre-install", "pre-upgrade"}, f"{kind} {name} is no hook"
        assert hook_weight(target) < hook_weight(job), f"{kind} {name} is created after the Job"

    # ...and with those it migrates the database the services use.
    job_settings = load_settings(container_env(release, job, EXISTING))
    assert job_settings.conninfo() == _api_settings(release).conninfo()
    assert job_settings.production == _api_settings(release).production


def test_hook_copy_of_the_credentials_is_deleted_after_the_migration() -> None:
    release = _release("database-url")
    (hook_secret,) = [s for s in release.all("Secret") if hooks(s)]
    policy = hook_secret["metadata"]["annotations"]["helm.sh/hook-delete-policy"].split(",")
    assert "hook-succeeded" in policy
    assert secret_data(release, hook_secret["metadata"]["name"]) == {"database-url": DB_URL}


# --- workloads --------------------------------------------------------------------


def _selects(selector: dict[str, str], workload: dict[str, Any]) -> bool:
    labels = workload["spec"]["template"]["metadata"]["labels"]
    return all(labels.get(k) == v for k, v in selector.items())


def _labels_match(selector: dict[str, str], obj: dict[str, Any]) -> bool:
    labels = obj["metadata"].get("labels", {})
    return all(labels.get(k) == v for k, v in selector.items())


def test_api_deployment_defaults() -> None:
    release = _release("database-url")
    api = release.deployment("api")
    assert api["spec"]["replicas"] == 3
    strategy = api["spec"]["strategy"]
    assert strategy["type"] == "RollingUpdate"
    assert strategy["rollingUpdate"]["maxUnavailable"] == 0
    (spread,) = pod_spec(api)["topologySpreadConstraints"]
    assert spread["topologyKey"] == "kubernetes.io/hostname"
    assert _selects(spread["labelSelector"]["matchLabels"], api)
    checker = release.deployment("checker")
    assert not _selects(spread["labelSelector"]["matchLabels"], checker)
    assert checker["spec"]["replicas"] == 2


def test_checker_has_time_to_shut_down() -> None:
    """SIGTERM: at most SHUTDOWN_GRACE for probes, then a flush and a hand-back.

    Each of the two statements may first have to reconnect (CONNECT_TIMEOUT);
    the rest is room for a slow database.
    """
    checker = _release("database-url").deployment("checker")
    needed = SHUTDOWN_GRACE + 2 * CONNECT_TIMEOUT + 10
    assert pod_spec(checker)["terminationGracePeriodSeconds"] >= needed


@pytest.mark.parametrize("variant", CONFIGURED)
def test_workloads_are_locked_down(variant: str) -> None:
    release = _release(variant)
    for workload in [*release.all("Deployment"), *release.all("Job")]:
        name = workload["metadata"]["name"]
        spec = pod_spec(workload)
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        assert spec["automountServiceAccountToken"] is False, name
        assert spec["enableServiceLinks"] is False, name  # no FOO_PORT=tcp://… variables
        tmp = {v["name"]: v for v in spec["volumes"]}
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["capabilities"]["drop"] == ["ALL"], name
            assert context["runAsNonRoot"] is True, name
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][kind]), name
            (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
            assert "emptyDir" in tmp[mount["name"]], name


def test_services_and_budgets_select_their_own_pods() -> None:
    release = _release("replicas-1")
    api, checker = release.deployment("api"), release.deployment("checker")
    assert _selects(release.get("Service", RELEASE)["spec"]["selector"], api)
    assert not _selects(release.get("Service", RELEASE)["spec"]["selector"], checker)
    for workload, component in ((api, "api"), (checker, "checker")):
        budget = release.get("PodDisruptionBudget", f"{RELEASE}-{component}")
        assert _selects(budget["spec"]["selector"]["matchLabels"], workload)
        assert (
            workload["spec"]["selector"]["matchLabels"] == budget["spec"]["selector"]["matchLabels"]
        )
        # With one replica a budget must still let a node drain.
        assert (
            budget["spec"].get("maxUnavailable", 0) >= 1
            or budget["spec"]["minAvailable"] < workload["spec"]["replicas"]
        )


def test_autoscaler_owns_the_api_replica_count() -> None:
    release = _release("hpa")
    api = release.deployment("api")
    (hpa,) = release.all("HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": api["metadata"]["name"],
    }
    assert "replicas" not in api["spec"], "the HPA and helm upgrade would fight over it"
    assert {m["resource"]["name"] for m in hpa["spec"]["metrics"]} == {"cpu", "memory"}


def test_ingress_routes_to_the_api_service_with_tls() -> None:
    release = _release("ingress-tls")
    (ingress,) = release.all("Ingress")
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"] == [{"hosts": ["status.example.org"], "secretName": "status-tls"}]
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == "status.example.org"
    backend = rule["http"]["paths"][0]["backend"]["service"]
    service = release.get("Service", backend["name"])
    assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}
    assert _selects(service["spec"]["selector"], release.deployment("api"))


# --- rolling on change --------------------------------------------------------------


def _checksums(release: Release) -> list[tuple[str, str]]:
    return [
        (
            d["spec"]["template"]["metadata"]["annotations"]["checksum/config"],
            d["spec"]["template"]["metadata"]["annotations"]["checksum/secret"],
        )
        for d in release.all("Deployment")
    ]


def test_changed_config_or_secret_rolls_the_pods() -> None:
    base = {"database": {"url": DB_URL}}
    before = _checksums(render(base))
    config = _checksums(render(base | {"config": {"logLevel": "DEBUG"}}))
    secret = _checksums(render({"database": {"url": DB_URL + "?sslmode=require"}}))
    for (config0, secret0), (config1, secret1), (_, secret2) in zip(
        before, config, secret, strict=True
    ):
        assert config1 != config0
        assert secret1 == secret0
        assert secret2 != secret0


def test_a_generated_token_does_not_roll_the_pods() -> None:
    """Two renders generate two tokens (lookup finds nothing offline); pods stay put."""
    first = render({"database": {"url": DB_URL}}, fresh=True)
    second = render({"database": {"url": DB_URL}}, fresh=True)
    assert secret_data(first, RELEASE)["admin-token"] != secret_data(second, RELEASE)["admin-token"]
    assert _checksums(first) == _checksums(second)


def test_generated_admin_token_is_strong_and_kept_on_uninstall() -> None:
    release = _release("database-url")
    secret = release.get("Secret", RELEASE)
    assert re.fullmatch(r"[A-Za-z0-9]{32}", secret_data(release, RELEASE)["admin-token"])
    assert secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert not hooks(secret), "the services' Secret is a release object, not a hook"
    given = render({"database": {"url": DB_URL}, "adminToken": "chosen"})
    assert secret_data(given, RELEASE)["admin-token"] == "chosen"


def test_the_oldest_validated_version_is_the_oldest_supported() -> None:
    from .render import CHART

    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["kubeVersion"] == f">={KUBE_VERSIONS[0]}-0"


def test_api_workers_come_from_values() -> None:
    release = render({"database": {"url": DB_URL}, "api": {"workers": 4}})
    assert container_env(release, release.deployment("api"))["API_WORKERS"] == "4"
