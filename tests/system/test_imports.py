"""Every module of the package imports alone, first, in a fresh interpreter: an import cycle
or a module that only works after another one was imported fails here.

tests/unit/test_layout.py checks the same graph from the source; this checks it the way
Python runs it (package ``__init__`` faces included).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted(
    ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
    for p in (ROOT / "gateway").rglob("*.py")
    if p.name != "__main__.py"  # runs the command line when imported
)
# One interpreter per module, several at a time: each pays only its own import.
BATCH = max(2, os.cpu_count() or 2)


def test_the_list_is_the_whole_package() -> None:
    assert "gateway.pipeline" in MODULES and "gateway.serve.worker" in MODULES
    assert len(MODULES) > 60


def test_each_module_imports_alone_in_a_fresh_interpreter() -> None:
    failures: dict[str, str] = {}
    for start in range(0, len(MODULES), BATCH):
        batch = MODULES[start : start + BATCH]
        running = {
            name: subprocess.Popen(
                [sys.executable, "-c", f"import {name}"],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for name in batch
        }
        for name, process in running.items():
            output, _ = process.communicate(timeout=60)
            if process.returncode != 0:
                failures[name] = output.strip().splitlines()[-1] if output.strip() else "?"
    assert failures == {}


def test_python_dash_m_gateway_is_the_command_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "--version"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0 and done.stdout.startswith("gateway ")
