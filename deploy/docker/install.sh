#!/bin/sh
# Builds the gateway's virtual environment from a build context: the one install step of
# deploy/Dockerfile. tests/deploy/test_image.py runs this same script, in a fresh venv, on a
# clean copy of the build context (filtered by .dockerignore), then starts the result.
#
# usage: install.sh VENV SRC     (PYTHON picks the interpreter; default python3)
set -eu
venv=$1
src=$2

"${PYTHON:-python3}" -m venv "$venv"
# Exact versions: the image runs what the test suite ran (deploy/docker/constraints.txt).
"$venv/bin/python" -m pip install --no-input --constraint "$src/deploy/docker/constraints.txt" "$src"
# The installer is not needed at run time: the final image carries no pip or setuptools.
"$venv/bin/python" -m pip uninstall --yes --quiet pip setuptools
