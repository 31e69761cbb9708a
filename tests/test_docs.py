"""The documentation stays inside the repository and true to the code it quotes."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from shared.settings import SettingsError, load_settings

ROOT = Path(__file__).resolve().parent.parent
PART_READMES = [
    "services/README.md",
    "services/checker/README.md",
    "services/api/README.md",
    "charts/uptimatum/README.md",
    "tests/benchmarks/README.md",
]
_FENCE = re.compile(r"^```.*?^```", re.M | re.S)
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_INLINE_LINK = re.compile(r"\]\(([^)\s]+)\)")
_REFERENCE_LINK = re.compile(r"^\s*\[[^\]]+\]:\s*(\S+)", re.M)
_SETTINGS_ERROR = re.compile(r"`([A-Z_]+)='([^'`]*)' is not valid: ([^`]+)`")


def _markdown_files() -> list[Path]:
    """Every Markdown file git tracks or would track (new files included)."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.md"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        names = [n for n in out.splitlines() if (ROOT / n).is_file()]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout
        names = [
            str(p.relative_to(ROOT))
            for p in ROOT.rglob("*.md")
            if not any(part.startswith(".") for part in p.relative_to(ROOT).parts)
        ]
    return [ROOT / n for n in sorted(names)]


def _links(text: str) -> list[str]:
    prose = _CODE_SPAN.sub("", _FENCE.sub("", text))
    return _INLINE_LINK.findall(prose) + _REFERENCE_LINK.findall(prose)


def _anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#{1,6}\s+(.+?)\s*#*$", _FENCE.sub("", path.read_text()), re.M)
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}


def _broken_links(path: Path, text: str | None = None) -> list[str]:
    broken = []
    for link in _links(path.read_text() if text is None else text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", link):  # https:, mailto: …: not a repository path
            continue
        target_part, _, anchor = link.partition("#")
        target = (path.parent / target_part).resolve() if target_part else path
        if not target.is_relative_to(ROOT):
            broken.append(f"{link} (outside the repository)")
        elif not target.exists():
            broken.append(f"{link} (no such file)")
        elif anchor and target.suffix == ".md" and anchor not in _anchors(target):
            broken.append(f"{link} (no such heading)")
    return broken


def test_the_part_readmes_exist_and_the_top_readme_links_them() -> None:
    top = (ROOT / "README.md").read_text()
    for name in PART_READMES:
        readme = ROOT / name
        assert readme.is_file(), f"{name} is missing"
        assert readme.read_text().startswith("# "), f"{name} has no title"
        assert f"]({name})" in top, f"README.md does not link {name}"


@pytest.mark.parametrize(
    "path", _markdown_files(), ids=lambda p: str(p.relative_to(ROOT)) if isinstance(p, Path) else p
)
def test_every_relative_link_resolves_inside_the_repository(path: Path) -> None:
    assert not _broken_links(path), f"{path.relative_to(ROOT)}: {_broken_links(path)}"


def test_the_link_check_catches_what_it_must() -> None:
    """The checker of the test above: a link out, a missing file, a missing heading."""
    sample = "\n".join(
        [
            "[out](../shared/DESIGN.md) [gone](services/nope.md)",
            "[heading](README.md#no-such-heading) [ok](README.md#configuration)",
            "[here](#quick-start)",
            "[ref]: services/missing.md",
            "[web](https://example.org/x) `[code](../outside.md)`",
            "```\n[fenced](../outside.md)\n```",
        ]
    )
    assert _broken_links(ROOT / "README.md", sample) == [
        "../shared/DESIGN.md (outside the repository)",
        "services/nope.md (no such file)",
        "README.md#no-such-heading (no such heading)",
        "services/missing.md (no such file)",
    ]


def test_documented_settings_errors_are_the_real_messages() -> None:
    examples = [
        (path, match)
        for path in _markdown_files()
        for match in _SETTINGS_ERROR.finditer(path.read_text())
    ]
    assert examples, "no settings error example found in the docs"
    for path, match in examples:
        var, value, _message = match.groups()
        with pytest.raises(SettingsError) as error:
            load_settings({var: value})
        documented = match.group(0).strip("`")
        assert str(error.value) == documented, f"{path.relative_to(ROOT)} quotes {documented!r}"
