"""``gateway explain`` on the command line: in process (``main([...])``), and once as a real
``python -m gateway`` proving the exit codes and that the secret never leaves the process."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.cli import main
from gateway.session.token import SessionCodec

ROOT = Path(__file__).resolve().parents[2]
SECRET = "cli-explain-secret-0123456789abcdef-0123456789"
AT = 1_800_000_000  # 2027-01-15T08:00:00Z
CONFIG = """\
listen: 127.0.0.1:8080
metrics_listen: 127.0.0.1:9091
upstream: http://127.0.0.1:3000
session: { flavor: nextauth-v4, secrets: ["${EXPLAIN_TEST_SECRET}"] }
policies:
  admin: { max_age: 2h, update_age: 1h, absolute_max_age: 12h }
  general: { max_age: 1d, update_age: 6h }
default_policy: general
routes:
  - { name: login, path: /login, public: true }
  - { name: session, path: /api/auth/session, public: true, activity: false }
  - { name: admin, path: /admin/, roles: [admin] }
  - { name: app, path: / }
"""
TOKEN = SessionCodec("nextauth-v4", [SECRET]).encode(
    {"sub": "u1", "role": "admin", "auth_time": AT - 3600},
    "next-auth.session-token",
    now=AT - 120,
    max_age=7200,
)


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("EXPLAIN_TEST_SECRET", SECRET)
    path = tmp_path / "gateway.yaml"
    path.write_text(CONFIG)
    return str(path)


def explain(config_file: str, *extra: str) -> list[str]:
    return ["explain", "--config", config_file, "--at", str(AT), *extra]


def test_text(config_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(explain(config_file, "--cookie", TOKEN, "--path", "/admin/x")) == 0
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert "iat:        2027-01-15T07:58:00Z (2m ago)" in lines
    assert "route:      admin (path /admin/, roles admin)" in lines
    assert "decision:   allowed (valid): valid" in lines


def test_json(config_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    header = f"theme=dark; next-auth.session-token={TOKEN}"
    assert main(explain(config_file, "--cookie", header, "--json")) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["decision"]["kind"] == "allowed"
    assert out["route"]["name"] == "app"
    assert out["exp"] == {"unix": AT + 7080, "iso": "2027-01-15T09:58:00Z", "seconds_from_at": 7080}
    assert out["claims"]["sub"] == "u1"


def test_at_as_iso(config_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "explain",
        "--config",
        config_file,
        "--cookie",
        TOKEN,
        "--at",
        "2027-01-15T10:00:00Z",
        "--json",
    ]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["decision"]["kind"], out["decision"]["reason"]) == ("expired", "exp")


def test_cookie_from_stdin(
    config_file: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(TOKEN + "\n"))
    assert main(explain(config_file, "--cookie", "-")) == 0
    assert "decrypted:  by secret 1 of 1 (the current one)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("cookie", "line"),
    [
        pytest.param(
            "garbage",
            "decision:   invalid (malformed): not a compact JWE (five dot-separated parts)",
            id="garbage",
        ),
        pytest.param(
            TOKEN[:-4] + "AAAA",
            "decision:   invalid (decrypt): no configured secret "
            "decrypts it (another secret or cookie name, or "
            "tampered)",
            id="tampered",
        ),
        pytest.param(
            "theme=dark",
            "decision:   unauthenticated (no_cookie): no session cookie in the value given",
            id="no-session",
        ),
    ],
)
def test_no_session_exits_1(
    config_file: str, cookie: str, line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(explain(config_file, "--cookie", cookie)) == 1
    assert line in capsys.readouterr().out.splitlines()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(
            ["explain", "--cookie", TOKEN, "--at", "soon"],
            "gateway explain: --at: 'soon' is neither unix seconds nor an ISO 8601 "
            "time such as 2030-01-15T08:00:00Z\n",
            id="bad-at",
        ),
        pytest.param(
            ["explain", "--at", str(AT)],
            "the following arguments are required: --cookie",
            id="no-cookie",
        ),
        pytest.param(
            ["explain", "--cookie", TOKEN, "--json", "--bogus"],
            "unrecognized arguments: --bogus",
            id="bad-option",
        ),
    ],
)
def test_bad_arguments_exit_2(
    config_file: str, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--config", config_file]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert message in err


def test_missing_config_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.yaml"
    assert main(["explain", "--config", str(missing), "--cookie", TOKEN]) == 2
    out, err = capsys.readouterr()
    assert (out, err) == ("", f"{missing}:1: cannot read the file: No such file or directory\n")


def test_broken_config_exits_2(
    config_file: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("EXPLAIN_TEST_SECRET")
    assert main(explain(config_file, "--cookie", TOKEN)) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "EXPLAIN_TEST_SECRET" in err


def test_real_process_exit_codes_and_no_secret(config_file: str) -> None:
    env = {**os.environ, "EXPLAIN_TEST_SECRET": SECRET}
    runs = {
        0: explain(config_file, "--cookie", TOKEN, "--path", "/admin"),
        1: explain(config_file, "--cookie", TOKEN[:-4] + "AAAA", "--json"),
        2: explain(config_file + ".missing", "--cookie", TOKEN),
    }
    for code, argv in runs.items():
        done = subprocess.run(
            [sys.executable, "-m", "gateway", *argv],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            timeout=60,
            check=False,
        )
        assert done.returncode == code, done.stderr
        assert SECRET not in done.stdout + done.stderr
        assert "Traceback" not in done.stderr
        if code < 2:
            assert "decision" in done.stdout
