"""TLS for the https:// and tls:// probes: the two contexts, and the peer certificate's validity.

Verification uses the system's trust store; OpenSSL's ``SSL_CERT_FILE`` and
``SSL_CERT_DIR``, set in the checker's environment, replace it (a private CA).
"""

from __future__ import annotations

import ssl
from functools import lru_cache

from cryptography import x509

Validity = tuple[float, float]  # (not before, not after), epoch seconds


@lru_cache(maxsize=2)
def tls_context(verify: bool) -> ssl.SSLContext:
    """``verify``: chain and host name checked; else any certificate is taken (expiry is ours)."""
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def peer_validity(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> Validity | None:
    """The validity of the certificate the peer showed, None without one."""
    if ssl_object is None:
        return None
    cert = ssl_object.getpeercert()
    if cert:  # verified: OpenSSL has decoded it already
        return _seconds(str(cert["notBefore"])), _seconds(str(cert["notAfter"]))
    der = ssl_object.getpeercert(binary_form=True)  # not verified: decode it ourselves
    if not der:
        return None
    parsed = x509.load_der_x509_certificate(der)
    return parsed.not_valid_before_utc.timestamp(), parsed.not_valid_after_utc.timestamp()


@lru_cache(maxsize=4096)
def _seconds(text: str) -> float:
    """``"Jun  1 12:00:00 2027 GMT"`` -> epoch seconds (cached: strptime is slow)."""
    return float(ssl.cert_time_to_seconds(text))
