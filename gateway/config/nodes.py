"""YAML read as nodes, so every key and value keeps its line, and every problem is collected.

Nothing here raises for bad input: a problem is recorded in :class:`Problems` (one line:
``file:line: key.path: problem``) and the caller gets ``None``, so one pass reports
everything wrong with a file. Typed values are read by :class:`gateway.config.reader.Reader`.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

import yaml

TAG = "tag:yaml.org,2002:"
_BARE = re.compile(r"[!-~]+")  # printable ASCII: shown without quotes
_USERINFO = re.compile(r"(?<=//)[^/@\s]*@")
_MAX_SHOWN = 60


@dataclass(frozen=True, slots=True)
class Field:
    """A value node, its key path for messages, and the line (and column) of its key."""

    path: str
    line: int
    node: yaml.Node
    key_column: int = 0

    def child(self, key: str, key_node: yaml.Node, value: yaml.Node) -> Field:
        key = key if key.isprintable() else json.dumps(key)  # messages stay one line
        path = f"{self.path}.{key}" if self.path else key
        mark = key_node.start_mark
        return Field(path, mark.line + 1, value, mark.column)

    def item(self, index: int, node: yaml.Node) -> Field:
        mark = node.start_mark
        return Field(f"{self.path}[{index}]", mark.line + 1, node, mark.column)

    @property
    def value_line(self) -> int:
        return int(self.node.start_mark.line) + 1

    @property
    def column(self) -> int:
        return int(self.node.start_mark.column)

    def is_tag(self, *names: str) -> bool:
        return isinstance(self.node, yaml.ScalarNode) and self.node.tag in {TAG + n for n in names}


@dataclass(slots=True)
class Problems:
    """Errors and warnings of one file, reported sorted by line and column (then in the order
    found)."""

    source: str
    _errors: list[tuple[tuple[int, int], str]] = field(default_factory=list)
    _warnings: list[tuple[tuple[int, int], str]] = field(default_factory=list)

    def error(self, line: int, path: str, problem: str, column: int = 0) -> None:
        self._errors.append(((line, column), self._line(line, path, problem)))

    def warn(self, line: int, path: str, problem: str, column: int = 0) -> None:
        self._warnings.append(((line, column), self._line(line, path, problem)))

    def _line(self, line: int, path: str, problem: str) -> str:
        where = f"{self.source}:{line}: "
        return f"{where}{path}: {problem}" if path else f"{where}{problem}"

    @property
    def errors(self) -> tuple[str, ...]:
        return tuple(text for _, text in sorted(self._errors, key=lambda e: e[0]))

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(text for _, text in sorted(self._warnings, key=lambda e: e[0]))


def compose(text: str, problems: Problems) -> yaml.Node | None:
    """The document's root node, or ``None`` with the syntax error recorded."""
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        column = f" (column {mark.column + 1})" if mark else ""
        problems.error(line, "", f"invalid YAML: {_yaml_problem(exc)}{column}")
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        problems.error(line, "", f"invalid YAML: character #x{exc.character:04x}: {exc.reason}")
    except (yaml.YAMLError, RecursionError):
        problems.error(1, "", "invalid YAML: the document cannot be read (nested too deeply?)")
    return None


def _yaml_problem(exc: yaml.MarkedYAMLError) -> str:
    """PyYAML's problem and context as one phrase."""
    problem, context = exc.problem or "", exc.context or ""
    if problem and context:
        return f"{problem} {context}" if context.startswith("while") else f"{context}, {problem}"
    return problem or context or "cannot be parsed"


def suggest(word: str, options: Collection[str]) -> str | None:
    """The known name ``word`` most likely meant: NextAuth's camelCase first (``maxAge``)."""
    snake = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", word).lower().replace("-", "_")
    if snake in options:
        return snake
    close = difflib.get_close_matches(snake, list(options), n=1, cutoff=0.7)
    return close[0] if close else None


