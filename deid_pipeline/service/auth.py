"""Authentication of every route but the health probes: hashed API keys and OIDC tokens.

Both arrive as ``Authorization: Bearer <credential>``.

* **API keys** are stored only as sha256 hashes in ``DEID_API_KEYS_FILE``, one client a line:
  ``name:sha256hex`` (every scope) or ``name:sha256hex:scope,scope`` (those scopes only); blank
  lines and ``#`` comments are skipped. A presented key is hashed and compared with every stored
  hash in constant time (:func:`hmac.compare_digest`, no early exit). Keys must be random
  (``secrets.token_urlsafe(32)``): an unsalted hash is only as strong as the key. The file is
  read again when it changes (key rotation through a mounted secret), checked at most every
  few seconds.
* **OAuth2/OIDC bearer tokens** (JWT, client-credentials flow) are checked against a JWKS
  (``DEID_JWKS_URL``, or ``DEID_JWKS_FILE`` in an air-gapped cluster): signature with an
  asymmetric algorithm, ``iss``, ``aud``, ``exp`` required. Scopes come from ``scope`` (space
  separated) or ``scp``; the client's name from ``azp``, ``client_id`` or ``sub``.

401 means no valid credential; 403 a known client without the route's scope. The client's name
(never the key or token) goes to the access log. Messages name the failed check, never the
credential.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deid_pipeline.service.settings import ServiceSettings

_NAME = re.compile(r"[A-Za-z0-9._@-]{1,64}")
_HEX = re.compile(r"[0-9a-f]{64}")
_SCOPE = re.compile(r"[A-Za-z0-9._:/-]{1,64}")
RELOAD_CHECK_S = 5.0


class AuthError(Exception):
    """401 (no valid credential) or 403 (a known client without the needed scope)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def headers(self) -> dict[str, str]:
        if self.status == 401:
            return {"WWW-Authenticate": f'Bearer error="{self.code}"'}
        return {}


class AuthConfigError(ValueError):
    """The keys file or JWKS configuration cannot be used (message names lines, not keys)."""


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated client: its name, its scopes (None: every scope) and how it came."""

    name: str
    scopes: frozenset[str] | None
    kind: str

    def allows(self, scope: str) -> bool:
        return self.scopes is None or scope in self.scopes


def hash_key(key: str) -> str:
    """The sha256 hex digest stored for ``key`` (what ``printf %s KEY | sha256sum`` prints)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class _KeyEntry:
    name: str
    digest: str
    scopes: frozenset[str] | None


def parse_keys_file(text: str) -> list[_KeyEntry]:
    """Entries of a keys file; :class:`AuthConfigError` names the first bad line by number."""
    entries: list[_KeyEntry] = []
    names: set[str] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(":")
        if len(parts) not in (2, 3):
            raise AuthConfigError(
                f"keys file line {number}: expected name:sha256hex or name:sha256hex:scopes"
            )
        name, digest = parts[0].strip(), parts[1].strip().lower()
        if not _NAME.fullmatch(name):
            raise AuthConfigError(
                f"keys file line {number}: the client name is not [A-Za-z0-9._@-]"
            )
        if not _HEX.fullmatch(digest):
            raise AuthConfigError(
                f"keys file line {number}: the hash is not 64 hex digits (store sha256 of the "
                "key, never the key)"
            )
        if name in names:
            raise AuthConfigError(f"keys file line {number}: client {name} is listed twice")
        names.add(name)
        scopes: frozenset[str] | None = None
        if len(parts) == 3:
            listed = [scope.strip() for scope in parts[2].replace(" ", ",").split(",")]
            scopes = frozenset(scope for scope in listed if scope)
            if not all(_SCOPE.fullmatch(scope) for scope in scopes):
                raise AuthConfigError(f"keys file line {number}: a scope has odd characters")
        entries.append(_KeyEntry(name, digest, scopes))
    return entries


class ApiKeyStore:
    """Hashed API keys from a file, re-read when the file changes."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._entries: list[_KeyEntry] = []
        self._stamp: tuple[int, int] | None = None
        self._checked_at = 0.0
        self._load()

    def _file_stamp(self) -> tuple[int, int]:
        stat = self.path.stat()
        return (stat.st_mtime_ns, stat.st_size)

    def _load(self) -> None:
        try:
            stamp = self._file_stamp()
            text = self.path.read_text(encoding="utf-8")
        except OSError as error:
            raise AuthConfigError(
                f"cannot read the API keys file (DEID_API_KEYS_FILE): {type(error).__name__}"
            ) from None
        self._entries = parse_keys_file(text)
        self._stamp = stamp

    def _maybe_reload(self) -> None:
        now = time.monotonic()
        if now - self._checked_at < RELOAD_CHECK_S:
            return
        with self._lock:
            self._checked_at = now
            try:
                if self._file_stamp() != self._stamp:
                    self._load()
            except (OSError, AuthConfigError):
                # Keep serving the last good keys; the operator sees the file fail at restart.
                pass

    @property
    def clients(self) -> list[str]:
        return [entry.name for entry in self._entries]

    def lookup(self, key: str) -> Principal | None:
        """The client whose stored hash matches ``key``'s, else None (constant time)."""
        self._maybe_reload()
        presented = hash_key(key).encode("ascii")
        found: _KeyEntry | None = None
        for entry in self._entries:
            # Every entry is compared: the time does not tell which one (if any) matched.
            if hmac.compare_digest(presented, entry.digest.encode("ascii")):
                found = entry
        if found is None:
            return None
        return Principal(found.name, found.scopes, "api_key")


