"""Prompt templates: Jinja2 files that render into chat messages.

A template marks where each chat message starts with ``{{ role("system") }}``,
``{{ role("user") }}`` or ``{{ role("assistant") }}``; text before the first marker (or a
template with none) is one user message. Few-shot examples can be prior turns or inline text:
the template decides. Markers carry a random nonce per render, so nothing in a data row can
forge a message boundary.

A template may start with a front-matter comment that describes it::

    {#---
    description: Chain-of-thought, then the final answer.
    reasoning: true
    ---#}

``reasoning: true`` tells the runner to pull the final answer out of the reasoning first.

``format: completion`` makes a template for base models, which were never trained on chat
turns: it has no role markers and renders to one plain text that the model continues (few-shot
examples inline, ending where the answer should start), sent without a chat template. ``stop:``
(a string or a list) ends the answer there, e.g. at the newline that would start another
example. See harness.prompt_format for how the format meets each model.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Template, TemplateSyntaxError

from harness.config.yaml_lines import parse_yaml
from harness.errors import ConfigError
from harness.paths import search_dirs
from harness.templating import RenderErrors, bounded_render, describe, environment
from harness.textfiles import read_text

ROLES = ("system", "user", "assistant")
_FRONT = re.compile(r"\A\{#-?---\n(?P<meta>.*?)\n---#\}\n?", re.DOTALL)
BUILTIN_DIR = Path(__file__).parent / "builtin_prompts"
# Role markers carry a secret drawn once per process: data rendered into a template cannot
# forge a role switch without knowing it. One per process, not per render, so the marker's
# regex is compiled once, not once per prompt.
_NONCE = secrets.token_hex(8)
_MARKER = re.compile(rf"\x00{_NONCE}:(system|user|assistant)\x00")


@dataclass(frozen=True)
class PromptTemplate:
    """A loaded template file and what its front matter says about it."""

    name: str
    path: Path
    source: str
    reasoning: bool
    description: str
    compiled: Template
    #: "chat" (role markers, sent through the model's chat template) or "completion".
    format: str = "chat"
    stop: tuple[str, ...] = ()

    def render(self, context: dict[str, Any]) -> list[dict[str, str]]:
        """Render to chat messages. Raises the template's own errors (see ``render_messages``).

        A completion template renders to one user message holding the exact text to continue
        (only blank lines around it are dropped: a trailing space before the answer stays)."""
        text = bounded_render(self.compiled, {**context, "role": _role})
        parts = _MARKER.split(text)
        if self.format == "completion":
            if len(parts) > 1:
                raise ValueError("a completion template (format: completion) has no chat "
                                 "roles; remove role(...) or drop format: completion")
            if not text.strip():
                raise ValueError("the template rendered no text")
            return [{"role": "user", "content": text.strip("\n")}]
        messages: list[dict[str, str]] = []
        if parts[0].strip():
            messages.append({"role": "user", "content": parts[0].strip()})
        for name, content in zip(parts[1::2], parts[2::2], strict=True):
            content = content.strip()
            if content or name == "assistant":
                messages.append({"role": name, "content": content})
        if not messages or (messages[-1]["role"] == "assistant" and not messages[-1]["content"]):
            messages = [m for m in messages if m["content"]]
        if not messages:
            raise ValueError("the template rendered no message (it is empty, or every message in "
                             "it is blank)")
        return messages


def _role(name: str) -> str:
    if name not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not '{name}'")
    return f"\x00{_NONCE}:{name}\x00"


def _search_dirs(base: Path) -> list[Path]:
    return [*search_dirs(base, "prompts"), BUILTIN_DIR]


def template_names(base: Path) -> list[str]:
    """The library: templates findable by bare name from ``base``."""
    return sorted({p.stem for d in _search_dirs(base) if d.is_dir() for p in d.glob("*.j2")})


def resolve_template(reference: str, base: Path) -> Path:
    """Find a template by path (relative to ``base`` or the working folder) or library name."""
    candidate = Path(reference)
    if candidate.suffix in {".j2", ".jinja", ".jinja2"} or "/" in reference:
        for root in (base, Path.cwd()):
            path = candidate if candidate.is_absolute() else root / candidate
            if path.is_file():
                return path.resolve()
        raise ConfigError(f"template file '{reference}' not found (looked in {base} and .)")
    for folder in _search_dirs(base):
        for suffix in (".j2", ".jinja", ".jinja2"):
            path = folder / f"{reference}{suffix}"
            if path.is_file():
                return path.resolve()
    known = template_names(base)
    raise ConfigError(
        f"no prompt template named '{reference}' (library: {', '.join(known) or 'empty'}); "
        "give a template name from prompts/ or a path to a .j2 file"
    )


def load_template(path: Path) -> PromptTemplate:
    """Load a template; an edited file is re-read (the cache is keyed on its mtime and size)."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise ConfigError(f"cannot read template ({exc.strerror or exc})", file=path) from None
    return _load_template(path, stat.st_mtime_ns, stat.st_size)


@cache
def _load_template(path: Path, mtime_ns: int, size: int) -> PromptTemplate:
    source = read_text(path, "template")
    meta: dict[str, Any] = {}
    meta_lines: dict[Any, int] = {}
    match = _FRONT.match(source)
    if match:
        # Parsed like a config file (duplicate keys, alias bombs), lines counted from the
        # template's first line, where the front matter starts.
        parsed, meta_lines = parse_yaml("\n" + match.group("meta"), path)
        meta = parsed or {}
        if not isinstance(meta, dict):
            raise ConfigError("front matter must be keys and values (reasoning: true, "
                              "description: ...)", file=path, line=1)
    form, stop = _format_and_stop(meta, meta_lines, path)
    try:
        compiled = environment().from_string(source)
    except TemplateSyntaxError as exc:
        raise ConfigError(exc.message or "syntax error", file=path, line=exc.lineno) from None
    return PromptTemplate(
        name=path.stem,
        path=path,
        source=source,
        reasoning=bool(meta.get("reasoning", False)),
        description=str(meta.get("description", "")),
        compiled=compiled,
        format=form,
        stop=stop,
    )


def _format_and_stop(meta: dict[str, Any], lines: dict[Any, int],
                     path: Path) -> tuple[str, tuple[str, ...]]:
    """The front matter's ``format`` and ``stop``, checked when the template loads."""
    form = meta.get("format", "chat")
    if form not in ("chat", "completion"):
        raise ConfigError(f"must be chat or completion, not {form!r}", file=path,
                          line=lines.get(("format",), 1), key="format")
    stop = meta.get("stop", [])
    stop = [stop] if isinstance(stop, str) else stop
    if not isinstance(stop, list) or not all(isinstance(s, str) and s for s in stop):
        raise ConfigError("must be a non-empty string or a list of them (write a "
                          'newline as "\\n" in double quotes)', file=path,
                          line=lines.get(("stop",), 1), key="stop")
    return str(form), tuple(stop)


def render_messages(
    template: PromptTemplate, context: dict[str, Any], *, where: str
) -> list[dict[str, str]]:
    """Render, turning any template failure into a one-line ConfigError naming the template."""
    try:
        return template.render(context)
    except RenderErrors as exc:
        line = _template_line(exc)
        raise ConfigError(f"{describe(exc)} ({where})", file=template.path, line=line) from None


def _template_line(exc: BaseException) -> int | None:
    tb = exc.__traceback__
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
