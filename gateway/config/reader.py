"""Typed values from YAML nodes: text, choices, booleans, whole numbers, durations.

``${VAR}`` in a string value is read from the environment; ``$${`` is a literal ``${``; a
variable that is not set is an error, never an empty string. Messages show a value as
written (and what it resolved to) and never show a value read with ``secret=True``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from typing import TypeVar

import yaml

from gateway.config.durations import parse_duration
from gateway.config.nodes import Field, Problems, Section, display, kind, section, sequence, suggest

T = TypeVar("T")
_PLAIN_INT = re.compile(r"[-+]?(0|[1-9][0-9_]*)")
_REF = re.compile(r"\$\$\{|\$\{([^}]*)(\}?)")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BOOLEANS = {"true": True, "false": False}


def _decimal(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 30 else None


class Reader:
    """Typed getters over fields; ``None`` means absent (when a default is given, that) or
    invalid (the problem is recorded)."""

    def __init__(self, problems: Problems, env: Mapping[str, str]) -> None:
        self.problems = problems
        self.env = env

    def error(self, f: Field, problem: str) -> None:
        self.problems.error(f.value_line, f.path, problem, f.column)

    def warn(self, f: Field, problem: str) -> None:
        self.problems.warn(f.value_line, f.path, problem, f.column)

    def section(
        self, f: Field, known: Collection[str] | None, hints: Mapping[str, str] | None = None
    ) -> Section | None:
        """A mapping; with ``known``, other keys are errors (with a did-you-mean)."""
        return section(f, self.problems, known, hints or {})

    def sequence(self, f: Field) -> list[Field] | None:
        return sequence(f, self.problems)

    def key_name(self, f: Field, name: str, check: Callable[[str], str]) -> str | None:
        """A name written as a key (a policy, a header), checked like a value."""
        try:
            return check(name)
        except ValueError as exc:
            self.problems.error(f.line, f.path, f"{display(name)} {exc}", f.key_column)
            return None

    def text(self, f: Field | None, *, secret: bool = False) -> str | None:
        """A scalar as text (``${VAR}`` resolved); booleans, nulls and collections refused."""
        if f is None:
            return None
        if not isinstance(f.node, yaml.ScalarNode):
            self.error(f, f"must be a single value, not {kind(f.node)}")
        elif f.is_tag("null"):
            self.error(f, "has no value")
        elif f.is_tag("bool"):
            self.error(f, f"{self._subject(f, secret)} must be text, not a boolean (quote it)")
        else:
            return self._resolve(f, secret)
        return None

    def _subject(self, f: Field, secret: bool) -> str:
        return "the value" if secret else self.shown(f)

    def _resolve(self, f: Field, secret: bool) -> str | None:
        written = str(f.node.value)
        if not f.is_tag("str"):
            return written
        missing: list[str] = []
        resolved = _REF.sub(lambda m: self._substitute(m, missing), written)
        for name in missing:
            if _ENV_NAME.fullmatch(name):
                self.error(f, f"environment variable {name} is not set")
            else:
                self.error(
                    f,
                    f"{self._subject(f, secret)} has a bad ${{...}} reference "
                    "(${NAME} with letters, digits, _; $${ for a literal ${)",
                )
        return None if missing else resolved

    def _substitute(self, match: re.Match[str], missing: list[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        name, closed = match.group(1), match.group(2)
        if closed and _ENV_NAME.fullmatch(name) and name in self.env:
            return self.env[name]
        missing.append(name if closed else "${" + name)
        return ""

    def shown(self, f: Field) -> str:
        """The value as written, for messages (never called for secrets)."""
        if not isinstance(f.node, yaml.ScalarNode):
            return kind(f.node)
        written = str(f.node.value)
        if not f.is_tag("str") or "${" not in written:
            return display(written)
        missing: list[str] = []
        resolved = _REF.sub(lambda m: self._substitute(m, missing), written)
        return display(written) if missing else f"{display(resolved)} (from {display(written)})"

    def parse(
        self, f: Field | None, check: Callable[[str], T], default: T | None = None
    ) -> T | None:
        """``check(text)``; its ``ValueError`` becomes ``<value> <reason>``."""
        text = self.text(f)
        if f is None or text is None:
            return default if f is None else None
        try:
            return check(text)
        except ValueError as exc:
            self.error(f, f"{self.shown(f)} {exc}")
            return None

    def choice(self, f: Field | None, options: Collection[str], default: str) -> str | None:
        text = self.text(f)
        if f is None or text is None or text in options:
            return default if f is None else text
        guess = suggest(text, options)
        hint = f"; did you mean {guess}?" if guess else ""
        self.error(f, f"{self.shown(f)} must be one of {', '.join(options)}{hint}")
        return None

    def boolean(self, f: Field | None, default: bool) -> bool | None:
        if f is None:
            return default
        if f.is_tag("bool"):
            return bool(yaml.SafeLoader.bool_values[str(f.node.value).lower()])
        return self._from_text(f, _BOOLEANS.get, "must be true or false")

    def integer(
        self, f: Field | None, default: int, low: int, high: int | None = None
    ) -> int | None:
        if f is None:
            return default
        number = self._int(f)
        if number is None:
            return None
        if number < low or (high is not None and number > high):
            rule = f"between {low} and {high}" if high is not None else f"at least {low}"
            self.error(f, f"{self.shown(f)} must be {rule}")
            return None
        return number

    def _int(self, f: Field) -> int | None:
        node = f.node
        if isinstance(node, yaml.ScalarNode) and f.is_tag("int") and len(node.value) <= 30:
            if not _PLAIN_INT.fullmatch(node.value):
                # YAML 1.1 reads 1:30 as 90 (base 60), 010 as 8 and 0x10 as 16: a duration
                # or a limit must mean what it looks like.
                self.error(f, f"{self.shown(f)} must be a whole number written in decimal")
                return None
            return int(yaml.constructor.SafeConstructor().construct_yaml_int(node))
        return self._from_text(f, _decimal, "must be a whole number")

    def _from_text(self, f: Field, convert: Callable[[str], T | None], rule: str) -> T | None:
        """A string that reads as the type (quoted, or from ``${VAR}``) is accepted; another
        YAML type (``public: 1``) is refused."""
        value = None
        if not isinstance(f.node, yaml.ScalarNode) or f.is_tag("str", "null"):
            text = self.text(f)
            if text is None:
                return None
            value = convert(text)
        if value is None:
            self.error(f, f"{self.shown(f)} {rule}")
        return value

    def duration(
        self, f: Field | None, default: int | None = None, positive: bool = False
    ) -> int | None:
        """Seconds; ``positive`` refuses 0."""
        if f is None:
            return default
        value: object = True if f.is_tag("bool") else None
        if value is None:
            value = self._int(f) if f.is_tag("int") else self.text(f)
        if value is None:
            return None
        try:
            seconds = parse_duration(value)
        except ValueError as exc:
            self.error(f, f"{self.shown(f)} {exc}")
            return None
        if positive and seconds == 0:
            self.error(f, f"{self.shown(f)} must be longer than 0s")
            return None
        return seconds
