"""The command line, in process (``main([...])``) and once as a real ``python -m gateway``."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest

from gateway import __version__
from gateway.cli import main
from gateway.config import DEMO_SECRET

ROOT = Path(__file__).resolve().parents[2]
DEMO = str(ROOT / "config" / "gateway.yaml")

VALID = """\
listen: 127.0.0.1:8080
metrics_listen: 127.0.0.1:9091
upstream: http://127.0.0.1:3000
session: { flavor: authjs-v5, secrets: ["${CLI_TEST_SECRET}"] }
policies:
  admin: { max_age: 2h, update_age: 1h }
  general: { max_age: 1d, absolute_max_age: 2w }
default_policy: general
routes:
  - { name: session, path: /api/auth/session, public: true, activity: false }
  - { name: admin, path: /admin/, roles: [admin, ops], max_auth_age: 15m }
  - { name: app, path: /, unauthenticated: 401, upstream: "http://[::1]:4000" }
login: { url: "https://auth.example.com/login" }
"""


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CLI_TEST_SECRET", "k" * 40)
    path = tmp_path / "gateway.yaml"
    path.write_text(VALID)
    return path


def test_check_prints_the_effective_config(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--config", str(config_file)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert lines[0].startswith(f"{config_file}: valid (sha256 ")
    assert "listen: 127.0.0.1:8080" in lines
    assert "upstreams: http://127.0.0.1:3000, http://[::1]:4000" in lines
    assert (
        "session: authjs-v5, cookie authjs.session-token (and "
        "__Secure-authjs.session-token), 1 secret, role claim role, clock skew 15s, "
        "auth path /api/auth"
    ) in lines
    assert (
        "claims the gateway keeps in the cookie: auth_time (every session: a route has "
        "max_auth_age)"
    ) in lines
    assert "  admin    max_age 2h  update_age 1h              absolute_max_age none" in lines
    assert "  general  max_age 1d  update_age never (static)  absolute_max_age 2w" in lines
    assert "default_policy: general" in lines
    routes = lines[lines.index("routes (first match wins):") + 1 :][:3]
    session = ["session", "/api/auth/session", "public", "passive", "->", "http://127.0.0.1:3000"]
    assert routes[0].split() == session
    assert [line.split() for line in routes[1:]] == [
        [
            "admin",
            "/admin/",
            "roles",
            "admin,",
            "ops",
            "unauthenticated:",
            "redirect",
            "max_auth_age",
            "15m",
            "->",
            "http://127.0.0.1:3000",
        ],
        [
            "app",
            "/",
            "any",
            "signed-in",
            "user",
            "unauthenticated:",
            "401",
            "->",
            "http://[::1]:4000",
        ],
    ]
    assert "k" * 40 not in out


def test_check_the_demo_config_is_clean(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--config", DEMO]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert "demo: true (loopback only; the public demo secret is allowed)" in out
    assert DEMO_SECRET not in out


def test_check_prints_warnings_on_stderr(
    config_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CLI_TEST_SECRET", "short")
    assert main(["check", "--config", str(config_file)]) == 0
    out, err = capsys.readouterr()
    assert err.splitlines() == [
        f"warning: {config_file}:4: session.secrets[0]: the secret is shorter than 32 "
        "characters; use a long random one (openssl rand -base64 32)"
    ]
    assert "short" not in out


def test_check_invalid_prints_every_error_and_exits_2(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_file.write_text(
        VALID.replace("update_age: 1h", "update_age: 3h").replace(
            "default_policy: general", "default_policy: staff"
        )
    )
    assert main(["check", "--config", str(config_file)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f"{config_file}:6: policies.admin.update_age: 3h must be shorter than max_age (2h); "
        "omit update_age for a static session",
        f"{config_file}:8: default_policy: staff is not one of the policies (admin, general)",
    ]


def test_check_missing_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.yaml"
    assert main(["check", "--config", str(missing)]) == 2
    assert capsys.readouterr().err == (
        f"{missing}:1: cannot read the file: No such file or directory\n"
    )


@pytest.mark.parametrize(
    ("argv", "code", "stream", "text"),
    [
        pytest.param(["--version"], 0, "out", f"gateway {__version__}\n", id="version"),
        pytest.param(["--help"], 0, "out", "usage: gateway", id="help"),
        pytest.param(["check", "--help"], 0, "out", "usage: gateway check", id="check-help"),
        pytest.param(["run", "--help"], 0, "out", "--workers N", id="run-help"),
        pytest.param([], 2, "err", "usage: gateway", id="no-command"),
        pytest.param(["frobnicate"], 2, "err", "invalid choice: 'frobnicate'", id="bad-command"),
        pytest.param(
            ["check", "--nope"], 2, "err", "unrecognized arguments: --nope", id="bad-option"
        ),
        pytest.param(
            ["run", "--workers", "0"],
            2,
            "err",
            "'0' is not a positive whole number",
            id="workers-zero",
        ),
        pytest.param(
            ["explain", "--help"], 0, "out", "Exit status: 0 the cookie decoded", id="explain-help"
        ),
    ],
)
def test_arguments(
    argv: list[str], code: int, stream: str, text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == code
    out, err = capsys.readouterr()
    assert text in (out if stream == "out" else err)


def test_run_refuses_an_invalid_config_before_serving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[object] = []
    _fake_server(monkeypatch, calls)
    bad = tmp_path / "bad.yaml"
    bad.write_text("listen: nowhere\n")
    assert main(["run", "--config", str(bad)]) == 2
    assert calls == []
    assert f"{bad}:1: listen: nowhere is not host:port (e.g. 127.0.0.1:8080)" in (
        capsys.readouterr().err.splitlines()
    )


def test_run_hands_a_valid_config_to_the_server(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[object] = []
    _fake_server(monkeypatch, calls)
    assert main(["run", "--config", str(config_file), "--workers", "3", "--debug"]) == 7
    assert calls == [(str(config_file), 3, True)]


def test_run_defaults_to_the_demo_config(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    _fake_server(monkeypatch, calls)
    monkeypatch.chdir(ROOT)
    assert main(["run"]) == 7
    assert calls == [("config/gateway.yaml", 1, False)]


def _fake_server(monkeypatch: pytest.MonkeyPatch, calls: list[object]) -> None:
    """Stands in for gateway.serve (the collaborator `run` hands over to)."""

    def serve(config_path: str, *, workers: int, debug: bool) -> int:
        calls.append((config_path, workers, debug))
        return 7

    module = types.ModuleType("gateway.serve")
    module.serve = serve  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "gateway.serve", module)


@pytest.mark.parametrize(
    ("content", "code", "expected_err"),
    [
        pytest.param(None, 0, "", id="valid"),
        pytest.param("listen: [\n", 2, "invalid YAML", id="broken-yaml"),
        pytest.param("", 2, "the file is empty", id="empty"),
    ],
)
def test_real_process_exit_codes_and_no_traceback(
    tmp_path: Path, content: str | None, code: int, expected_err: str
) -> None:
    path = DEMO
    if content is not None:
        path = str(tmp_path / "config.yaml")
        Path(path).write_text(content)
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "check", "--config", path],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert done.returncode == code
    assert "Traceback" not in done.stdout + done.stderr
    assert expected_err in done.stderr
    if code == 0:
        assert "routes (first match wins):" in done.stdout


def test_real_process_bad_arguments_exit_2() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "check", "--config"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "expected one argument" in done.stderr
