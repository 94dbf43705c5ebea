"""The image's install step, run for real: there is no Docker engine here, so this runs
deploy/docker/install.sh (the Dockerfile's only RUN of its build stage) in a fresh virtual
environment on a clean copy of the build context filtered by .dockerignore, then starts the
result the way the image's ENTRYPOINT and CMD do, and asks it with the image's HEALTHCHECK."""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import tomllib
from pathlib import Path

import pytest

from tests.deploy import dockerfile, dockerignore
from tests.deploy.support import DEPLOY, ROOT, Process, answers, free_port, run, wait_http

SECRET = "image-test-secret-0123456789abcdefghijklmnop"
IMAGE_CONFIG = "/etc/gateway/gateway.yaml"


class Image:
    """The installed venv and the context it came from."""

    def __init__(self, venv: Path, context: Path, work: Path) -> None:
        self.venv, self.context, self.work = venv, context, work

    def bin(self, name: str) -> str:
        return str(self.venv / "bin" / name)

    def env(self, **extra: str) -> dict[str, str]:
        """A clean environment, as in a container: no PYTHONPATH leading to the repository."""
        base = {"HOME": str(self.work), "LANG": "C.UTF-8"}
        base.update(dockerfile.env(dockerfile.stages(DEPLOY / "Dockerfile")[-1]))
        base["PATH"] = f"{self.venv / 'bin'}:/usr/bin:/bin"  # the image's $PATH, expanded
        return base | extra


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Image:
    root = tmp_path_factory.mktemp("image")
    context, venv, work = root / "context", root / "opt-gateway", root / "work"
    dockerignore.build_context(ROOT, context)
    work.mkdir()
    result = run(
        ["sh", str(context / "deploy/docker/install.sh"), str(venv), str(context)],
        cwd=context,
        env=os.environ | {"PYTHON": sys.executable},
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return Image(venv, context, work)


def installed(image: Image) -> dict[str, str]:
    script = (
        "import importlib.metadata as m, json; print(json.dumps({d.metadata['Name']: "
        "d.version for d in m.distributions()}))"
    )
    result = run([image.bin("python"), "-c", script], cwd=image.work, env=image.env())
    assert result.returncode == 0, result.stderr
    found: dict[str, str] = json.loads(result.stdout)
    return found


def normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins() -> dict[str, str]:
    lines = (DEPLOY / "docker" / "constraints.txt").read_text().splitlines()
    pairs = [line.split("==") for line in lines if line and not line.startswith("#")]
    return {normal(name): version for name, version in pairs}


def test_installs_exactly_the_pinned_versions(image: Image) -> None:
    found = {normal(name): version for name, version in installed(image).items()}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert found.pop("gateway") == project["version"]
    assert found == pins(), "deploy/docker/constraints.txt must pin every runtime dependency"


def test_final_venv_has_no_installer(image: Image) -> None:
    names = {normal(name) for name in installed(image)}
    assert not names & {"pip", "setuptools", "wheel"}
    assert not (image.venv / "bin" / "pip").exists()


def test_the_package_comes_from_the_venv_not_the_repository(image: Image) -> None:
    result = run(
        [image.bin("python"), "-c", "import gateway; print(gateway.__file__)"],
        cwd=image.work,
        env=image.env(),
    )
    assert result.stdout.strip().startswith(str(image.venv)), result.stdout + result.stderr


def test_check_accepts_the_image_config(image: Image) -> None:
    config = image.context / "deploy/docker/gateway.yaml"
    result = run(
        [image.bin("gateway"), "check", "--config", str(config)],
        cwd=image.work,
        env=image.env(NEXTAUTH_SECRET=SECRET, GATEWAY_UPSTREAM="http://app:3000"),
    )
    assert result.returncode == 0, result.stderr
    assert "upstreams: http://app:3000" in result.stdout
    assert SECRET not in result.stdout + result.stderr


def test_check_refuses_to_start_without_the_secret(image: Image) -> None:
    config = image.context / "deploy/docker/gateway.yaml"
    result = run(
        [image.bin("gateway"), "check", "--config", str(config)],
        cwd=image.work,
        env=image.env(GATEWAY_UPSTREAM="http://app:3000"),
    )
    assert result.returncode == 2
    assert "NEXTAUTH_SECRET" in result.stderr


def loopback_config(image: Image, proxy: int, metrics: int) -> Path:
    """The image's config with its ports moved to loopback (a test never listens on all
    interfaces); everything else as shipped."""
    text = (image.context / "deploy/docker/gateway.yaml").read_text()
    moved = text.replace("listen: 0.0.0.0:8080", f"listen: 127.0.0.1:{proxy}")
    moved = moved.replace("metrics_listen: 0.0.0.0:9091", f"metrics_listen: 127.0.0.1:{metrics}")
    assert moved.count("127.0.0.1:") == 2, "the image config's listen addresses changed"
    path = image.work / "gateway.yaml"
    path.write_text(moved)
    return path


def test_runs_and_passes_its_healthcheck(image: Image) -> None:
    final = dockerfile.stages(DEPLOY / "Dockerfile")[-1]
    proxy, metrics, upstream = free_port(), free_port(), free_port()
    command = final.one("ENTRYPOINT").exec_form() + final.one("CMD").exec_form()
    assert command[-1] == IMAGE_CONFIG
    command[-1] = str(loopback_config(image, proxy, metrics))
    env = image.env(NEXTAUTH_SECRET=SECRET, GATEWAY_UPSTREAM=f"http://127.0.0.1:{upstream}")
    healthcheck = final.one("HEALTHCHECK").exec_form()
    health_env = env | {"GATEWAY_HEALTHCHECK_URL": f"http://127.0.0.1:{metrics}/healthz"}
    gateway = Process(
        [image.bin(command[0]), *command[1:]], image.work / "gateway.log", cwd=image.work, env=env
    )
    try:
        wait_http(gateway, metrics, "/healthz")
        assert run(healthcheck, cwd=image.work, env=health_env).returncode == 0
        assert answers(proxy, "/api/x") == 401  # the proxied port: no session, an API route
        gateway.signal(signal.SIGTERM)
        assert gateway.popen.wait(timeout=30) == 0, gateway.output()
    finally:
        gateway.stop()
    unhealthy = run(healthcheck, cwd=image.work, env=health_env)
    assert unhealthy.returncode != 0
    assert SECRET not in gateway.output()
