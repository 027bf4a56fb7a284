"""Rubrics: Jinja2 templates that turn one sample into the messages a judge reads.

A rubric is a prompt template like the ones in ``prompts/`` (same sandbox, same
``{{ role("system") }}`` markers, same one-line errors naming file and line), rendered with
the whole sample instead of a dataset row. The built-ins live in ``builtin_rubrics/``
(``correctness``, ``helpfulness``, ``harmlessness``, ``conciseness``, and ``preference`` for
pairwise comparisons); a user's own is a ``.j2`` file given by path, or by name from a
``rubrics/`` folder beside the experiment (or above it).

Two checks keep a broken rubric from costing anything: at load, every variable the template
reads must be one a rubric is given (a misspelt ``{{ ouput }}`` is an error naming the file
before planning); and before the first model call every planned sample's rubric is rendered
(``harness.judges.plan``), so an item field that is missing or null stops the run at no cost.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.paths import search_dirs
from harness.prompting import PromptTemplate, load_template, render_messages

BUILTIN_DIR = Path(__file__).parent / "builtin_rubrics"
SUFFIXES = (".j2", ".jinja", ".jinja2")

# What a grading rubric is rendered with (harness.judges.grader.rubric_context).
GRADING_VARS = frozenset({
    "input", "output", "answer", "target", "context", "documents", "item", "messages",
    "task", "variant", "model", "item_id", "epoch", "verdict", "grade",
})
# What a pairwise rubric is rendered with (harness.judges.pairwise): the two answers, never
# the names of the variants that wrote them (a judge must not know which prompt is which).
PAIRWISE_VARS = frozenset({
    "input", "target", "context", "documents", "item", "task", "model", "item_id", "epoch",
    "output_a", "output_b", "verdict",
})
# Names every template may use without being given them (Jinja2's globals, the role marker).
_GLOBALS = frozenset({"role", "range", "dict", "lipsum", "cycler", "joiner", "namespace",
                      "loop", "self", "caller", "varargs", "kwargs"})


def builtin_names() -> list[str]:
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.j2"))


def rubric_names(base: Path) -> list[str]:
    found = {p.stem for d in search_dirs(base, "rubrics") if d.is_dir() for p in d.glob("*.j2")}
    return sorted(found | set(builtin_names()))


def is_path(reference: str) -> bool:
    return reference.lower().endswith(SUFFIXES) or "/" in reference


def resolve_rubric(reference: str, base: Path) -> Path:
    """A rubric by path (relative to ``base``, the experiment's folder, or the working folder)
    or by name (``rubrics/<name>.j2`` beside or above ``base``, then the built-ins)."""
    if is_path(reference):
        if not reference.lower().endswith(SUFFIXES):
            raise ConfigError(f"rubric '{reference}' must be a .j2 (or .jinja, .jinja2) file")
        candidate = Path(reference).expanduser()
        for root in (base, Path.cwd()):
            path = candidate if candidate.is_absolute() else root / candidate
            if path.is_file():
                return path.resolve()
        raise ConfigError(f"rubric file '{reference}' not found (looked in {base} and .)")
    for folder in (*search_dirs(base, "rubrics"), BUILTIN_DIR):
        for suffix in SUFFIXES:
            path = folder / f"{reference}{suffix}"
            if path.is_file():
                return path.resolve()
    raise ConfigError(f"no rubric named '{reference}' (built in: {', '.join(builtin_names())};"
                      " or rubrics/<name>.j2 beside the experiment); give one of those or a "
                      "path to a .j2 file")


def load_rubric(path: Path, allowed: frozenset[str] = GRADING_VARS) -> PromptTemplate:
    """Load a rubric and check the variables it reads; a ConfigError naming the file (and
    the line, for a syntax error) otherwise."""
    template = load_template(path)
    unknown = sorted(undeclared(template) - allowed - _GLOBALS)
    if unknown:
        import difflib

        name = unknown[0]
        guess = difflib.get_close_matches(name, sorted(allowed), n=1)
        hint = f"; did you mean '{guess[0]}'?" if guess else ""
        raise ConfigError(f"rubric uses the variable '{name}', which a rubric is not given"
                          f"{hint} (available: {', '.join(sorted(allowed))}; a dataset field "
                          "is item.<field>)", file=path, line=_line_of(template.source, name))
    return template


def undeclared(template: PromptTemplate) -> set[str]:
    from jinja2 import meta

    from harness.templating import environment

    return set(meta.find_undeclared_variables(environment().parse(template.source)))


def _line_of(source: str, name: str) -> int | None:
    import re

    pattern = re.compile(rf"\b{re.escape(name)}\b")
    for number, line in enumerate(source.splitlines(), 1):
        if ("{{" in line or "{%" in line) and pattern.search(line):
            return number
    return None


def render_rubric(template: PromptTemplate, context: dict[str, Any],
                  *, where: str) -> list[dict[str, str]]:
    """The judge's messages; a ConfigError naming the rubric's file and line on failure."""
    return render_messages(template, context, where=where)
