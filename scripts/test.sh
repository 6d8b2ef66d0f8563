#!/usr/bin/env bash
# The one test command (README, CI): formatting, lints, then the whole test suite on SQLite and on
# PostgreSQL. Works on a fresh Debian machine: when no PostgreSQL answers at
# HAECHI_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres), it installs
# Debian's postgresql package if needed and starts a private throw-away cluster (trust auth,
# port 55432) for the tests.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_URL="${HAECHI_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

pg_answers() {
  command -v psql >/dev/null 2>&1 && psql "$1" -Atqc 'SELECT 1' >/dev/null 2>&1
}

start_private_postgres() {
  local bindir
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
    echo "== installing PostgreSQL from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq postgresql postgresql-client >/dev/null
    bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi
  local dir=/tmp/haechi-test-pg port=55432
  local as_pg=()
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    as_pg=(runuser -u postgres --)
  fi
  if ! pg_answers "postgres://postgres@127.0.0.1:$port/postgres"; then
    echo "== starting a private PostgreSQL cluster in $dir on port $port"
    rm -rf "$dir"
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    "${as_pg[@]}" "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
    "${as_pg[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" start >/dev/null
  fi
  PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
}

if ! pg_answers "$PG_URL"; then
  start_private_postgres
fi
pg_answers "$PG_URL" || { echo "PostgreSQL does not answer at $PG_URL" >&2; exit 1; }
echo "== PostgreSQL for the tests: $PG_URL"
export HAECHI_TEST_POSTGRES_URL="$PG_URL"

# The browser tests (crates/web/tests/browser.rs) drive Debian's headless Chromium through its
# chromedriver; they fail when either is missing, so install both here (no browser download),
# with a Korean font (Nanum) so that the screenshots show Hangul rather than empty boxes.
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ] || [ ! -d /usr/share/fonts/truetype/nanum ]; then
  echo "== installing Chromium, chromedriver and a Korean font from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium chromium-driver fonts-nanum >/dev/null
fi

# Two real, independent SARIF producers (Bandit and Semgrep from PyPI, in a virtual environment)
# run over a fixture source; the service tests import their output (issue #13).
bash scripts/producers.sh
export HAECHI_TEST_PRODUCERS_DIR="$PWD/target/producers"

# stix2-validator and taxii2-client (PyPI, in a virtual environment): the web tests validate every
# bulletin's STIX bundle in strict mode and drive the TAXII server with the client (issue #16).
bash scripts/sharing.sh
export HAECHI_TEST_SHARING_VENV="$PWD/target/sharing-venv"

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test (SQLite and PostgreSQL)"
cargo test --workspace --locked --no-fail-fast

# API conformance (issue #18): schemathesis with every check against a demo server built from
# this tree; any check failure fails the suite. Bounded (10 examples per operation and phase,
# about two minutes).
echo "== API conformance (schemathesis)"
cargo build -q -p haechi --locked
bash scripts/conformance.sh target/debug/haechi
