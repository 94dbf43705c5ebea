"""The one error loading a config raises: a leaf module, so callers catch it without
importing the loader."""

from __future__ import annotations

from collections.abc import Iterable


class ConfigError(Exception):
    """A config file that cannot be used; ``errors`` holds every problem, one line each."""

    def __init__(self, errors: Iterable[str], warnings: Iterable[str] = ()) -> None:
        self.errors = tuple(errors)
        self.warnings = tuple(warnings)
        super().__init__(self.errors, self.warnings)  # what pickling passes back

    def __str__(self) -> str:
        return "\n".join(self.errors)
