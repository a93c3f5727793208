#!/usr/bin/env bash
# Every test of pcct: the Rust workspace, then the Python package's pytest suite
# against a fresh build of the extension in a local virtual environment
# (target/pyenv: maturin, numpy, pytest and dask.distributed from PyPI on first use).
set -euo pipefail
cd "$(dirname "$0")"

cargo test --workspace --release --exclude pcct-py

venv=target/pyenv
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check 'maturin>=1.7,<2' numpy pytest 'dask[distributed]>=2024.1'
# Builds the wheel-equivalent extension in release mode and installs it into the venv.
VIRTUAL_ENV="$PWD/$venv" "$venv/bin/maturin" develop --quiet --release -m python/Cargo.toml
"$venv/bin/python" -m pytest -q python/tests "$@"
