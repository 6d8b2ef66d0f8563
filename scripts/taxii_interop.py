"""Drives Haechi's TAXII 2.1 server with the OASIS client library (PyPI taxii2-client).

Usage: python taxii_interop.py BASE_URL USER TOKEN EXPECTED_OBJECTS
Walks discovery, the API root and its collections, pages through every object of the readable
collections with as_pages (3 at a time) and checks the count against EXPECTED_OBJECTS (the
latest versions in all readable collections), added_after (exclusive), match[type], the
manifest, an object's versions, and a POST to the writable collection followed by its status.
Prints what it checked; exits non-zero on the first failure.
"""
import sys
from datetime import datetime

from taxii2client.v21 import Server, as_pages

base, user, token, expected = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])


def check(cond, what):
    if not cond:
        print("FAILED:", what)
        sys.exit(1)
    print("ok:", what)


server = Server(base + "/taxii2/", user=user, password=token)
check(server.title == "Haechi TAXII 2.1", "discovery title")
roots = server.api_roots
check(len(roots) == 1, "one API root")
root = server.default
check("application/taxii+json;version=2.1" in root.versions, "API root speaks TAXII 2.1")
collections = root.collections
readable = [c for c in collections if c.can_read]
writable = [c for c in collections if c.can_write]
check(len(readable) > 0, "readable collections listed: %d" % len(readable))
total = 0
for c in readable:
    pages = list(as_pages(c.get_objects, per_request=3))
    objs = [o for p in pages for o in p.get("objects", [])]
    check(all(len(p.get("objects", [])) <= 3 for p in pages), "pages of at most 3 in " + c.title)
    ids = [(o["id"], o.get("modified", o.get("created"))) for o in objs]
    check(len(ids) == len(set(ids)), "no object twice across pages of " + c.title)
    total += len(objs)
    manifest = [m for p in as_pages(c.get_manifest, per_request=4) for m in p.get("objects", [])]
    check(len(manifest) == len(objs), "manifest lists every object of " + c.title)
    if manifest:
        middle = manifest[len(manifest) // 2]["date_added"]
        later = c.get_objects(added_after=middle).get("objects", [])
        later_manifest = [m for m in manifest if m["date_added"] > middle]
        check(len(later) == len(later_manifest), "added_after is exclusive in " + c.title)
    reports = c.get_objects(type="report").get("objects", [])
    check(all(o["type"] == "report" for o in reports), "match[type] in " + c.title)
    if reports:
        versions = c.object_versions(reports[0]["id"])["versions"]
        check(len(versions) >= 1, "versions of a report")
        one = c.get_object(reports[0]["id"])["objects"]
        check(one[0]["id"] == reports[0]["id"], "object by id")
check(total == expected, "all %d objects paged through (expected %d)" % (total, expected))
check(len(writable) == 1, "one writable collection")
now = datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%S.000Z")
envelope = {"objects": [
    {"type": "indicator", "spec_version": "2.1", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
     "created": now, "modified": now, "name": "contributed", "pattern": "[ipv4-addr:value = '198.51.100.9']",
     "pattern_type": "stix", "valid_from": now},
    {"type": "indicator", "id": "not-an-id"},
]}
status = writable[0].add_objects(envelope)
check(status.status == "complete", "POST answered with a complete status")
check(status.success_count == 1 and status.failure_count == 1, "one success, one failure")
status.refresh()
check(status.total_count == 2, "status can be fetched again")
print("all TAXII checks passed")
