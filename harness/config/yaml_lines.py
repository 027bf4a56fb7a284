"""YAML loading that remembers where each key was written, and refuses hostile documents.

pydantic reports errors by key path; users fix files by line. Composing the YAML node tree
first lets us map every key path to its line, so a config error can say ``file:line: key``.

The node tree is also where a document is checked before anything expands it: a key written
twice (PyYAML would silently keep the last one), and aliases that expand exponentially (each
level repeating the one before: a few hundred bytes that become billions of values) or refer
to themselves. Anchors share nodes, so both checks visit each node once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from harness.errors import ConfigError
from harness.textfiles import read_text

KeyPath = tuple[str | int, ...]

# Values a config may hold once aliases are expanded: real configs hold hundreds; every later
# step (line map, validation, manifest) walks the expanded document.
MAX_VALUES = 100_000
# Characters of scalar text count towards the limit in units of this many.
_CHARS_PER_VALUE = 256
_MERGE_TAG = "tag:yaml.org,2002:merge"


def dotted(loc: KeyPath) -> str:
    """``("variants", 2, "shots")`` -> ``variants[2].shots``: the way people name keys."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _check_expansion(root: yaml.Node, path: Path) -> None:
    """Refuse documents whose aliases expand past MAX_VALUES values, or loop back on themselves."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise ConfigError("an alias refers to a value that contains it (a recursive "
                              "anchor); write the value out instead", file=path, line=_line(node))
        active.add(key)
        if isinstance(node, yaml.SequenceNode):
            total = 1 + sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total = 1 + sum(size(k) + size(v) for k, v in node.value)
        else:
            total = 1 + len(str(node.value)) // _CHARS_PER_VALUE
        if total > MAX_VALUES:
            raise ConfigError(
                f"this value expands to more than {MAX_VALUES:,} values through YAML aliases "
                "(*name); a config never needs that many: write it out without nested aliases",
                file=path, line=_line(node),
            )
        active.discard(key)
        sizes[key] = total
        return total

    size(root)


def _check_duplicates(root: yaml.Node, path: Path) -> None:
    """A key written twice in one mapping is an error naming both lines (each node once)."""
    seen_nodes: set[int] = set()
    stack = [(root, ())]
    while stack:
        node, where = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            stack.extend((child, (*where, i)) for i, child in enumerate(node.value))
        elif isinstance(node, yaml.MappingNode):
            first: dict[tuple[str, str], int] = {}
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.tag != _MERGE_TAG:
                    ident = (key_node.tag, key_node.value)
                    if ident in first:
                        raise ConfigError(
                            f"'{key_node.value}' is written twice in the same mapping (lines "
                            f"{first[ident]} and {_line(key_node)}); keep one",
                            file=path, line=_line(key_node), key=dotted((*where, key_node.value)),
                        )
                    first[ident] = _line(key_node)
                    stack.append((value_node, (*where, key_node.value)))
                else:
                    stack.append((value_node, where))


def _bad_scalar_line(root: yaml.Node | None) -> int | None:
    """The line of the first scalar PyYAML cannot construct (the others are fine)."""
    stack = [root] if root is not None else []
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            try:
                yaml.constructor.SafeConstructor().construct_object(node)
            except (ValueError, TypeError, OverflowError, yaml.YAMLError):
                return _line(node)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(reversed(node.value))
        elif isinstance(node, yaml.MappingNode):
            stack.extend(x for pair in reversed(node.value) for x in reversed(pair))
    return None


def _walk(node: yaml.Node, path: KeyPath, lines: dict[KeyPath, int]) -> None:
    lines[path] = _line(node)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue  # a complex key: the constructor reports it
            key = key_node.value
            _walk(value_node, (*path, key), lines)
            lines[(*path, key)] = _line(key_node)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), lines)


def _yaml_error(exc: yaml.YAMLError, text: str, path: Path) -> ConfigError:
    mark = getattr(exc, "problem_mark", None)
    line = mark.line + 1 if mark else None
    position = getattr(exc, "position", None)  # a ReaderError: a character YAML refuses
    if line is None and isinstance(position, int):
        line = text.count("\n", 0, position) + 1
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return ConfigError(f"invalid YAML: {problem}", file=path, line=line)


def load_yaml(path: Path) -> tuple[Any, dict[KeyPath, int]]:
    """Parse ``path`` and return its data with a key-path -> line map."""
    return parse_yaml(read_text(path), path)


def parse_yaml(text: str, path: Path) -> tuple[Any, dict[KeyPath, int]]:
    """:func:`load_yaml` for text already read (a template's front matter): same checks."""
    try:
        loader = yaml.SafeLoader(text)  # refuses control characters already
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, text, path) from None
    node = None
    try:  # one parse: the node tree gives the lines, constructing it gives the data
        node = loader.get_single_node()
        if node is not None:
            _check_expansion(node, path)
            _check_duplicates(node, path)
        data = loader.construct_document(node) if node is not None else None
        lines: dict[KeyPath, int] = {}
        if node is not None:
            _walk(node, (), lines)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, text, path) from None
    except RecursionError:
        raise ConfigError("the YAML is nested too deeply to be a config", file=path) from None
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. a date like 2024-13-45
        raise ConfigError(f"invalid value: {exc}", file=path,
                          line=_bad_scalar_line(node)) from None
    finally:
        loader.dispose()
    return data, lines


def line_for(lines: dict[KeyPath, int], loc: KeyPath) -> int | None:
    """The line of the deepest key of ``loc`` that the file actually contains."""
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None
