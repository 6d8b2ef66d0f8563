"""Validates STIX 2.1 bundle files with stix2-validator in strict mode (every SHOULD an error).

Usage: python stix_validate.py BUNDLE.json...   (exit status 1 and the validator's report when
any object is invalid). References must resolve inside each bundle (--enforce-refs).
"""
import sys

from stix2validator import ValidationOptions, print_results, validate_file

options = ValidationOptions(version="2.1", strict=True, enforce_refs=True)
bad = False
for path in sys.argv[1:]:
    result = validate_file(path, options)
    if not result.is_valid:
        bad = True
        print_results(result)
sys.exit(1 if bad else 0)
