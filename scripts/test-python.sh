#!/usr/bin/env bash
# The Python reader's tests (python/tests): creates a virtualenv in .venv-test (git-ignored), installs
# ./python with its test, parquet and distributed (Dask) extras, adds torch when a local CPU wheel is at hand (the PyPI default
# wheel bundles CUDA, gigabytes), builds the nfm binary when NFM_BIN is not given, and runs pytest.
# Exits non-zero when a test fails or when no test ran (pytest's exit 5).
# Environment: NFM_BIN (nfm binary), NFM_PY_VENV (venv folder), PYTHON (interpreter), NFM_PY_TORCH=0 (no torch).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${NFM_PY_VENV:-.venv-test}"
PYTHON="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)
"${PIP[@]}" install "./python[test,parquet,distributed]"
rm -rf python/build python/*.egg-info

if [ "${NFM_PY_TORCH:-1}" = "0" ]; then
    echo "torch: not installed (NFM_PY_TORCH=0); the torch tests will skip"
elif "$VENV/bin/python" -c "import torch" 2>/dev/null; then
    echo "torch: $("$VENV/bin/python" -c 'import torch; print(torch.__version__)') already installed"
else
    tag=$("$VENV/bin/python" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
    wheel=$(ls /opt/wheels/torch-*+cpu-"$tag"-*.whl 2>/dev/null | sort | tail -n 1 || true)
    if [ -n "$wheel" ]; then
        echo "torch: installing the local CPU wheel $wheel"
        start=$(date +%s)
        "${PIP[@]}" install "$wheel"
        echo "torch: installed in $(( $(date +%s) - start )) s"
    else
        echo "torch: no local CPU wheel for $tag in /opt/wheels; the torch tests will skip"
    fi
fi

if [ -z "${NFM_BIN:-}" ]; then
    swift build --product nfm 2>&1 | tail -n 1
    NFM_BIN="$(swift build --show-bin-path)/nfm"
fi
export NFM_BIN
export NFM_PY_DISTRIBUTED=1   # the distributed-build tests must not skip for want of Dask

status=0
"$VENV/bin/python" -m pytest python/tests -q -rsx -p no:cacheprovider || status=$?
if [ "$status" -eq 5 ]; then
    echo "error: pytest collected no tests" >&2
    exit 1
fi
exit "$status"
