"""The build context a Docker builder would see: the repository filtered by .dockerignore.

Docker's rules (moby/patternmatcher): each line is a Go ``filepath.Match`` pattern relative
to the context root, cleaned (``gateway/`` is ``gateway``), with ``**`` matching any number of
directories; ``!`` re-includes; the last matching line wins; a pattern that matches a
directory matches everything under it.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Rule:
    pattern: str
    regex: re.Pattern[str]
    include: bool

    def may_include_under(self, directory: str) -> bool:
        """Whether this rule could re-include something below an excluded ``directory``."""
        if not self.include:
            return False
        literal = re.split(r"[*?\[]", self.pattern, maxsplit=1)[0]
        inside = directory + "/"
        wild = literal != self.pattern
        return literal.startswith(inside) or (wild and inside.startswith(literal))


def parse(text: str) -> list[Rule]:
    rules = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        include = line.startswith("!")
        pattern = line[1:].strip() if include else line
        pattern = pattern.strip("/")
        rules.append(Rule(pattern, _compile(pattern), include))
    return rules


def _compile(pattern: str) -> re.Pattern[str]:
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + pattern[i : end + 1], end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + "$")


def excluded(path: str, rules: list[Rule]) -> bool:
    """Whether ``path`` (relative, with /) stays out of the context."""
    parts = path.split("/")
    prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    verdict = False
    for rule in rules:
        if any(rule.regex.match(prefix) for prefix in prefixes):
            verdict = not rule.include
    return verdict


def build_context(root: Path, dest: Path) -> list[str]:
    """Copy what the context holds from ``root`` to ``dest``; the copied paths, sorted."""
    rules = parse((root / ".dockerignore").read_text())
    copied = []
    for folder, dirs, files in os.walk(root):
        base = Path(folder).relative_to(root).as_posix().removeprefix(".")
        # Skip walking excluded trees nothing re-includes (.venv, node_modules): as fast as
        # Docker's own walk, and the same result.
        dirs[:] = [d for d in dirs if not _pruned(f"{base}/{d}".lstrip("/"), rules)]
        for name in files:
            relative = f"{base}/{name}".lstrip("/")
            if not excluded(relative, rules):
                target = dest / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(root / relative, target)
                copied.append(relative)
    return sorted(copied)


def _pruned(directory: str, rules: list[Rule]) -> bool:
    return excluded(directory, rules) and not any(r.may_include_under(directory) for r in rules)
