#!/usr/bin/env bash
# API conformance (issue #18): schemathesis (PyPI, in a virtual environment under target/, kept
# between runs) generates requests from /api/v1/openapi.json against a demo instance on a free
# local port and applies every check (no 5xx, documented status codes and content types,
# response bodies that match their schemas). Bounded: SCHEMATHESIS_MAX_EXAMPLES per operation
# (default 10). Usage: scripts/conformance.sh [path to a built haechi binary]
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${CONFORMANCE_VENV:-target/conformance-venv}"
if ! "$venv/bin/schemathesis" --version >/dev/null 2>&1; then
  echo "== installing schemathesis from PyPI into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check 'schemathesis==4.*'
fi

bin="${1:-}"
if [ -z "$bin" ]; then
  cargo build -q -p haechi
  bin=target/debug/haechi
fi
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log="$data/server.log"
"$bin" --data-dir "$data" demo --port "$port" >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 120); do
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 1
done
token=$("$bin" --data-dir "$data" admin create-user --username conformance.officer \
  --role regulator_officer | sed -n 's/.*API token (shown once): //p' | tail -n 1)
[ -n "$token" ] || { echo "no API token for the conformance run" >&2; exit 1; }

echo "== schemathesis against http://127.0.0.1:$port/api/v1/openapi.json"
# From the scratch directory, where its .hypothesis and .schemathesis caches go with it.
st="$(cd "$venv" && pwd)/bin/schemathesis"
cd "$data"
"$st" run "http://127.0.0.1:$port/api/v1/openapi.json" \
  --checks all \
  --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-10}" \
  --header "Authorization: Bearer $token" \
  --seed 18 \
  --no-color \
  "${@:2}"
