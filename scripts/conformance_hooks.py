"""Schemathesis hooks for Haechi's API conformance run (scripts/conformance.sh).

Schemathesis has no serializer for a policy's media type, application/toml, nor for gzip: the
generated body (a string, or bytes for a binary schema) goes on the wire as it is.
"""

import schemathesis


@schemathesis.serializer("application/toml", "application/gzip")
def as_text_or_bytes(ctx, value):
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    # Negative cases generate non-strings; send their text so the server sees a malformed body.
    return str(value).encode("utf-8")
