"""A gateway's config file placed and changed the ways it is in production: a plain file, or
a Kubernetes ConfigMap mount; rewritten in place, replaced by a rename as editors do, or
swapped as the kubelet swaps a ConfigMap's version."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path


def place_config(directory: Path, text: str, layout: str) -> Path:
    """Write the config as a plain file (``layout="file"``), or laid out as Kubernetes mounts
    a ConfigMap: ``gateway.yaml -> ..data/gateway.yaml``, ``..data -> ..<version>/``."""
    if layout == "file":
        path = directory / "gateway.yaml"
        path.write_text(text)
        return path
    mount = directory / "configmap"
    mount.mkdir()
    (mount / "..data").symlink_to(_configmap_version(mount, text).name)
    path = mount / "gateway.yaml"
    path.symlink_to("..data/gateway.yaml")
    return path


def _configmap_version(mount: Path, text: str) -> Path:
    version = mount / f"..{time.strftime('%Y_%m_%d_%H_%M_%S')}.{time.monotonic_ns()}"
    version.mkdir()
    (version / "gateway.yaml").write_text(text)
    return version


def replace_atomically(path: Path, text: str) -> None:
    """As editors and config tools do: write a new file, rename it over the old one."""
    fresh = path.with_name(path.name + ".new")
    fresh.write_text(text)
    os.replace(fresh, path)


def write_in_place(path: Path, text: str) -> None:
    with path.open("w") as file:
        file.write(text)


def swap_configmap(path: Path, text: str) -> None:
    """As the kubelet updates a ConfigMap volume: a new version directory, ``..data``
    re-pointed at it by an atomic rename of a new symlink, the old version removed."""
    mount = path.parent
    old = (mount / "..data").resolve()
    link = mount / "..data_tmp"
    link.symlink_to(_configmap_version(mount, text).name)
    os.replace(link, mount / "..data")
    shutil.rmtree(old)
