"""The Dockerfile, read (no Docker engine runs here): what the final image holds and runs."""

from __future__ import annotations

import fnmatch
import json
import re
import tomllib
from dataclasses import dataclass, field

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from shared.settings import Settings

from .pins import runtime_closure
from .render import CHART, ROOT

BUILD_TOOLS = re.compile(r"\b(gcc|g\+\+|clang|make|build-essential|python3-dev|libpq-dev|cargo)\b")


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)
    heredocs: dict[str, str] = field(default_factory=dict)

    def all(self, instruction: str) -> list[str]:
        return [args for op, args in self.instructions if op == instruction]


def parse(text: str) -> list[Stage]:
    """Stages of a Dockerfile: instructions with continuations joined, heredocs kept."""
    stages: list[Stage] = []
    lines = iter(text.splitlines())
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        while line.endswith("\\"):
            line = line[:-1] + " " + next(lines).strip()
        op, _, args = line.partition(" ")
        op = op.upper()
        if op == "FROM":
            parts = args.split()
            name = parts[2] if len(parts) > 2 and parts[1].upper() == "AS" else None
            stages.append(Stage(parts[0], name))
            continue
        if op == "ARG" and not stages:
            continue
        stage = stages[-1]
        heredoc = re.match(r"<<-?[\"']?(\w+)[\"']?\s+(\S+)", args)
        if heredoc:
            body = []
            for body_line in lines:
                if body_line.strip() == heredoc.group(1):
                    break
                body.append(body_line)
            stage.heredocs[heredoc.group(2)] = "\n".join(body)
        stage.instructions.append((op, args))
    return stages


STAGES = parse((ROOT / "Dockerfile").read_text())
FINAL = STAGES[-1]


def _env(stage: Stage) -> dict[str, str]:
    env = {}
    for args in stage.all("ENV"):
        for name, value in re.findall(r"(\w+)=(\S+)", args):
            env[name] = value
    return env


def test_multi_stage_on_a_slim_python() -> None:
    assert len(STAGES) >= 2
    assert FINAL.name != STAGES[0].name
    args = dict(re.findall(r"^ARG (\w+)=(\S+)", (ROOT / "Dockerfile").read_text(), re.M))
    for stage in STAGES:
        base = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], stage.base)
        assert re.fullmatch(r"python:3\.1[1-9][\w.-]*-slim[\w.-]*", base), base


def test_final_stage_runs_uptimatum_as_a_non_root_user() -> None:
    (user,) = FINAL.all("USER")
    uid = user.split(":")[0]
    assert uid.isdigit(), "a numeric UID, so that runAsNonRoot can verify it"
    assert int(uid) != 0
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert values["podSecurityContext"]["runAsUser"] == int(uid)  # the chart runs as it
    assert values["securityContext"]["runAsUser"] == int(uid)
    (entrypoint,) = FINAL.all("ENTRYPOINT")
    assert json.loads(entrypoint) == ["uptimatum"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert "uptimatum" in scripts
    (cmd,) = FINAL.all("CMD")
    assert json.loads(cmd)[0] in ("api", "checker", "migrate")


def test_final_stage_has_no_build_tools_or_caches() -> None:
    for op, args in FINAL.instructions:
        if op == "RUN":
            assert not BUILD_TOOLS.search(args), args
            assert "install" not in re.sub(r"pip uninstall", "", args), f"installs at run: {args}"
        if op == "COPY" and "--from=" in args:
            assert args.split()[-2:] == ["/opt/venv", "/opt/venv"], "only the venv is copied"
    env = _env(FINAL)
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"  # read-only root filesystem
    build_env = _env(STAGES[0])
    assert build_env.get("PIP_NO_CACHE_DIR") == "1"


def test_migrations_are_in_the_image_where_migrate_looks() -> None:
    copies = [args.split() for args in FINAL.all("COPY") if "--from=" not in args]
    assert ["migrations/", "/app/migrations/"] in copies
    assert _env(FINAL)["MIGRATIONS_DIR"] == "/app/migrations"


def test_exposes_the_default_ports() -> None:
    (expose,) = FINAL.all("EXPOSE")
    defaults = Settings()
    assert {defaults.port, defaults.metrics_port} <= {int(p) for p in expose.split()}


def test_every_runtime_dependency_is_pinned() -> None:
    constraints = STAGES[0].heredocs["/src/constraints.txt"]
    pins = {}
    for line in constraints.splitlines():
        name, _, version = line.partition("==")
        assert version, f"not an exact pin: {line}"
        pins[canonicalize_name(name)] = version
    unpinned = set(runtime_closure()) - set(pins)
    assert not unpinned, f"pin them (python -m tests.chart.pins): {sorted(unpinned)}"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for raw in project["dependencies"]:
        req = Requirement(raw)
        if req.marker and not req.marker.evaluate():
            continue
        assert req.specifier.contains(pins[canonicalize_name(req.name)]), raw
    (install,) = [a for a in STAGES[0].all("RUN") if " install " in a]
    assert "--constraint /src/constraints.txt" in install


def _ignored(path: str, patterns: list[str]) -> bool:
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        bare = pattern.lstrip("!").rstrip("/")
        if fnmatch.fnmatch(path, bare) or path.startswith(bare + "/"):
            ignored = not negate
    return ignored


def test_build_context_holds_the_sources_and_nothing_else() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for stage in STAGES:
        for args in stage.all("COPY"):
            if "--from=" in args or args.startswith("<<"):
                continue
            for source in args.split()[:-1]:
                assert not _ignored(source.rstrip("/"), patterns), source
    for private in (".venv", ".git", ".data", "tests", "bench-results", "charts"):
        assert _ignored(private, patterns), private
