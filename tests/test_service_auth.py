"""Authentication of the HTTP service over real HTTP: hashed API keys and OIDC tokens checked
against a JWKS served on 127.0.0.1; 401 without a valid credential, 403 without the scope, and
the client's name (never its key or token) in the access log."""

from __future__ import annotations

import contextlib
import http.server
import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from deid_pipeline.replace import SecretKey
from deid_pipeline.service.app import create_app
from deid_pipeline.service.auth import (
    AuthConfigError,
    Authenticator,
    JwtVerifier,
    hash_key,
    parse_keys_file,
)
from deid_pipeline.service.local import build_runner, serve_in_thread, wait_ready
from deid_pipeline.service.settings import ServiceSettings

SECRET = "test-secret-key-with-at-least-32-characters!"
ETL_KEY = "etl-key-7fQ2mVx9Lp3sTb6Wc1Nd"
PROM_KEY = "prom-key-4kR8yHn2Jq5vXe0Ua7Mz"
ISSUER = "https://idp.test.invalid/realms/hospital"
AUDIENCE = "deid-service"
RECORDS = {"records": [{"note_id": "a", "text": "Controle over 6 weken."}]}


def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


SIGNING_KEY = _rsa_key()
OTHER_KEY = _rsa_key()


def _jwks(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {"keys": [{**jwk, "kid": kid, "use": "sig", "alg": "RS256"}]}


def _token(
    key: rsa.RSAPrivateKey = SIGNING_KEY,
    kid: str = "k1",
    **claims: Any,
) -> str:
    now = int(time.time())
    payload = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "azp": "ehr-integration",
        "sub": "service-account-ehr",
        "scope": "openid deidentify",
        "iat": now,
        "exp": now + 300,
        **claims,
    }
    payload = {name: value for name, value in payload.items() if value is not None}
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": kid})


@contextlib.contextmanager
def _jwks_server(document: dict[str, Any]) -> Iterator[str]:
    body = json.dumps(document).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/certs"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def url(tiny_bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server with two API-key clients (etl: every scope; prom: metrics only) and tokens."""
    keys = tmp_path_factory.mktemp("auth") / "api_keys"
    keys.write_text(
        f"etl:{hash_key(ETL_KEY)}\nprom:{hash_key(PROM_KEY)}:metrics\n", encoding="utf-8"
    )
    with _jwks_server(_jwks(SIGNING_KEY, "k1")) as jwks_url:
        settings = ServiceSettings(
            api_keys_file=str(keys),
            jwks_url=jwks_url,
            jwt_issuer=ISSUER,
            jwt_audience=AUDIENCE,
        )
        runner = build_runner(tiny_bundle_dir, settings, SecretKey(SECRET.encode()))
        with serve_in_thread(create_app(runner, Authenticator.from_settings(settings))) as base:
            wait_ready(base)
            yield base


def _post(url: str, authorization: str | None) -> httpx.Response:
    headers = {"Authorization": authorization} if authorization is not None else {}
    return httpx.post(f"{url}/v1/deidentify", json=RECORDS, headers=headers, timeout=60)


def test_keys_are_stored_hashed_and_compared_by_hash(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    none = _post(url, None)
    assert none.status_code == 401
    assert none.headers["www-authenticate"].startswith("Bearer")
    assert _post(url, f"Basic {ETL_KEY}").status_code == 401
    wrong = _post(url, "Bearer etl-key-7fQ2mVx9Lp3sTb6Wc1Nx")
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_token"
    assert _post(url, f"Bearer {hash_key(ETL_KEY)}").status_code == 401  # the hash is no key
    ok = _post(url, f"Bearer {ETL_KEY}")
    assert ok.status_code == 200 and ok.json()["results"][0]["note_id"] == "a"
    # A known client without the scope: 403 on the route, 200 where it has the scope.
    forbidden = _post(url, f"Bearer {PROM_KEY}")
    assert forbidden.status_code == 403 and forbidden.json()["error"] == "insufficient_scope"
    metrics = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {PROM_KEY}"})
    assert metrics.status_code == 200
    assert 'deid_auth_failures_total{status="403"}' in metrics.text

    log = "\n".join(record.getMessage() for record in caplog.records)
    assert "client=etl " in log and "client=prom " in log
    for secret in (ETL_KEY, PROM_KEY, hash_key(ETL_KEY), "7fQ2mVx9"):
        assert secret not in log
        for response in (none, wrong, forbidden):
            assert secret not in response.text


def test_tokens_are_checked_against_the_jwks(url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    good = _token()
    assert _post(url, f"Bearer {good}").status_code == 200

    def refused(token: str) -> httpx.Response:
        response = _post(url, f"Bearer {token}")
        assert response.status_code == 401, response.text
        return response

    now = int(time.time())
    assert "expired" in refused(_token(iat=now - 900, exp=now - 600)).json()["message"]
    assert "audience" in refused(_token(aud="another-service")).json()["message"]
    assert "issuer" in refused(_token(iss="https://evil.test.invalid")).json()["message"]
    assert "exp" in refused(_token(exp=None)).json()["message"]
    refused(_token(key=OTHER_KEY))  # right kid, wrong key: bad signature
    refused(_token(key=OTHER_KEY, kid="unknown"))
    hs256 = jwt.encode(
        {"iss": ISSUER, "aud": AUDIENCE, "exp": now + 60, "scope": "deidentify"},
        "a-shared-secret-that-is-long-enough-for-hs256",
        algorithm="HS256",
        headers={"kid": "k1"},
    )
    refused(hs256)
    no_scope = _post(url, f"Bearer {_token(scope='openid')}")
    assert no_scope.status_code == 403
    scp_list = _post(url, f"Bearer {_token(scope=None, scp=['deidentify'], azp='spark-etl')}")
    assert scp_list.status_code == 200

    log = "\n".join(record.getMessage() for record in caplog.records)
    assert "client=ehr-integration " in log and "client=spark-etl " in log
    assert good not in log and good.split(".")[2] not in log


def test_jwks_file_and_keys_file_errors(tmp_path: Path) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(_jwks(SIGNING_KEY, "k1")), encoding="utf-8")
    verifier = JwtVerifier(
        issuer=ISSUER, audience=AUDIENCE, algorithms=["RS256"], jwks_file=str(path)
    )
    principal = verifier.verify(_token())
    assert principal.name == "ehr-integration" and principal.allows("deidentify")

    with pytest.raises(AuthConfigError, match="line 2") as error:
        parse_keys_file(f"ok:{hash_key('x')}\nbroken:{ETL_KEY}\n")
    assert ETL_KEY not in str(error.value)
    with pytest.raises(AuthConfigError, match="listed twice"):
        parse_keys_file(f"a:{hash_key('x')}\na:{hash_key('y')}\n")
    with pytest.raises(AuthConfigError, match="no authentication configured"):
        Authenticator(None, None)
    with pytest.raises(ValueError, match="DEID_JWT_ISSUER"):
        ServiceSettings(jwks_url="http://127.0.0.1:1/certs")
    with pytest.raises(ValueError, match="HS256"):
        ServiceSettings(jwt_algorithms="RS256,HS256")
