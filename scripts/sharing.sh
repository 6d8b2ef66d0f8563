#!/usr/bin/env bash
# Installs the independent STIX/TAXII checkers of issue #16 from PyPI into a virtual environment
# (target/sharing-venv, kept between runs): stix2-validator (its 3.3.2 wheel carries the STIX 2.1
# schemas; 3.3.1's does not) and taxii2-client. The web tests validate every bulletin's bundle in
# strict mode and drive the TAXII server with the client through this Python.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/sharing-venv
if ! "$venv/bin/python" -c 'import stix2validator, taxii2client' >/dev/null 2>&1; then
  echo "== installing stix2-validator and taxii2-client from PyPI into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check 'stix2-validator==3.3.2' 'taxii2-client==2.3.0'
fi
