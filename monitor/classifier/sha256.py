"""SHA-256 without OpenSSL.

``import hashlib`` loads OpenSSL's libcrypto (+3.7 MiB of RSS measured) for the two short
digests a run makes (the packaged model's check, the prepared graph's cache key). CPython's own
implementation gives the same digests; hashlib is the fallback where it is missing.
"""

from __future__ import annotations

__all__ = ["sha256"]


def sha256(data: bytes = b""):
    """A SHA-256 hash object (``update``, ``hexdigest``) fed ``data``."""
    try:
        from _sha256 import sha256 as make  # CPython <= 3.11
    except ImportError:
        try:
            from _sha2 import sha256 as make  # CPython >= 3.12
        except ImportError:
            from hashlib import sha256 as make
    return make(data)
