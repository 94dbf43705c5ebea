"""The shipped proxy examples, made runnable on test ports. Only addresses and paths change:
each default written in the shipped file is replaced, and a default that is missing fails the
test (the example changed under the test), so what runs is what ships."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

import pytest

from tests.deploy.support import DEPLOY

NGINX = DEPLOY / "nginx"
NGINX_SITE = NGINX / "session-gateway.conf"
CADDYFILE = DEPLOY / "caddy/Caddyfile"

# The defaults the shipped files are written with (documented in their headers).
GATEWAY = "127.0.0.1:8080"
APP = "127.0.0.1:3000"
NGINX_LISTEN = "listen 80;"
CADDY_SITE = ":80 {"


def render(text: str, replacements: Mapping[str, str], source: Path) -> str:
    for default, value in replacements.items():
        if default not in text:
            pytest.fail(
                f"{source}: {default!r} is not in the shipped file; update "
                "tests/deploy/proxies/render.py with it",
                pytrace=False,
            )
        text = text.replace(default, value)
    return text


def addresses(gateway: int, app: int) -> dict[str, str]:
    return {GATEWAY: f"127.0.0.1:{gateway}", APP: f"127.0.0.1:{app}"}


def nginx_main(prefix: Path) -> str:
    """The smallest nginx.conf around the shipped site, as Debian's includes conf.d/ in
    `http {}`. No `user` directive: as root nginx drops its workers to its default user, as
    anyone else it runs as that user, and the test works either way (its workers never touch
    a file: nothing is buffered to disk)."""
    return f"""daemon off;
pid {prefix}/nginx.pid;
error_log stderr notice;
worker_processes 1;
events {{ worker_connections 64; }}
http {{
    access_log off;
    proxy_max_temp_file_size 0;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include conf.d/session-gateway.conf;
}}
"""


def install_nginx(prefix: Path, replacements: Mapping[str, str] | None = None) -> Path:
    """The shipped site and snippets laid out as in /etc/nginx (rendered, or as they are
    when ``replacements`` is None), under a main config; its path."""
    (prefix / "conf.d").mkdir(parents=True)
    shutil.copytree(NGINX / "snippets", prefix / "snippets")
    site = NGINX_SITE.read_text()
    if replacements is not None:
        site = render(site, replacements, NGINX_SITE)
    (prefix / "conf.d/session-gateway.conf").write_text(site)
    main = prefix / "nginx.conf"
    main.write_text(nginx_main(prefix))
    return main


def nginx_site(gateway: int, app: int, listen: int) -> dict[str, str]:
    return {**addresses(gateway, app), NGINX_LISTEN: f"listen 127.0.0.1:{listen};"}


def caddyfile(gateway: int, app: int, listen: int) -> str:
    """The shipped Caddyfile on test ports, behind a global block that turns off the admin
    API (its fixed port 2019 would collide between runs)."""
    site = render(
        CADDYFILE.read_text(),
        {**addresses(gateway, app), CADDY_SITE: f":{listen} {{\n\tbind 127.0.0.1"},
        CADDYFILE,
    )
    return "{\n\tadmin off\n}\n\n" + site
