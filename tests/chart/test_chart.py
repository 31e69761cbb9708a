"""The chart as a package: lint, metadata, values schema and docs, NOTES, token keeping."""

from __future__ import annotations

import re
import shutil
import tomllib
from pathlib import Path
from typing import Any

import helm_python
import pytest
import yaml

from services.api.routes.health import REFERENCE_PATH

from .render import CHART, NAMESPACE, RELEASE, ROOT, render, secret_data

DB_URL = "postgresql://uptimatum:s3cret@pg.example.internal:5432/uptimatum"


def test_helm_lint_reports_no_errors() -> None:
    for values in ({}, {"database": {"url": DB_URL}, "api": {"ingress": {"enabled": True}}}):
        report = helm_python.lint(CHART, values, strict=True, kube_version="v1.33.0")
        assert report["errors"] == []
        assert [m for m in report["messages"] if m["severity"] >= 2] == []


def test_app_version_is_the_package_version() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2"
    assert chart["appVersion"] == pyproject["project"]["version"]
    image = render({})  # the default image tag is the appVersion
    (api,) = [d for d in image.all("Deployment") if d["metadata"]["name"].endswith("-api")]
    assert api["spec"]["template"]["spec"]["containers"][0]["image"].endswith(
        ":" + pyproject["project"]["version"]
    )


BAD_VALUES = {
    "unknown top-level key": {"replicas": 3},
    "unknown nested key (typo)": {"api": {"replicas": 3}},
    "wrong type": {"api": {"replicaCount": "three"}},
    "wrong type for a switch": {"api": {"ingress": {"enabled": "yes"}}},
    "setting out of the range the services accept": {"config": {"checkTimeout": 61}},
    "unknown log level": {"config": {"logLevel": "LOUD"}},
    "existingSecret as an object": {"existingSecret": {"name": "creds"}},
    "port out of range": {"api": {"port": 70000}},
}


@pytest.mark.parametrize("values", BAD_VALUES.values(), ids=BAD_VALUES.keys())
def test_schema_rejects_bad_values(values: dict[str, Any]) -> None:
    with helm_python.Chart.load(CHART) as chart, pytest.raises(helm_python.HelmValuesError):
        chart.render(values, name=RELEASE, namespace=NAMESPACE)


INCONSISTENT_VALUES = {
    "autoscaler min above max": {
        "api": {"autoscaling": {"enabled": True, "minReplicas": 5, "maxReplicas": 2}}
    },
    "autoscaler without a target": {
        "api": {"autoscaling": {"enabled": True, "targetCPUUtilizationPercentage": 0}}
    },
}


@pytest.mark.parametrize("values", INCONSISTENT_VALUES.values(), ids=INCONSISTENT_VALUES.keys())
def test_inconsistent_values_fail_the_render(values: dict[str, Any]) -> None:
    with helm_python.Chart.load(CHART) as chart, pytest.raises(helm_python.HelmRenderError):
        chart.render(values, name=RELEASE, namespace=NAMESPACE)


def test_schema_accepts_the_documented_values() -> None:
    with helm_python.Chart.load(CHART) as chart:
        chart.validate_schema(chart.values)
        chart.validate_schema({"api": {"pdb": {"maxUnavailable": "50%"}}})
        chart.validate_schema({"extraConfig": {"PGSSLMODE": "require"}})


