#!/usr/bin/env bash
# Runs two real, independent SARIF producers from PyPI — Bandit and Semgrep (with the local rules
# beside the fixture, no registry download) — over the fixture source
# crates/service/tests/fixtures/producers/src, and writes their SARIF to target/producers/.
# The service test `producers::*` imports both (issue #13: CWE extraction, priorities, cross-tool
# clustering precision). Called by scripts/test.sh; the virtual environment is kept in
# target/producers-venv between runs.
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/producers
venv=target/producers-venv
fixture=crates/service/tests/fixtures/producers
if [ ! -x "$venv/bin/semgrep" ] || [ ! -x "$venv/bin/bandit" ]; then
  echo "== installing Bandit and Semgrep from PyPI into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check 'bandit[sarif]==1.9.4' 'semgrep==1.187.0'
fi
rm -rf "$out"
mkdir -p "$out/work"
# A copy outside the repository: Semgrep skips files under tests/ and files git does not track.
cp -r "$fixture/src" "$out/work/src"
cp "$fixture/semgrep-rules.yml" "$out/work/rules.yml"
(
  cd "$out/work"
  ../../producers-venv/bin/bandit -q -f sarif -o ../bandit.sarif -r src || [ -s ../bandit.sarif ]
  SEMGREP_SEND_METRICS=off ../../producers-venv/bin/semgrep scan --metrics=off --disable-version-check \
    --no-git-ignore --quiet --config rules.yml --sarif -o ../semgrep.sarif src
)
echo "== producers: $(ls "$out"/*.sarif | tr '\n' ' ')"
