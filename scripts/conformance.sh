#!/usr/bin/env bash
# API conformance (issue #18 item 3), a step of scripts/test.sh: schemathesis (PyPI, pinned, in a
# virtual environment under target/, kept between runs) generates requests from the served
# /api/v1/openapi.json against a demo instance (fresh data directory, loopback, free port) and
# applies every check (`--checks all`: no 5xx, documented status codes, content types and
# headers, response bodies matching their schemas, schema-violating requests refused,
# schema-valid ones accepted, unsupported methods answered 405, requests without credentials
# refused ...). Any failure fails the run (schemathesis exits non-zero).
#
# Bounded: SCHEMATHESIS_MAX_EXAMPLES per operation and phase (default 10); about two minutes.
#
# Two passes, each with a demo account's API token:
#   1. the CISO of 한빛은행 (ciso.hanbit) over the institution side (findings, resources,
#      patching, SaaS, applications, letters), which the regulator's roles are refused;
#   2. the regulator administrator (admin) over every operation.
# The CISO pass runs first: the administrator's pass may disable or re-role other accounts.
#
# Phases: examples, coverage and fuzzing. The stateful phase is left out: the document declares
# no OpenAPI links, and the links schemathesis infers feed one operation's fields into another's
# path (an obligation's null `letter_id` became `/saas/None`), which tests the inference, not
# the API.
#
# Mutating operations (transitions, revocations, DELETE, user administration) are all included:
# the data directory is a throw-away demo, and whether a state change is refused or done, its
# answer must conform. Nothing is excluded: the service itself refuses the changes that would
# end the run's own credentials (an administrator cannot disable their own account or change
# their own role).
#
# positive_data_acceptance also accepts 422 for schema-valid requests: the API validates meaning
# JSON Schema cannot state (a reason that is blank after trimming, a date after another, an
# institution id that must go with a role, a CSV's columns, a SARIF log's content), and answers
# it with 422 and the fields at fault, as documented for each operation.
#
# Usage: scripts/conformance.sh [path to a built haechi binary] [extra schemathesis options]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

version=4.32.5
venv="${CONFORMANCE_VENV:-target/conformance-venv}"
if [ "$("$venv/bin/schemathesis" --version 2>/dev/null)" != "schemathesis, version $version" ]; then
  echo "== installing schemathesis $version from PyPI into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "schemathesis==$version"
fi
st="$(cd "$venv" && pwd)/bin/schemathesis"

bin="${1:-}"
if [ -z "$bin" ]; then
  cargo build -q -p haechi
  bin=target/debug/haechi
fi
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log="$data/server.log"
"$bin" --data-dir "$data/db" demo --port "$port" >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 120); do
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 1
done
# The demo prints its accounts: name, role, [institution], token.
token_of() { awk -v u="$1" '$1 == u { print $NF; exit }' "$log"; }
admin=$(token_of admin)
ciso=$(token_of ciso.hanbit)
case "$admin$ciso" in hct_*hct_*) ;; *) echo "no demo API tokens in $log" >&2; exit 1 ;; esac

cat >"$data/schemathesis.toml" <<'TOML'
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "401", "403", "404", "409", "422", "429"]
TOML

run() {
  local who=$1 token=$2
  shift 2
  echo "== schemathesis $version as $who against http://127.0.0.1:$port/api/v1/openapi.json"
  # From the scratch directory, where its .hypothesis and report directories go with it.
  (cd "$data" && PYTHONPATH="$root/scripts" SCHEMATHESIS_HOOKS=conformance_hooks \
    "$st" --config-file "$data/schemathesis.toml" run "http://127.0.0.1:$port/api/v1/openapi.json" \
      --checks all \
      --phases examples,coverage,fuzzing \
      --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-10}" \
      --header "Authorization: Bearer $token" \
      --seed 18 \
      --request-timeout 60 \
      --no-color \
      "$@")
}

extra=("${@:2}")
failed=0
run ciso.hanbit "$ciso" \
  --include-tag findings --include-tag resources --include-tag patching --include-tag saas \
  --include-tag applications --include-tag letters "${extra[@]}" || failed=1
run admin "$admin" "${extra[@]}" || failed=1
if grep -q "panicked" "$log"; then
  echo "the server panicked during the run:" >&2
  grep -A5 "panicked" "$log" >&2
  exit 1
fi
if [ "$failed" != 0 ]; then
  echo "API conformance: schemathesis reported failures (above)" >&2
  exit 1
fi
echo "API conformance: both passes clean"
