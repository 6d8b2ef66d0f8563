#!/usr/bin/env bash
# Crash-consistency trials (issue #18 item 2): every scenario of crates/haechi/tests/crash.rs with
# TRIALS SIGKILLs each (default 100) on SQLite and PostgreSQL, then one summary line per scenario
# and backend: trials, kills (process still running when killed), outcomes (committed, rolled
# back, partial batches of whole requests), abandoned imports failed on restart, failures.
#
#   scripts/crash.sh [TRIALS]            e.g. scripts/crash.sh 100
#   HAECHI_CRASH_SEED=7 scripts/crash.sh  other kill points (every trial prints its seed)
#   HAECHI_TEST_POSTGRES=skip scripts/crash.sh   SQLite only
#
# PostgreSQL: HAECHI_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres).
set -u
cd "$(dirname "$0")/.."
trials="${1:-100}"
export HAECHI_CRASH_TRIALS="$trials"
log_dir="$(mktemp -d -t haechi-crash.XXXXXX)"
cargo test -q -p haechi --test crash --no-run || exit 1
status=0
for scenario in crash_findings_import crash_server_during_findings_upload crash_cohort_confirmation crash_letter_issue crash_migrate_db; do
    log="$log_dir/$scenario.log"
    started=$(date +%s)
    if cargo test -q -p haechi --test crash "$scenario" -- --exact --nocapture --test-threads=1 >"$log" 2>&1; then
        result=ok
    else
        result=FAILED
        status=1
    fi
    echo "== $scenario: $result ($(( $(date +%s) - started )) s, log $log)"
    grep '^CRASH ' "$log" | sed 's/^CRASH /   /'
    if [ "$result" = FAILED ]; then
        # The trial that failed names its seed and kill point.
        grep -E "panicked|trial [0-9]+" "$log" | head -5 | sed 's/^/   failure: /'
    fi
done
exit $status
