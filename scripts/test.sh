#!/usr/bin/env bash
# Runs the whole test suite: the Swift tests, then the Python package's tests (python/tests) against a
# release build of nfm. Installs system dependencies first when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift build --build-tests
swift test --skip-build
NFM_BIN=$(bash scripts/build-release.sh) bash scripts/test-python.sh
