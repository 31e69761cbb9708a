"""The runtime dependency closure of the installed `uptimatum`, as exact pins.

`python -m tests.chart.pins` prints the list the Dockerfile's constraints hold;
tests/chart/test_image.py checks the Dockerfile pins every name in it.
"""

from __future__ import annotations

import importlib.metadata as md

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name


def runtime_closure(dist: str = "uptimatum") -> dict[str, str]:
    """Every distribution `dist` needs at run time (no extras), with its installed version."""
    env = {key: str(value) for key, value in default_environment().items()}
    found: dict[tuple[str, tuple[str, ...]], str] = {}
    todo: list[tuple[str, tuple[str, ...]]] = [(dist, ())]
    while todo:
        name, extras = todo.pop()
        key = (canonicalize_name(name), extras)
        if key in found:
            continue
        found[key] = md.version(name)
        for raw in md.requires(name) or []:
            req = Requirement(raw)
            wanted = extras or ("",)
            if req.marker and not any(req.marker.evaluate({**env, "extra": e}) for e in wanted):
                continue
            todo.append((req.name, tuple(sorted(req.extras))))
    return {n: v for (n, _), v in found.items() if n != canonicalize_name(dist)}


if __name__ == "__main__":
    for name, version in sorted(runtime_closure().items()):
        print(f"{name}=={version}")