class JwtVerifier:
    """OIDC/OAuth2 access tokens checked against a JWKS (URL or file)."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        algorithms: list[str],
        jwks_url: str | None = None,
        jwks_file: str | None = None,
        leeway_s: int = 30,
    ) -> None:
        import jwt

        self.issuer = issuer
        self.audience = audience
        self.algorithms = algorithms
        self.leeway_s = leeway_s
        self._client: Any = None
        self._keys: dict[str, Any] = {}
        if jwks_url:
            self._client = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=300, timeout=10)
        elif jwks_file:
            try:
                jwk_set = jwt.PyJWKSet.from_json(Path(jwks_file).read_text(encoding="utf-8"))
            except (OSError, jwt.PyJWKSetError, ValueError) as error:
                raise AuthConfigError(
                    f"cannot read the JWKS file (DEID_JWKS_FILE): {type(error).__name__}"
                ) from None
            self._keys = {key.key_id: key for key in jwk_set.keys}
        else:
            raise AuthConfigError("a JWKS URL or file is needed to check tokens")

    def _signing_key(self, token: str) -> Any:
        import jwt

        if self._client is not None:
            try:
                return self._client.get_signing_key_from_jwt(token).key
            except jwt.PyJWKClientConnectionError:
                raise AuthError(
                    503, "jwks_unavailable", "the token issuer's keys could not be fetched"
                ) from None
            except jwt.PyJWKClientError:
                raise AuthError(
                    401, "invalid_token", "no key of the JWKS signed the token"
                ) from None
        kid = jwt.get_unverified_header(token).get("kid")
        if kid in self._keys:
            return self._keys[kid].key
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values())).key
        raise AuthError(401, "invalid_token", "no key of the JWKS signed the token")

    def verify(self, token: str) -> Principal:
        """The client of a valid token; :class:`AuthError` names the check that failed."""
        import jwt

        try:
            key = self._signing_key(token)
            claims = jwt.decode(
                token,
                key,
                algorithms=self.algorithms,
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_s,
                options={"require": ["exp", "iss", "aud"]},
            )
        except AuthError:
            raise
        except jwt.ExpiredSignatureError:
            raise AuthError(401, "invalid_token", "the token has expired") from None
        except jwt.InvalidAudienceError:
            raise AuthError(401, "invalid_token", "the token's audience is not accepted") from None
        except jwt.InvalidIssuerError:
            raise AuthError(401, "invalid_token", "the token's issuer is not accepted") from None
        except jwt.MissingRequiredClaimError as error:
            raise AuthError(
                401, "invalid_token", f"the token lacks the {error.claim} claim"
            ) from None
        except jwt.InvalidAlgorithmError:
            raise AuthError(401, "invalid_token", "the token's algorithm is not accepted") from None
        except jwt.PyJWTError as error:
            raise AuthError(
                401, "invalid_token", f"invalid token ({type(error).__name__})"
            ) from None
        raw_scopes = claims.get("scope", claims.get("scp", ""))
        if isinstance(raw_scopes, str):
            scopes = frozenset(raw_scopes.split())
        elif isinstance(raw_scopes, list):
            scopes = frozenset(str(scope) for scope in raw_scopes)
        else:
            scopes = frozenset()
        name = str(claims.get("azp") or claims.get("client_id") or claims.get("sub") or "unnamed")
        if not _NAME.fullmatch(name):
            name = "client-" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:12]
        return Principal(name, scopes, "jwt")


def _looks_like_jwt(credential: str) -> bool:
    return credential.count(".") == 2 and credential.startswith("eyJ")


class Authenticator:
    """Checks the ``Authorization`` header against the configured keys and issuer."""

    def __init__(self, keys: ApiKeyStore | None, tokens: JwtVerifier | None) -> None:
        if keys is None and tokens is None:
            raise AuthConfigError(
                "no authentication configured: set DEID_API_KEYS_FILE (hashed API keys) and/or "
                "DEID_JWKS_URL or DEID_JWKS_FILE with DEID_JWT_ISSUER and DEID_JWT_AUDIENCE"
            )
        self.keys = keys
        self.tokens = tokens

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> Authenticator:
        """Keys file and JWKS as configured; :class:`AuthConfigError` when neither is."""
        keys = ApiKeyStore(settings.api_keys_file) if settings.api_keys_file else None
        tokens = None
        if settings.jwt_enabled:
            tokens = JwtVerifier(
                issuer=str(settings.jwt_issuer),
                audience=str(settings.jwt_audience),
                algorithms=settings.algorithms(),
                jwks_url=settings.jwks_url,
                jwks_file=settings.jwks_file,
                leeway_s=settings.jwt_leeway_s,
            )
        return cls(keys, tokens)

    def needs_thread(self, authorization: str | None) -> bool:
        """Whether checking this header may block (a JWKS fetch)."""
        credential = _credential(authorization)
        return bool(credential and self.tokens is not None and _looks_like_jwt(credential))

    def authenticate(self, authorization: str | None, scope: str) -> Principal:
        """The client allowed ``scope``; :class:`AuthError` 401 or 403 otherwise."""
        credential = _credential(authorization)
        if credential is None:
            raise AuthError(
                401, "invalid_request", "credentials needed: Authorization: Bearer <key or token>"
            )
        principal: Principal | None = None
        if self.tokens is not None and _looks_like_jwt(credential):
            principal = self.tokens.verify(credential)
        elif self.keys is not None:
            principal = self.keys.lookup(credential)
        if principal is None:
            raise AuthError(401, "invalid_token", "the API key or token is not valid")
        if not principal.allows(scope):
            raise AuthError(403, "insufficient_scope", f"the client lacks the scope {scope!r}")
        return principal


def _credential(authorization: str | None) -> str | None:
    if not authorization:
        return None
    kind, _, value = authorization.strip().partition(" ")
    if kind.lower() != "bearer" or not value.strip():
        return None
    return value.strip()