def display(text: str) -> str:
    """A value as it can appear in a one-line message: bare if plain, else quoted; short."""
    text = _USERINFO.sub("***@", text)
    if len(text) > _MAX_SHOWN:
        text = text[: _MAX_SHOWN - 3] + "..."
    return text if _BARE.fullmatch(text) and text[0] not in "\"'" else json.dumps(text)


def kind(node: yaml.Node) -> str:
    return "a list" if isinstance(node, yaml.SequenceNode) else "a mapping"


@dataclass(slots=True)
class Section:
    """A mapping's keys in file order; for :meth:`get` and :meth:`need`, ``key: null`` (or
    an empty value) is the same as leaving the key out."""

    field: Field
    items: dict[str, Field]
    problems: Problems
    # Keys an unknown key was taken for (`maxAge` -> max_age): that error already says it.
    suggested: set[str] = dataclasses.field(default_factory=set)

    def get(self, key: str) -> Field | None:
        item = self.items.get(key)
        return None if item is None or item.is_tag("null") else item

    def need(self, key: str) -> Field | None:
        item = self.get(key)
        if item is None and key not in self.suggested:
            path = f"{self.field.path}.{key}" if self.field.path else key
            at = self.items.get(key, self.field)
            self.problems.error(at.line, path, "is required", at.key_column)
        return item


def section(
    f: Field, problems: Problems, known: Collection[str] | None, hints: Mapping[str, str]
) -> Section | None:
    """A mapping (``null`` reads as empty); with ``known``, other keys are errors, with a
    did-you-mean from ``known`` or, for a key that belongs elsewhere, from ``hints``."""
    if f.is_tag("null"):
        return Section(f, {}, problems)
    if not isinstance(f.node, yaml.MappingNode):
        what = "" if f.path else "the top level "
        problem = f"{what}must be a mapping (key: value), not {_shown(f)}"
        problems.error(f.value_line, f.path, problem, f.column)
        return None
    result = Section(f, {}, problems)
    first_line: dict[str, int] = {}
    for key_node, value in f.node.value:
        key = _key(f, key_node, value, first_line, problems)
        if key is None:
            continue
        if known is not None and key not in known:
            result.suggested.add(_unknown(f.child(key, key_node, value), known, hints, problems))
        else:
            result.items[key] = f.child(key, key_node, value)
    return result


def _key(
    f: Field, key_node: yaml.Node, value: yaml.Node, first_line: dict[str, int], problems: Problems
) -> str | None:
    line, column = key_node.start_mark.line + 1, key_node.start_mark.column
    if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == TAG + "merge":
        problems.error(
            line,
            f.path,
            "keys must be plain names (YAML merge keys << and complex keys are not supported)",
            column,
        )
        return None
    key = str(key_node.value)
    if key in first_line:
        child = f.child(key, key_node, value)
        problem = f"duplicate key (first at line {first_line[key]})"
        problems.error(line, child.path, problem, column)
        return None
    first_line[key] = line
    return key


def _unknown(f: Field, known: Collection[str], hints: Mapping[str, str], problems: Problems) -> str:
    """Report an unknown key; the known key it was probably meant as, else ``""``."""
    key = f.path.rsplit(".", 1)[-1]
    # Where the key belongs, when it is a key of another section, beats a near name here:
    # client_header is timeouts.client_header, not identity_headers.
    guess = hints.get(key) or suggest(key, known) or hints.get(suggest(key, hints) or "")
    hint = f"; did you mean {guess}?" if guess else ""
    problems.error(f.line, f.path, f"unknown key{hint}", f.key_column)
    return guess if guess and guess in known else ""


def sequence(f: Field, problems: Problems) -> list[Field] | None:
    if not isinstance(f.node, yaml.SequenceNode):
        problems.error(f.value_line, f.path, f"must be a list, not {_shown(f)}", f.column)
        return None
    return [f.item(i, node) for i, node in enumerate(f.node.value)]


def _shown(f: Field) -> str:
    """A node for a message about its shape (a scalar is shown as written)."""
    return display(str(f.node.value)) if isinstance(f.node, yaml.ScalarNode) else kind(f.node)
