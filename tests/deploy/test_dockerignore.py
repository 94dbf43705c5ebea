"""The .dockerignore matcher the image tests rely on, against Docker's documented rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy.dockerignore import build_context, excluded, parse

RULES = """
# comment
*
!gateway/
!deploy/docker
**/__pycache__
**/*.py[co]
!keep/**/*.txt
"""

CASES = [
    ("top-level-file", "Makefile", True),
    ("included-dir-file", "gateway/app.py", False),
    ("included-nested", "gateway/demo/page.html", False),
    ("dir-include-trailing-slash-cleaned", "deploy/docker/install.sh", False),
    ("sibling-of-included", "deploy/kubernetes/hpa.yaml", True),
    ("double-star-dir", "gateway/__pycache__/x.pyc", True),
    ("double-star-suffix", "gateway/sub/mod.pyc", True),
    ("last-match-wins", "keep/a/b/c.txt", False),
    ("double-star-zero-dirs", "keep/c.txt", False),
    ("not-matching-include", "keep/c.md", True),
]


@pytest.mark.parametrize(("path", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_excluded(path: str, expected: bool) -> None:
    assert excluded(path, parse(RULES)) is expected


def test_build_context_copies_what_is_left(tmp_path: Path) -> None:
    root, dest = tmp_path / "repo", tmp_path / "ctx"
    for name in (
        "gateway/app.py",
        "gateway/__pycache__/app.pyc",
        ".venv/lib/big.so",
        "deploy/docker/install.sh",
        "deploy/Dockerfile",
        "keep/x/y.txt",
    ):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(name)
    (root / ".dockerignore").write_text(RULES)
    copied = build_context(root, dest)
    assert copied == ["deploy/docker/install.sh", "gateway/app.py", "keep/x/y.txt"]
    assert (dest / "gateway/app.py").read_text() == "gateway/app.py"
