"""Rendering with Jinja2, (docs/decisions.md): sandboxed, StrictUndefined, autoescape for HTML,
single-line subjects. Candidate fields are data, never template source, so template syntax in
them stays inert; HTML in them is escaped in the HTML part."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from jinja2.bccache import Bucket
from jinja2.environment import TemplateModule
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ..errors import CatalogueError, RenderError

if TYPE_CHECKING:
    from .catalogue import Catalogue, Variant

_WHITESPACE = re.compile(r"\s+")
# Compiled templates an environment keeps (a catalogue's most used; the rest compile again).
TEMPLATES_KEPT = 2000
# The templates' code compiled at build (`make build`: scripts/compile_templates.py, with the
# runtime's Python) ships in the shared layer, which engineers own: never in the content
# layer, where marketing ops' files would run as code outside the sandbox. TEMPLATE_BYTECODE_DIR
# names another directory (the bench's). Absent, templates compile when first used.
BYTECODE_ENV = "TEMPLATE_BYTECODE_DIR"
BYTECODE_PACKAGE_DIR = Path(__file__).with_name("bytecode")


class _Sandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with its verdict on a macro of an imported template
    (``ui.button``) kept per name: for a TemplateModule the verdict depends on the name alone
    (no "_" start, not an internal attribute, not a mutating method), and every message asks
    it several times (about 3 us each: the mutable-type checks are ABC instance checks)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._module_verdicts: dict[str, bool] = {}

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if type(obj) is not TemplateModule:
            return super().is_safe_attribute(obj, attr, value)
        verdict = self._module_verdicts.get(attr)
        if verdict is None:
            verdict = super().is_safe_attribute(obj, attr, value)
            if len(self._module_verdicts) < 4096:  # macro names: a catalogue's handful
                self._module_verdicts[attr] = verdict
        return verdict


class _RecentTemplates(OrderedDict[Any, Any]):
    """The environment's compiled templates, the least recently used dropped past
    ``capacity``: what Jinja2's own LRUCache does, in O(1) a lookup (its ``deque.remove``
    scans the whole cache, about 40 us a template at 2,000 templates)."""

    def __init__(self, capacity: int) -> None:
        super().__init__()
        self.capacity = capacity

    def get(self, key: Any, default: Any = None) -> Any:
        try:
            self.move_to_end(key)
        except KeyError:
            return default
        return self[key]

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.capacity:
            self.popitem(last=False)


def bytecode_dir() -> Path:
    """Where the templates' compiled code is read from (it may not exist)."""
    configured = os.environ.get(BYTECODE_ENV)
    return Path(configured) if configured else BYTECODE_PACKAGE_DIR


@lru_cache(maxsize=1)
def _fingerprint() -> str | None:
    """What compiled code depends on besides a template's source, which Jinja2's own checks
    (its format, the Python version, the checksum of the source) do not cover: Jinja2's
    version and this module, which sets the environment up (autoescape, whitespace, the
    sandbox). None when this module's source cannot be read: then no bytecode is used."""
    try:
        source = Path(__file__).read_bytes()
    except OSError:
        return None
    digest = hashlib.sha256(jinja2.__version__.encode("utf-8") + b"\0" + source)
    return digest.hexdigest()[:16]


class BuildBytecode(jinja2.BytecodeCache):
    """Templates' code compiled at build, found by template name (not by path: the build's
    and the layer's paths differ) and the fingerprint of the environment it was compiled
    for. Jinja2 checks each file's magic (its format and the Python version) and the
    checksum of the template's source: a template changed since the build, bytecode of
    another Python, another Jinja2 or another environment, or a damaged file, is compiled
    as it would be without the cache. Read-only at run time (a layer is); ``writable`` for
    the build."""

    def __init__(self, directory: Path, fingerprint: str, *, writable: bool = False) -> None:
        self.directory = directory
        self.fingerprint = fingerprint
        self.writable = writable

    def get_cache_key(self, name: str, filename: str | None = None) -> str:
        key = f"{self.fingerprint}|{name}".encode()
        return hashlib.sha1(key, usedforsecurity=False).hexdigest()

    def _path(self, bucket: Bucket) -> Path:
        return self.directory / f"{bucket.key}.cache"

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            with self._path(bucket).open("rb") as f:
                bucket.load_bytecode(f)
        except FileNotFoundError:
            return
        except Exception:  # damaged: compile from the source, as without a cache
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        if self.writable:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._path(bucket).write_bytes(bucket.bytecode_to_string())


