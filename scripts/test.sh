#!/usr/bin/env bash
# The whole test suite, including the tests against a live local model server,
# which this script sets up, serves on loopback and stops.
set -euo pipefail
cd "$(dirname "$0")/.."
export REFUSAL_BIAS_REQUIRE_LIVE=1
exec scripts/local-model.sh run cargo test --all-features "$@"
