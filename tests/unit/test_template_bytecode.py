"""Templates compiled to Jinja2 bytecode at build (content/render.py, scripts/
compile_templates.py): loaded instead of compiled, the same output, and never stale or
broken: a template changed since the build, bytecode of another Python, Jinja2 or
environment, or a damaged file is compiled from its source as without the cache. The
bytecode is read from the shared layer (or the directory TEMPLATE_BYTECODE_DIR names), never
from the content directory."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import jinja2
import pytest

from talentops.content import render
from talentops.content.render import (
    BYTECODE_ENV,
    BYTECODE_PACKAGE_DIR,
    bytecode_dir,
    compile_bytecode,
    environment,
)

ROOT = Path(__file__).resolve().parents[2]
CONTEXT = {"candidate": {"first_name": "Ada <b>"}, "event": {"name": "Data Night"}}
# A template of the test's own beside the shipped ones (which need a whole message's context).
NAME = "email/probe.html"
PROBE = (
    "Hello {{ candidate.first_name | upper }}{% if event %}, see you at {{ event.name }}{% endif %}"
)
SHIPPED = "email/event_attended_followup/default.html"


@pytest.fixture
def target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The compiled templates' directory, as TEMPLATE_BYTECODE_DIR names it."""
    path = tmp_path / "bytecode"
    monkeypatch.setenv(BYTECODE_ENV, str(path))
    return path


@pytest.fixture
def content(tmp_path: Path) -> Path:
    root = tmp_path / "templates"
    shutil.copytree(
        ROOT / "templates", root, ignore=shutil.ignore_patterns("*.compiled.json", ".jinja-*")
    )
    (root / NAME).write_text(PROBE, encoding="utf-8")
    return root


def _fresh(root: Path) -> jinja2.Environment:
    """A new environment on ``root`` (not the process's cached one), whose compiler is
    counted."""
    env = environment.__wrapped__(str(root))
    env.compiled = []  # type: ignore[attr-defined]
    compile_ = env.compile

    def counting(source, name=None, filename=None, raw=False, defer_init=False):
        env.compiled.append(name)  # type: ignore[attr-defined]
        return compile_(source, name, filename, raw, defer_init)

    env.compile = counting  # type: ignore[method-assign]
    return env


def _render(env: jinja2.Environment) -> str:
    return env.get_template(NAME).render(CONTEXT)


def test_compiled_templates_are_loaded_not_compiled_and_render_the_same(
    content: Path, target: Path
):
    without = _render(_fresh(content))
    count = compile_bytecode(str(content), target)
    files = [p for p in content.rglob("*") if p.suffix in (".html", ".txt")]
    assert count == len(files) > 20
    assert len(list(target.iterdir())) == count

    assert without == "Hello ADA &lt;B&gt;, see you at Data Night"  # autoescaped, as before
    env = _fresh(content)
    assert _render(env) == without
    assert env.get_template(SHIPPED).filename == SHIPPED  # no path of the build machine
    assert env.compiled == []  # type: ignore[attr-defined]


def test_a_template_changed_after_the_build_is_compiled_from_its_source(
    content: Path, target: Path
):
    compile_bytecode(str(content), target)
    path = content / NAME
    path.write_text(path.read_text(encoding="utf-8") + "\nchanged after the build\n")
    env = _fresh(content)
    assert "changed after the build" in _render(env)
    assert env.compiled == [NAME]  # type: ignore[attr-defined]


@pytest.mark.parametrize("damage", ["truncated", "another format or Python", "empty"])
def test_bytecode_that_does_not_fit_is_ignored(content: Path, target: Path, damage: str):
    expected = _render(_fresh(content))
    compile_bytecode(str(content), target)
    env = _fresh(content)
    bucket = env.bytecode_cache.get_bucket(env, NAME, None, (content / NAME).read_text())
    path = target / f"{bucket.key}.cache"
    data = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "another format or Python":
        path.write_bytes(data[:3] + bytes([data[3] ^ 0xFF]) + data[4:])
    else:
        path.write_bytes(b"")
    env = _fresh(content)
    assert _render(env) == expected
    assert env.compiled == [NAME]  # type: ignore[attr-defined]


def test_bytecode_of_another_environment_or_jinja2_is_not_read(
    content: Path, target: Path, monkeypatch: pytest.MonkeyPatch
):
    """Jinja2 checks its format, the Python version and the source: not the environment's
    options (autoescape above all) nor its own version. The fingerprint of both is in the
    key, so bytecode made for another one is never found."""
    expected = _render(_fresh(content))
    compile_bytecode(str(content), target)
    monkeypatch.setattr(render, "_fingerprint", lambda: "another-environment")
    env = _fresh(content)
    assert env.bytecode_cache is not None
    assert _render(env) == expected
    assert env.compiled == [NAME]  # type: ignore[attr-defined]


def test_bytecode_is_never_read_from_the_content_directory(content: Path, monkeypatch):
    """The content layer is marketing ops' files; code found there would run outside the
    sandbox. Without TEMPLATE_BYTECODE_DIR the bytecode is the shared layer's own."""
    monkeypatch.delenv(BYTECODE_ENV, raising=False)
    assert bytecode_dir() == BYTECODE_PACKAGE_DIR
    assert BYTECODE_PACKAGE_DIR.parent == Path(render.__file__).parent
    planted = content / ".jinja-bytecode"
    compile_bytecode(str(content), planted)
    env = _fresh(content)
    assert env.bytecode_cache is None or env.bytecode_cache.directory != planted
    _render(env)
    assert NAME in env.compiled  # type: ignore[attr-defined]


def test_without_the_build_output_templates_compile_when_first_used(content: Path, target: Path):
    assert not target.exists()
    env = _fresh(content)
    assert env.bytecode_cache is None
    _render(env)
    assert NAME in env.compiled  # type: ignore[attr-defined]


def test_the_build_script_compiles_and_refuses_a_broken_template(content: Path, target: Path):
    script = ROOT / "scripts" / "compile_templates.py"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(script), *args], capture_output=True, text=True, check=False
        )

    assert run(str(content)).returncode == 2  # no target: the usage
    done = run(str(content), str(target))
    assert done.returncode == 0, done.stderr
    assert f"for Python {sys.version_info[0]}.{sys.version_info[1]}" in done.stdout
    built = sorted(p.name for p in target.iterdir())
    assert built

    (content / "email" / "broken.html").write_text("line one\n{% if %}\n")
    broken = run(str(content), str(target))
    assert broken.returncode == 1
    assert "email/broken.html line 2" in broken.stderr
    assert sorted(p.name for p in target.iterdir()) == built  # the previous build stays whole