def _bytecode() -> BuildBytecode | None:
    directory, fingerprint = bytecode_dir(), _fingerprint()
    if fingerprint is None or not directory.is_dir():
        return None
    return BuildBytecode(directory, fingerprint)


@lru_cache(maxsize=4)
def environment(templates_dir: str) -> ImmutableSandboxedEnvironment:
    env = _Sandbox(
        loader=jinja2.FileSystemLoader(templates_dir),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html", "htm"), default_for_string=False
        ),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
        bytecode_cache=_bytecode(),
    )
    env.cache = _RecentTemplates(TEMPLATES_KEPT)
    return env


@lru_cache(maxsize=2048)
def _subject_template(templates_dir: str, source: str) -> jinja2.Template:
    return environment(templates_dir).from_string(source)


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    html: str
    text: str


def single_line(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()


def render_variant(
    catalogue: Catalogue, variant: Variant, context: Mapping[str, Any]
) -> RenderedMessage:
    root = str(catalogue.root)
    env = environment(root)
    try:
        subject = single_line(_subject_template(root, variant.subject).render(context))
        html = env.get_template(variant.html).render(context)
        text = env.get_template(variant.text).render(context)
    except jinja2.TemplateSyntaxError as exc:
        # Templates compile when first used; `check_catalogue` finds this before a deploy.
        where = f"{exc.filename or 'subject'} line {exc.lineno}"
        raise RenderError(f"TemplateSyntaxError: {where}: {exc.message or ''}"[:300]) from exc
    except jinja2.TemplateError as exc:
        # The message names the template problem (an undefined name, a sandbox refusal),
        # never the candidate's values.
        raise RenderError(f"{type(exc).__name__}: {exc.message or ''}"[:300]) from exc
    if not subject:
        raise RenderError("subject rendered empty")
    return RenderedMessage(subject=subject, html=html, text=text)


def compile_catalogue(catalogue: Catalogue) -> None:
    """Compile every template the catalogue names (content.catalogue.check_catalogue), so
    that a broken one fails the build, naming its line; loading compiles none of them."""
    root = str(catalogue.root)
    env = environment(root)
    for name, spec in catalogue.messages.items():
        for variant in spec.variants:
            where = f"messages.{name}.variants.{variant.name}"
            try:
                _subject_template(root, variant.subject)
                env.get_template(variant.html)
                env.get_template(variant.text)
            except jinja2.TemplateNotFound as exc:
                raise CatalogueError(f"{where}: template {exc.name} does not exist") from exc
            except jinja2.TemplateSyntaxError as exc:
                raise CatalogueError(
                    f"{where}: {exc.filename or 'subject'} line {exc.lineno}: {exc.message}"
                ) from exc
    for name, slot in catalogue.slots.items():
        for block in (slot.anonymous, *slot.variants):
            where = f"slots.{name}.{block.name}"
            try:
                env.get_template(block.html)
            except jinja2.TemplateNotFound as exc:
                raise CatalogueError(f"{where}: template {exc.name} does not exist") from exc
            except jinja2.TemplateSyntaxError as exc:
                raise CatalogueError(
                    f"{where}: {exc.filename} line {exc.lineno}: {exc.message}"
                ) from exc


def compile_bytecode(templates_dir: str, target: Path) -> int:
    """Compile every template under ``templates_dir`` with the environment messages render
    with, into ``target`` (replaced whole): what `make build` puts in the shared layer, run
    by the runtime's Python. Returns how many templates were compiled."""
    fingerprint = _fingerprint()
    if fingerprint is None:
        raise CatalogueError(f"cannot read {Path(__file__).name}: nothing to fingerprint")
    fresh = target.with_name(f"{target.name}.new")
    shutil.rmtree(fresh, ignore_errors=True)
    env = environment.__wrapped__(templates_dir)  # an environment of its own, not the cached one
    cache = BuildBytecode(fresh, fingerprint, writable=True)
    names = env.list_templates(filter_func=lambda name: name.endswith((".html", ".txt")))
    for name in names:
        source, _, _ = env.loader.get_source(env, name)  # type: ignore[union-attr]
        bucket = cache.get_bucket(env, name, None, source)
        try:
            # The name as the code's file name: no path of the build machine in the layer.
            bucket.code = env.compile(source, name, name)
        except jinja2.TemplateSyntaxError as exc:
            raise CatalogueError(f"{name} line {exc.lineno}: {exc.message}") from exc
        cache.set_bucket(bucket)
    fresh.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(target, ignore_errors=True)
    fresh.rename(target)
    return len(names)