def _leaves(values: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted paths of the values a user sets (Kubernetes objects count as one value)."""
    out = []
    for key, value in values.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value and key not in _OPAQUE:
            out += _leaves(value, path + ".")
        else:
            out.append(path)
    return out


# Values passed on as a whole (Kubernetes objects, the ingress host list): one comment each.
_OPAQUE = {"resources", "podSecurityContext", "securityContext", "hosts"}


def test_every_value_has_a_comment() -> None:
    lines = (CHART / "values.yaml").read_text().splitlines()
    uncommented = []
    stack: list[tuple[int, str]] = []
    for number, line in enumerate(lines):
        match = re.match(r"^( *)([A-Za-z][\w.-]*):", line)
        if not match:
            continue
        indent, key = len(match.group(1)), match.group(2)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = ".".join([k for _, k in stack] + [key])
        stack.append((indent, key))
        if any(k in _OPAQUE for _, k in stack[:-1]):
            continue  # a field inside an object documented as a whole
        is_leaf = not line.rstrip().endswith(":")
        previous = lines[number - 1].strip() if number else ""
        if (is_leaf or key in _OPAQUE) and not previous.startswith("#"):
            uncommented.append(path)
    assert not uncommented, f"values without a comment: {uncommented}"


def test_readme_values_table_lists_every_value() -> None:
    readme = (CHART / "README.md").read_text()
    section = readme.split("\n## Values\n", 1)[1].split("\n## ", 1)[0]
    with helm_python.Chart.load(CHART) as chart:
        defaults = chart.values
    missing = [p for p in _leaves(defaults) if f"`{p}`" not in section]
    assert not missing, f"the chart README's values table lacks {missing}"


def test_notes_tell_how_to_reach_the_api_docs_badge_and_token() -> None:
    notes = render({"database": {"url": DB_URL}}).notes
    assert f"svc/{RELEASE} " in notes  # port-forward to the API Service
    assert f"$UPTIMATUM_URL{REFERENCE_PATH}" in notes
    assert "$UPTIMATUM_URL/badge/<slug>" in notes
    assert f"kubectl get secret {RELEASE} -n {NAMESPACE}" in notes
    assert "{.data.admin-token}" in notes
    assert "WARNING" not in notes

    ingress = {
        "enabled": True,
        "hosts": [{"host": "status.example.org", "paths": [{"path": "/", "pathType": "Prefix"}]}],
        "tls": [{"secretName": "t", "hosts": ["status.example.org"]}],
    }
    notes = render({"database": {"url": DB_URL}, "api": {"ingress": ingress}}).notes
    assert "UPTIMATUM_URL=https://status.example.org" in notes

    notes = render({"existingSecret": "creds", "existingSecretKeys": {"adminToken": "tok"}}).notes
    assert "kubectl get secret creds" in notes
    assert "{.data.tok}" in notes

    assert "WARNING: no database is configured" in render({}).notes


def test_admin_token_survives_upgrades(tmp_path: Path) -> None:
    """What `lookup` finds on an upgrade is kept; offline it finds nothing.

    The Secret template passes the lookup result to the helper, so a copy of the
    chart that feeds the helper a found Secret shows what an upgrade renders.
    """
    chart = tmp_path / "uptimatum"
    shutil.copytree(CHART, chart)
    (chart / "templates" / "zz-probe.yaml").write_text(
        '{{- $found := dict "data" (dict "admin-token" (b64enc "kept-token")) }}\n'
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: probe\ndata:\n"
        '  upgrade: {{ include "uptimatum.adminToken" (dict "root" $ "existing" $found) }}\n'
        '  install: {{ include "uptimatum.adminToken" (dict "root" $ "existing" dict) }}\n'
    )
    secret_template = (CHART / "templates" / "secret.yaml").read_text()
    assert 'lookup "v1" "Secret" .Release.Namespace $name' in secret_template
    assert '"existing" $existing' in secret_template

    release = render({"database": {"url": DB_URL}}, chart=chart)
    probe = release.get("ConfigMap", "probe")["data"]
    assert probe["upgrade"] == "kept-token"
    assert re.fullmatch(r"[A-Za-z0-9]{32}", probe["install"])
    given = render({"database": {"url": DB_URL}, "adminToken": "given"}, chart=chart)
    assert given.get("ConfigMap", "probe")["data"]["upgrade"] == "given"  # values win
    assert secret_data(release, RELEASE)["admin-token"] != "kept-token"  # offline: new


def test_notes_only_name_routes_the_api_serves() -> None:
    from services.api.app import create_app

    routes = [
        re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", route.path) + "$")
        for route in create_app().routes
    ]
    notes = render({"database": {"url": DB_URL}}).notes
    urls = re.findall(r"\$UPTIMATUM_URL(/[^\s)]*)", notes)
    assert len(urls) >= 4  # pages, docs, OpenAPI, badge
    for url in urls:
        assert any(r.match(url.replace("<slug>", "demo")) for r in routes), url
