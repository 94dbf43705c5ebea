"""deploy/Dockerfile and .dockerignore: hadolint, and what the image promises (multi-stage, a
slim base, non-root, no build tools in the final stage, a HEALTHCHECK on /healthz, config
from a mount and the secret from the environment), read from the file itself."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.deploy import dockerfile, dockerignore
from tests.deploy.support import DEPLOY, ROOT, run, tool

DOCKERFILE = DEPLOY / "Dockerfile"
DEFAULT_CONFIG = "/etc/gateway/gateway.yaml"
BUILD_TOOLS = ("gcc", "g++", "build-essential", "make ", "git ", "curl", "wget")


@pytest.fixture(scope="module")
def stages() -> list[dockerfile.Stage]:
    return dockerfile.stages(DOCKERFILE)


@pytest.fixture(scope="module")
def final(stages: list[dockerfile.Stage]) -> dockerfile.Stage:
    return stages[-1]


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    dest = tmp_path_factory.mktemp("context")
    return dest, dockerignore.build_context(ROOT, dest)


def image_config() -> dict[str, object]:
    loaded = yaml.safe_load((DEPLOY / "docker" / "gateway.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_hadolint_finds_nothing() -> None:
    result = run([tool("hadolint"), "--no-color", "--failure-threshold", "style", str(DOCKERFILE)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_is_really_checking(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get update && apt-get install -y gcc\n")
    result = run([tool("hadolint"), "--no-color", str(bad)])
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # the `latest` tag
    assert "DL3008" in result.stdout  # unpinned apt package


def test_multi_stage_on_a_slim_python(stages: list[dockerfile.Stage]) -> None:
    assert len(stages) >= 2
    assert stages[0].name == "build"
    for stage in stages:
        assert stage.base.startswith("python:3.11-slim"), stage.base


def test_final_stage_copies_only_the_venv_from_the_build(final: dockerfile.Stage) -> None:
    from_build = [c.words() for c in final.all("COPY") if c.args.startswith("--from=")]
    assert from_build == [["--from=build", "/opt/gateway", "/opt/gateway"]]


@pytest.mark.parametrize("word", BUILD_TOOLS, ids=str.strip)
def test_final_stage_installs_no_build_tools(final: dockerfile.Stage, word: str) -> None:
    for step in final.all("RUN"):
        assert word not in step.args + " ", step.args
        assert "apt-get install" not in step.args and "pip install" not in step.args


def test_build_stage_runs_the_install_script_the_tests_run(stages: list[dockerfile.Stage]) -> None:
    runs = [step.words() for step in stages[0].all("RUN")]
    assert runs == [["sh", "deploy/docker/install.sh", "/opt/gateway", "/src"]]


def test_runs_as_a_non_root_user(final: dockerfile.Stage) -> None:
    user = final.one("USER").args
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) >= 1000, user  # numeric: runAsNonRoot can verify it
    keywords = [i.keyword for i in final.instructions]
    assert keywords.index("USER") < keywords.index("ENTRYPOINT")
    assert f"--uid {uid}" in final.all("RUN")[0].args


def test_starts_the_gateway_with_the_mounted_config(final: dockerfile.Stage) -> None:
    command = final.one("ENTRYPOINT").exec_form() + final.one("CMD").exec_form()
    assert command == ["gateway", "run", "--config", DEFAULT_CONFIG]
    default = [c.words() for c in final.all("COPY") if not c.args.startswith("--from=")]
    assert default == [["deploy/docker/gateway.yaml", DEFAULT_CONFIG]]


def test_secret_and_upstream_come_from_the_environment() -> None:
    config = image_config()
    session = config["session"]
    assert isinstance(session, dict)
    assert session["secrets"] == ["${NEXTAUTH_SECRET}"]
    assert config["upstream"] == "${GATEWAY_UPSTREAM}"
    assert "NEXTAUTH_SECRET" not in DOCKERFILE.read_text().split("ENV", 1)[1]


def test_exposes_the_configured_ports(final: dockerfile.Stage) -> None:
    config = image_config()
    ports = {str(config[key]).rpartition(":")[2] for key in ("listen", "metrics_listen")}
    assert set(final.one("EXPOSE").words()) == ports


def test_healthcheck_asks_healthz_on_the_metrics_port(final: dockerfile.Stage) -> None:
    check = final.one("HEALTHCHECK")
    assert check.exec_form()[:2] == ["python", "-c"]
    assert "GATEWAY_HEALTHCHECK_URL" in check.exec_form()[2]
    metrics_port = str(image_config()["metrics_listen"]).rpartition(":")[2]
    url = dockerfile.env(final)["GATEWAY_HEALTHCHECK_URL"]
    assert url == f"http://127.0.0.1:{metrics_port}/healthz"


def test_stops_with_sigterm(final: dockerfile.Stage) -> None:
    assert final.one("STOPSIGNAL").args == "SIGTERM"


def test_every_copy_source_is_in_the_build_context(
    stages: list[dockerfile.Stage], context: tuple[Path, list[str]]
) -> None:
    dest, _ = context
    for stage in stages:
        for copy in stage.all("COPY"):
            if copy.args.startswith("--from="):
                continue
            for source in copy.words()[:-1]:
                assert (dest / source).exists(), f"COPY {source}: not in the build context"


@pytest.mark.parametrize(
    "path",
    [
        ".venv/bin/python",
        "tests/deploy/support.py",
        ".git/HEAD",
        "tests/interop/package.json",
        "config/gateway.yaml",
        "gateway/__pycache__/app.cpython-311.pyc",
        "Makefile",
    ],
)
def test_context_leaves_out(path: str) -> None:
    rules = dockerignore.parse((ROOT / ".dockerignore").read_text())
    assert dockerignore.excluded(path, rules)


def test_context_holds_the_whole_package(context: tuple[Path, list[str]]) -> None:
    _, copied = context
    package = {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "gateway").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert package and package <= set(copied)
    assert {"pyproject.toml", "README.md", "deploy/docker/install.sh"} <= set(copied)
