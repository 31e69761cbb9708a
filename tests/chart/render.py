"""Render the chart with Helm's own engine (helm-python-sdk, offline) and read the result.

`render(values)` returns a `Release`: the manifests as dicts, the NOTES text, and
lookups that resolve what a pod would see (its environment, the objects it names).
"""

from __future__ import annotations

import base64
import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import helm_python
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "uptimatum"
RELEASE = "uptimatum"
NAMESPACE = "status"
HOOK = "helm.sh/hook"


@dataclass
class Release:
    manifests: list[dict[str, Any]]
    notes: str
    values: dict[str, Any] = field(default_factory=dict)

    def all(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.manifests if m["kind"] == kind]

    def get(self, kind: str, name: str) -> dict[str, Any]:
        found = [m for m in self.all(kind) if m["metadata"]["name"] == name]
        assert len(found) == 1, f"expected one {kind} {name}, got {len(found)}"
        return found[0]

    def find(self, kind: str, name: str) -> dict[str, Any] | None:
        found = [m for m in self.all(kind) if m["metadata"]["name"] == name]
        return found[0] if found else None

    def deployment(self, component: str) -> dict[str, Any]:
        return self.get("Deployment", f"{RELEASE}-{component}")

    @property
    def job(self) -> dict[str, Any]:
        return self.get("Job", f"{RELEASE}-migrate")


def hooks(manifest: dict[str, Any]) -> set[str]:
    annotations = manifest["metadata"].get("annotations") or {}
    return {h.strip() for h in annotations.get(HOOK, "").split(",") if h.strip()}


def hook_weight(manifest: dict[str, Any]) -> int:
    annotations = manifest["metadata"].get("annotations") or {}
    return int(annotations.get("helm.sh/hook-weight", "0"))


def render(
    values: dict[str, Any] | None = None, chart: Path = CHART, fresh: bool = False
) -> Release:
    """Render like `helm install uptimatum <chart> -n status` (lookups find nothing).

    Renders are cached by values; `fresh` renders anew (a new generated token).
    """
    render_ = _render.__wrapped__ if fresh else _render
    manifests, notes = render_(json.dumps(values or {}, sort_keys=True), str(chart))
    return Release(json.loads(manifests), notes, values or {})


@functools.lru_cache(maxsize=64)
def _render(values_json: str, chart: str) -> tuple[str, str]:
    with helm_python.Chart.load(chart) as loaded:
        rendered = loaded.render(json.loads(values_json), name=RELEASE, namespace=NAMESPACE)
    notes = ""
    manifests: list[dict[str, Any]] = []
    for path, text in sorted(rendered.items()):
        if path.endswith("NOTES.txt"):
            notes = text
            continue
        for doc in yaml.safe_load_all(text):
            if doc:
                doc.setdefault("metadata", {})
                manifests.append(doc | {"__template__": path})
    return json.dumps(manifests), notes


def strip(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest as Kubernetes receives it (without our bookkeeping key)."""
    return {k: v for k, v in manifest.items() if k != "__template__"}


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = workload["spec"]["template"]["spec"]
    return spec


def container_env(
    release: Release,
    workload: dict[str, Any],
    existing: dict[str, dict[str, str]] | None = None,
) -> dict[str, str]:
    """The environment the workload's first container starts with.

    ConfigMaps and Secrets must be rendered by the chart (or be in `existing`,
    standing for Secrets the user created); a reference to anything else fails.
    `env` entries win over `envFrom`, as in Kubernetes.
    """
    existing = existing or {}
    container = pod_spec(workload)["containers"][0]
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        ref = source["configMapRef"]["name"]
        env.update(release.get("ConfigMap", ref)["data"])
    for entry in container.get("env", []):
        if "value" in entry:
            env[entry["name"]] = entry["value"]
            continue
        ref = entry["valueFrom"]["secretKeyRef"]
        env[entry["name"]] = secret_data(release, ref["name"], existing)[ref["key"]]
    return env


def secret_data(
    release: Release, name: str, existing: dict[str, dict[str, str]] | None = None
) -> dict[str, str]:
    if existing and name in existing:
        return existing[name]
    secret = release.get("Secret", name)
    return {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}


def container_port(workload: dict[str, Any], port: int | str) -> int:
    """A probe's or Service's port (a number or a container port name) as a number."""
    if isinstance(port, int):
        return port
    ports = pod_spec(workload)["containers"][0]["ports"]
    numbers = [p["containerPort"] for p in ports if p["name"] == port]
    assert numbers, f"no container port named {port!r}"
    return int(numbers[0])
