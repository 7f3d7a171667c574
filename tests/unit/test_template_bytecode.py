"""Templates compiled to Jinja2 bytecode at build (content/render.py, scripts/
compile_templates.py): loaded instead of compiled, the same output, and never stale or
broken: a template changed since the build, bytecode of another Python or a damaged file is
compiled from its source as without the cache."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import jinja2
import pytest

from talentops.content.render import BYTECODE_DIR, compile_bytecode, environment

ROOT = Path(__file__).resolve().parents[2]
CONTEXT = {"candidate": {"first_name": "Ada <b>"}, "event": {"name": "Data Night"}}
# A template of the test's own beside the shipped ones (which need a whole message's context).
NAME = "email/probe.html"
PROBE = (
    "Hello {{ candidate.first_name | upper }}{% if event %}, see you at {{ event.name }}{% endif %}"
)
SHIPPED = "email/event_attended_followup/default.html"


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


def test_compiled_templates_are_loaded_not_compiled_and_render_the_same(content: Path):
    without = _render(_fresh(content))
    count = compile_bytecode(str(content))
    files = [p for p in content.rglob("*") if p.suffix in (".html", ".txt")]
    assert count == len(files) > 20
    assert len(list((content / BYTECODE_DIR).iterdir())) == count

    assert without == "Hello ADA &lt;B&gt;, see you at Data Night"  # autoescaped, as before
    env = _fresh(content)
    assert _render(env) == without
    assert env.get_template(SHIPPED).filename == SHIPPED  # no path of the build machine
    assert env.compiled == []  # type: ignore[attr-defined]


def test_a_template_changed_after_the_build_is_compiled_from_its_source(content: Path):
    compile_bytecode(str(content))
    path = content / NAME
    path.write_text(path.read_text(encoding="utf-8") + "\nchanged after the build\n")
    env = _fresh(content)
    assert "changed after the build" in _render(env)
    assert env.compiled == [NAME]  # type: ignore[attr-defined]


@pytest.mark.parametrize("damage", ["truncated", "another format or Python", "empty"])
def test_bytecode_that_does_not_fit_is_ignored(content: Path, damage: str):
    expected = _render(_fresh(content))
    compile_bytecode(str(content))
    env = _fresh(content)
    bucket = env.bytecode_cache.get_bucket(env, NAME, None, (content / NAME).read_text())
    path = content / BYTECODE_DIR / f"{bucket.key}.cache"
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


def test_without_the_build_output_templates_compile_when_first_used(content: Path):
    env = _fresh(content)
    assert env.bytecode_cache is None
    _render(env)
    assert NAME in env.compiled  # type: ignore[attr-defined]


def test_the_build_script_compiles_and_refuses_a_broken_template(content: Path):
    script = ROOT / "scripts" / "compile_templates.py"
    done = subprocess.run(
        [sys.executable, str(script), str(content)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert f"for Python {sys.version_info[0]}.{sys.version_info[1]}" in done.stdout
    assert (content / BYTECODE_DIR).is_dir()

    (content / "email" / "broken.html").write_text("line one\n{% if %}\n")
    broken = subprocess.run(
        [sys.executable, str(script), str(content)], capture_output=True, text=True, check=False
    )
    assert broken.returncode == 1
    assert "email/broken.html line 2" in broken.stderr
    assert (content / BYTECODE_DIR).is_dir()  # the previous build's output stays whole
