"""The grid credential: an OIDC id token or an X.509 proxy, found and checked before submitting.

Only *where* a credential lives is configured (an environment variable or a file path); its
value is read here, handed to the iDDS/PanDA client libraries through their own environment
variables, and never logged, stored with the study, or put into a work's serialized context.
A missing, unreadable, malformed or expired credential is one :class:`ConfigError` raised
before anything is uploaded or submitted.
"""

from __future__ import annotations

import base64
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from detopt.errors import ConfigError

#: environment variables an OIDC id token is read from, in this order (iDDS, PanDA)
TOKEN_VARIABLES = ("OIDC_AUTH_ID_TOKEN", "IDDS_OIDC_TOKEN", "PANDA_AUTH_ID_TOKEN")
_PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----\s+(.+?)-----END CERTIFICATE-----", re.S)
_MIN_LIFETIME = 60.0  # seconds a credential must still be valid to start submitting


@dataclass(frozen=True)
class Credential:
    """A checked credential: its kind, where it came from (for messages) and the environment
    variables that make the iDDS and PanDA clients use it.

    ``env`` holds the secret for OIDC; it goes into ``os.environ`` of this process only.
    """

    kind: str  # "oidc" | "x509"
    source: str
    expires_at: float | None
    env: dict[str, str] = field(repr=False)

    def __repr__(self) -> str:  # never show the token
        return f"Credential(kind={self.kind!r}, source={self.source!r})"


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def token_expiry(token: str) -> float | None:
    """The ``exp`` claim of a JWT (seconds since the epoch), or None if it has none.

    Raises:
        ValueError: the token is not a JWT (three base64url parts with a JSON payload).
    """
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise ValueError("not a JWT (expected three dot-separated parts)")
    try:
        claims = json.loads(_b64url(parts[1]))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"the JWT payload is not JSON ({type(exc).__name__})") from None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    return float(exp) if isinstance(exp, (int, float)) else None


def proxy_expiry(pem: bytes) -> float | None:
    """The earliest ``notAfter`` of the certificates in an X.509 proxy file.

    Raises:
        ValueError: the file holds no PEM certificate.
    """
    blocks = _PEM_CERT.findall(pem)
    if not blocks:
        raise ValueError("no PEM certificate in it")
    try:
        from cryptography import x509
    except ImportError:  # cryptography comes with the panda extra; without it skip the date check
        return None
    ends = []
    for block in blocks:
        cert = x509.load_der_x509_certificate(base64.b64decode(b"".join(block.split())))
        ends.append(cert.not_valid_after_utc.timestamp())
    return min(ends)


def _check_time(expires_at: float | None, what: str, field_name: str, fix: str) -> None:
    if expires_at is not None and expires_at - time.time() < _MIN_LIFETIME:
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(expires_at))
        raise ConfigError(f"the {what} expired at {when} (or expires within a minute).",
                          field=field_name, fix=fix)


def find_credential(auth: str, *, vo: str | None, token_file: str | None = None,
                    x509_proxy: str | None = None,
                    environ: dict[str, str] | None = None) -> Credential:
    """Locate and check the credential the runner options ask for.

    Args:
        auth: ``"oidc"``, ``"x509"`` or ``"auto"`` (a token if one is configured, else a proxy).
        vo: the virtual organisation (sent with an OIDC token).
        token_file: a file holding the id token (a bare JWT or the JSON a token refresh writes,
            with an ``id_token`` key).
        x509_proxy: a proxy file; default ``$X509_USER_PROXY`` or ``/tmp/x509up_u<uid>``.

    Raises:
        ConfigError: nothing usable was found, or it is malformed or expired.
    """
    env = os.environ if environ is None else environ
    if auth not in ("auto", "oidc", "x509"):
        raise ConfigError(f"unknown auth {auth!r}.", field="runner.auth", fix="use oidc, x509 or auto")
    token_var = next((v for v in TOKEN_VARIABLES if env.get(v)), None)
    if auth == "oidc" or (auth == "auto" and (token_file or token_var)):
        return _oidc(vo, token_file, token_var, env)
    return _x509(x509_proxy, env)


def _oidc(vo: str | None, token_file: str | None, token_var: str | None,
          env: dict[str, str]) -> Credential:
    fix = ("set OIDC_AUTH_ID_TOKEN (or PANDA_AUTH_ID_TOKEN) or runner.token_file to a valid id "
           "token (renew it with your PanDA client)")
    if token_file:
        path = Path(token_file).expanduser()
        try:
            raw = path.read_text().strip()
        except OSError as exc:
            raise ConfigError(f"cannot read the OIDC token file {str(path)!r} "
                              f"({exc.strerror or type(exc).__name__}).",
                              field="runner.token_file", fix=fix) from None
        token, source = raw, f"file {path}"
        if raw.startswith("{"):
            try:
                token = json.loads(raw).get("id_token", "")
            except (ValueError, AttributeError):
                token = ""
    elif token_var:
        token, source = env[token_var], f"${token_var}"
    else:
        raise ConfigError("no OIDC token: none of " + ", ".join(TOKEN_VARIABLES) +
                          " is set and runner.token_file is not given.", field="runner.auth",
                          fix=fix)
    try:
        expires = token_expiry(token)
    except ValueError as exc:
        raise ConfigError(f"the OIDC token from {source} is malformed: {exc}.",
                          field="runner.auth", fix=fix) from None
    _check_time(expires, f"OIDC token from {source}", "runner.auth", fix)
    if not vo:
        raise ConfigError("OIDC authentication needs a virtual organisation.", field="runner.vo",
                          fix="set runner.vo (e.g. EIC)")
    variables = {"IDDS_AUTH_TYPE": "oidc", "OIDC_AUTH_ID_TOKEN": token, "OIDC_AUTH_VO": vo,
                 "IDDS_VO": vo, "PANDA_AUTH": "oidc", "PANDA_AUTH_VO": vo,
                 "PANDA_AUTH_ID_TOKEN": token}
    return Credential("oidc", source, expires, variables)


def _x509(x509_proxy: str | None, env: dict[str, str]) -> Credential:
    fix = "create a proxy (voms-proxy-init) or point runner.x509_proxy / X509_USER_PROXY at one"
    path = Path(x509_proxy or env.get("X509_USER_PROXY") or f"/tmp/x509up_u{os.getuid()}")
    path = path.expanduser()
    field_name = "runner.x509_proxy"
    try:
        pem = path.read_bytes()
    except OSError as exc:
        reason = "it does not exist" if isinstance(exc, FileNotFoundError) else \
            (exc.strerror or type(exc).__name__)
        raise ConfigError(f"no usable X.509 proxy at {str(path)!r} ({reason}) and no OIDC token "
                          f"in {', '.join(TOKEN_VARIABLES)}.", field=field_name, fix=fix) from None
    try:
        expires = proxy_expiry(pem)
    except ValueError as exc:
        raise ConfigError(f"{str(path)!r} is not an X.509 proxy: {exc}.", field=field_name,
                          fix=fix) from None
    _check_time(expires, f"X.509 proxy {str(path)!r}", field_name, fix)
    return Credential("x509", f"file {path}", expires,
                      {"IDDS_AUTH_TYPE": "x509_proxy", "X509_USER_PROXY": str(path)})


__all__ = ["Credential", "TOKEN_VARIABLES", "find_credential", "proxy_expiry", "token_expiry"]
