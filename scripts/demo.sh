#!/usr/bin/env bash
# The demo: serve the local model and evaluate it on the built-in defensive corpus.
# Extra arguments go to the `evaluate` example (for example `--out DIR`).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --example evaluate
exec scripts/local-model.sh run sh -c \
  'exec target/debug/examples/evaluate --base-url "$REFUSAL_BIAS_LIVE_URL" --model "$REFUSAL_BIAS_LIVE_MODEL" --concurrency 4 --max-tokens 96 "$@"' \
  evaluate "$@"
