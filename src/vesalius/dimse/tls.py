"""TLS for DICOM associations (PS3.15 B.1, the BCP 195 non-downgrading profile).

TLS 1.2 or newer only, forward-secret AEAD cipher suites, no compression: a
peer that cannot meet that is refused rather than talked down to. Client
certificates are required when a CA bundle is configured on the listener;
a client verifies the server's certificate against the CA it is given.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass

from vesalius.settings import ConfigError, Peer, Settings, TlsSettings

CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:!aNULL:!eNULL:!MD5:!DSS"


class TlsError(ConfigError):
    """A certificate, key or CA bundle that is missing or cannot be loaded."""


@dataclass(frozen=True, slots=True)
class TlsClient:
    """How we call a peer over TLS: the CA its certificate must chain to, and our own
    certificate and key for a peer that asks for one (paths; empty: none)."""

    cert: str = ""
    key: str = ""
    ca: str = ""

    def context(self) -> ssl.SSLContext:
        """A fresh client context for one association."""
        return client_context(self.cert, self.key, self.ca)


def for_peer(settings: Settings, peer: Peer) -> TlsClient | None:
    """How this node calls a ``[[peers]]`` entry: over TLS with its own ``[dicom.tls]``
    certificate, key and CA when the entry says ``tls = true``; else None (plain TCP)."""
    if not peer.tls:
        return None
    own = settings.dicom.tls
    return TlsClient(own.cert, own.key, own.ca)


def _profile(purpose: ssl.Purpose) -> ssl.SSLContext:
    context = ssl.SSLContext(
        ssl.PROTOCOL_TLS_SERVER if purpose is ssl.Purpose.CLIENT_AUTH else ssl.PROTOCOL_TLS_CLIENT
    )
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(CIPHERS)
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    return context


def _load(context: ssl.SSLContext, cert: str, key: str, ca: str) -> None:
    try:
        if cert:
            context.load_cert_chain(cert, key or None)
        if ca:
            context.load_verify_locations(cafile=ca)
    except (OSError, ssl.SSLError) as exc:
        raise TlsError(f"TLS set-up failed ({cert or ca}): {exc}") from None


def server_context(settings: TlsSettings) -> ssl.SSLContext:
    """The listener's context: our certificate, and client certificates when ``ca`` is set."""
    if not settings.cert or not settings.key:
        raise TlsError("[dicom.tls] needs cert and key to serve TLS")
    context = _profile(ssl.Purpose.CLIENT_AUTH)
    _load(context, settings.cert, settings.key, settings.ca)
    context.verify_mode = ssl.CERT_REQUIRED if settings.ca else ssl.CERT_NONE
    return context


def client_context(cert: str = "", key: str = "", ca: str = "") -> ssl.SSLContext:
    """A calling context: the server is verified against ``ca`` (when given), and we
    present ``cert``/``key`` (when given) to a server that asks for a certificate.

    DICOM peers are usually reached by address rather than by the name in their
    certificate, so the certificate's chain is checked, not its host name.
    """
    context = _profile(ssl.Purpose.SERVER_AUTH)
    context.check_hostname = False
    _load(context, cert, key, ca)
    context.verify_mode = ssl.CERT_REQUIRED if ca else ssl.CERT_NONE
    return context
