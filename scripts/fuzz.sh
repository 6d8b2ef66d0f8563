#!/usr/bin/env bash
# Runs one cargo-fuzz target for a given time: scripts/fuzz.sh TARGET SECONDS [extra libFuzzer args]
#   scripts/fuzz.sh list            prints the targets
#   scripts/fuzz.sh all SECONDS     runs every target in turn
#   FUZZ_NO_BUILD=1 scripts/fuzz.sh …  runs the binaries `cargo +nightly fuzz build` left
# The corpus (fuzz/corpus/TARGET) is seeded from the test fixtures the first time; crashes land in
# fuzz/artifacts/TARGET and are reproduced with `cargo +nightly fuzz run TARGET <file>`.
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/fuzz"
targets=(sarif epss kev cve cyclonedx registry_csv resources_csv policy letter_verify csv_cell stix)

seed() {
    local t="$1" dir="$root/fuzz/corpus/$1"
    [ -d "$dir" ] && return 0
    mkdir -p "$dir"
    local fx="$root/crates"
    case "$t" in
        sarif) cp "$fx"/formats/tests/fixtures/sarif/*.sarif* "$fx"/formats/tests/fixtures/sarif/bad/* "$dir"/ 2>/dev/null || true ;;
        epss) cp "$fx"/formats/tests/fixtures/feeds/epss* "$fx"/formats/tests/fixtures/feeds/bad/epss* "$dir"/ 2>/dev/null || true ;;
        kev) cp "$fx"/formats/tests/fixtures/feeds/kev* "$fx"/formats/tests/fixtures/feeds/bad/kev* "$dir"/ 2>/dev/null || true ;;
        cve) cp "$fx"/formats/tests/fixtures/feeds/cve* "$fx"/formats/tests/fixtures/feeds/bad/cve* "$dir"/ 2>/dev/null || true ;;
        cyclonedx) cp -r "$fx"/formats/tests/fixtures/cyclonedx/*.json "$fx"/formats/tests/fixtures/cyclonedx/bad/* "$dir"/ 2>/dev/null || true ;;
        registry_csv) cp "$fx"/haechi/tests/fixtures/registry*.csv "$fx"/web/tests/fixtures/registry*.csv "$dir"/ ;;
        resources_csv) printf 'name,kind,business_function,data_kinds,network_zone,processes_electronic_transactions,dr_tier,owner\ncore,server,payment,personal_credit;logs_backups,internal,yes,1,ops\nweb,saas,portal,public,external_saas,no,,\n' > "$dir/resources.csv" ;;
        policy) cp "$root"/policy/default.toml "$fx"/policy/tests/fixtures/*.toml "$fx"/policy/tests/fixtures/broken/* "$dir"/ 2>/dev/null || true ;;
        letter_verify) cp "$fx"/letter/tests/fixtures/signed/*.json "$dir"/ ;;
        csv_cell) printf '=1+1' > "$dir/formula"; printf "'=x" > "$dir/quoted"; printf 'plain' > "$dir/plain" ;;
        stix) printf 'ipv4\n10.0.0.1' > "$dir/ipv4"; printf 'TLP:AMBER+STRICT' > "$dir/tlp" ;;
        *) echo "unknown target $t" >&2; exit 2 ;;
    esac
}

run() {
    local t="$1" secs="$2"
    shift 2
    seed "$t"
    echo "== $t for ${secs}s"
    # -rss_limit_mb: an input that makes a parser hold more than this is a finding too.
    local flags=(-max_total_time="$secs" -rss_limit_mb=2048 -max_len=1048576 -timeout=10
        -artifact_prefix="artifacts/$t/")
    mkdir -p "artifacts/$t"
    if [ -n "${FUZZ_NO_BUILD:-}" ]; then
        # The binaries as last built (`cargo +nightly fuzz build`): no rebuild per target while
        # the workspace changes under it.
        "target/x86_64-unknown-linux-gnu/release/$t" "corpus/$t" "${flags[@]}" "$@"
    else
        cargo +nightly fuzz run "$t" "corpus/$t" -- "${flags[@]}" "$@"
    fi
}

case "${1:-}" in
    list) printf '%s\n' "${targets[@]}" ;;
    all) secs="${2:?seconds}"; shift 2; for t in "${targets[@]}"; do run "$t" "$secs" "$@"; done ;;
    "") echo "usage: $0 TARGET SECONDS | all SECONDS | list" >&2; exit 2 ;;
    *) run "$1" "${2:?seconds}" "${@:3}" ;;
esac
