"""Client compatibility: real third-party OAuth2 and JWKS clients against Gatehouse.

Every grant is driven by a real client library (Authlib, requests-oauthlib), not by
hand-made requests; access tokens and the gateway's backend JWTs are verified with PyJWT's
`PyJWKClient` from the published key sets. The tests set up their own data through the REST
APIs (an API in front of a small echo backend started here, an application with keys and a
subscription) against a server and gateway that are already running:

    BASE_URL        the server (control plane, token service), e.g. http://127.0.0.1:3000
    GATEWAY_URL     the gateway's traffic port, e.g. http://127.0.0.1:8280
    ADMIN_PASSWORD  password of the user `admin`
    DEMO_PASSWORD   password of the demo users `subscriber` and `publisher`

`scripts/compat.sh` runs them (and `scripts/e2e.sh`, so `make test`, runs that).
"""

import json
import os
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Everything here is plain HTTP on 127.0.0.1; both libraries refuse http:// without these.
os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")
os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")

import jwt  # noqa: E402  (PyJWT)
import pytest  # noqa: E402
import requests  # noqa: E402
from authlib.integrations.base_client.errors import OAuthError  # noqa: E402
from authlib.integrations.requests_client import OAuth2Session  # noqa: E402
from authlib.oauth2 import rfc8414  # noqa: E402
from authlib.oidc import discovery as oidc_discovery  # noqa: E402
from oauthlib.oauth2 import (  # noqa: E402
    BackendApplicationClient,
    InvalidClientError,
    LegacyApplicationClient,
)
from requests.auth import HTTPBasicAuth  # noqa: E402
from requests_oauthlib import OAuth2Session as OAuthlibSession  # noqa: E402


def env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.exit(f"set {name} (see the module docstring)", returncode=2)
    return value


BASE_URL = env("BASE_URL").rstrip("/")
GATEWAY_URL = env("GATEWAY_URL").rstrip("/")
ADMIN_PASSWORD = env("ADMIN_PASSWORD")
DEMO_PASSWORD = env("DEMO_PASSWORD")

ADMIN_SCOPES = (
    "apim:api_view apim:api_create apim:api_publish apim:api_manage apim:subscribe "
    "apim:app_manage apim:sub_manage apim:api_key apim:admin"
)
PUBLISHER = f"{BASE_URL}/api/am/publisher/v4"
DEVPORTAL = f"{BASE_URL}/api/am/devportal/v3"
# The gateway follows the control plane within about 0.2 s; give it some slack.
GATEWAY_WAIT = 3.0
# Revocations reach every gateway within a second (README).
REVOCATION_WAIT = 1.0
TIMEOUT = 10


def check(resp: requests.Response, *ok: int) -> requests.Response:
    assert resp.status_code in (ok or (200, 201)), (
        f"{resp.request.method} {resp.request.url} -> {resp.status_code}: {resp.text[:500]}"
    )
    return resp


# ---------------------------------------------------------------------------------------------
# Set-up through the REST APIs


@pytest.fixture(scope="session")
def discovery() -> dict:
    resp = check(requests.get(f"{BASE_URL}/.well-known/openid-configuration", timeout=TIMEOUT))
    return resp.json()


@pytest.fixture(scope="session")
def token_endpoint(discovery) -> str:
    return discovery["token_endpoint"]


@pytest.fixture(scope="session")
def admin() -> requests.Session:
    """A session carrying an admin REST token (WSO2's client registration + password grant)."""
    reg = check(
        requests.post(
            f"{BASE_URL}/client-registration/v0.17/register",
            auth=("admin", ADMIN_PASSWORD),
            json={
                "clientName": "compat-tests",
                "grantType": "password client_credentials refresh_token",
                "owner": "admin",
            },
            timeout=TIMEOUT,
        )
    ).json()
    tok = check(
        requests.post(
            f"{BASE_URL}/oauth2/token",
            auth=(reg["clientId"], reg["clientSecret"]),
            data={
                "grant_type": "password",
                "username": "admin",
                "password": ADMIN_PASSWORD,
                "scope": ADMIN_SCOPES,
            },
            timeout=TIMEOUT,
        )
    ).json()
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {tok['access_token']}"
    return s


class _Echo(BaseHTTPRequestHandler):
    """Answers every GET with the path and headers it received, as JSON."""

    def do_GET(self):  # noqa: N802 (http.server's naming)
        body = json.dumps({"path": self.path, "headers": dict(self.headers.items())}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # quiet
        pass


@pytest.fixture(scope="session")
def backend():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def api(admin, backend) -> dict:
    """A published API with backend JWTs, deployed to the Default gateway environment."""
    suffix = secrets.token_hex(3)
    context = f"/compat{suffix}"
    created = check(
        admin.post(
            f"{PUBLISHER}/apis",
            json={
                "name": f"Compat{suffix}",
                "context": context,
                "version": "1.0.0",
                "enableBackendJwt": True,
                "policies": ["Unlimited"],
                "endpointConfig": {
                    "endpoint_type": "http",
                    "production_endpoints": {"url": backend},
                },
                "operations": [{"target": "/echo", "verb": "GET"}],
            },
            timeout=TIMEOUT,
        )
    ).json()
    api_id = created["id"]
    rev = check(
        admin.post(
            f"{PUBLISHER}/apis/{api_id}/revisions",
            json={"description": "compat"},
            timeout=TIMEOUT,
        )
    ).json()
    check(
        admin.post(
            f"{PUBLISHER}/apis/{api_id}/deploy-revision",
            params={"revisionId": rev["id"]},
            json=[{"name": "Default", "vhost": "localhost"}],
            timeout=TIMEOUT,
        )
    )
    check(
        admin.post(
            f"{PUBLISHER}/apis/change-lifecycle",
            params={"apiId": api_id, "action": "Publish"},
            timeout=TIMEOUT,
        )
    )
    return {"id": api_id, "context": context, "url": f"{GATEWAY_URL}{context}/1.0.0/echo"}


@pytest.fixture(scope="session")
def app(admin, api) -> dict:
    """An application subscribed to the API, with PRODUCTION keys for three grants."""
    name = f"compat-{secrets.token_hex(3)}"
    created = check(
        admin.post(
            f"{DEVPORTAL}/applications",
            json={"name": name, "throttlingPolicy": "Unlimited"},
            timeout=TIMEOUT,
        )
    ).json()
    app_id = created["applicationId"]
    keys = check(
        admin.post(
            f"{DEVPORTAL}/applications/{app_id}/generate-keys",
            json={
                "keyType": "PRODUCTION",
                "grantTypesToBeSupported": ["client_credentials", "password", "refresh_token"],
            },
            timeout=TIMEOUT,
        )
    ).json()
    check(
        admin.post(
            f"{DEVPORTAL}/subscriptions",
            json={"applicationId": app_id, "apiId": api["id"], "throttlingPolicy": "Unlimited"},
            timeout=TIMEOUT,
        )
    )
    return {
        "id": app_id,
        "name": name,
        "client_id": keys["consumerKey"],
        "client_secret": keys["consumerSecret"],
    }


def authlib_session(app: dict, method: str = "client_secret_basic", **kw) -> OAuth2Session:
    return OAuth2Session(
        app["client_id"],
        app["client_secret"],
        token_endpoint_auth_method=method,
        revocation_endpoint_auth_method=method,
        timeout=TIMEOUT,
        **kw,
    )


def access_token_claims(token: str, discovery: dict) -> dict:
    """Verifies an access token with PyJWT against the server's JWKS."""
    key = jwt.PyJWKClient(discovery["jwks_uri"]).get_signing_key_from_jwt(token)
    return jwt.decode(
        token,
        key.key,
        algorithms=["RS256", "ES256"],
        issuer=discovery["issuer"],
        options={"verify_aud": False, "require": ["exp", "iat", "iss", "sub", "jti"]},
    )


def wait_for_status(session, url: str, status: int, limit: float) -> requests.Response:
    """GETs `url` until it answers `status` (or `limit` seconds pass); returns the last answer."""
    deadline = time.monotonic() + limit
    while True:
        resp = session.get(url, timeout=TIMEOUT)
        if resp.status_code == status or time.monotonic() >= deadline:
            return resp
        time.sleep(0.05)


# ---------------------------------------------------------------------------------------------
# Discovery


def test_discovery_is_valid_rfc8414_metadata(discovery):
    # Authlib's own validators: Authorization Server Metadata (RFC 8414 section 2) and OpenID
    # Provider Metadata (OpenID Connect Discovery 1.0 section 3).
    rfc8414.AuthorizationServerMetadata(discovery).validate()
    oidc_discovery.OpenIDProviderMetadata(discovery).validate()
    for key in ("token_endpoint", "jwks_uri", "revocation_endpoint", "introspection_endpoint"):
        assert discovery[key].startswith(BASE_URL + "/"), (key, discovery[key])
    assert {"client_credentials", "password", "refresh_token"} <= set(
        discovery["grant_types_supported"]
    )
    assert {"client_secret_basic", "client_secret_post"} <= set(
        discovery["token_endpoint_auth_methods_supported"]
    )


def test_openid_discovery_from_issuer(discovery):
    # An OpenID client derives the document's address from the issuer (OIDC Discovery 4).
    url = oidc_discovery.get_well_known_url(discovery["issuer"], external=True)
    doc = check(requests.get(url, timeout=TIMEOUT)).json()
    assert doc["issuer"] == discovery["issuer"]
    assert doc["token_endpoint"] == discovery["token_endpoint"]


def test_rfc8414_discovery_from_issuer(discovery):
    url = rfc8414.get_well_known_url(discovery["issuer"], external=True)
    doc = check(requests.get(url, timeout=TIMEOUT)).json()
    assert doc["issuer"] == discovery["issuer"]


# ---------------------------------------------------------------------------------------------
# Grants with Authlib


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_authlib_client_credentials(app, discovery, token_endpoint, method):
    with authlib_session(app, method) as client:
        token = client.fetch_token(token_endpoint, grant_type="client_credentials")
    assert token["token_type"].lower() == "bearer"
    assert token["expires_in"] > 0
    assert token["expires_at"] > time.time()
    assert "refresh_token" not in token  # RFC 6749 4.4.3: SHOULD NOT be included
    claims = access_token_claims(token["access_token"], discovery)
    assert claims["azp"] == app["client_id"]
    assert claims["keytype"] == "PRODUCTION"


def test_authlib_wrong_secret_is_invalid_client(app, token_endpoint):
    bad = dict(app, client_secret="not-the-secret")
    with authlib_session(bad) as client, pytest.raises(OAuthError) as err:
        client.fetch_token(token_endpoint, grant_type="client_credentials")
    assert err.value.error == "invalid_client"


def test_authlib_password_grant(app, discovery, token_endpoint):
    with authlib_session(app) as client:
        token = client.fetch_token(
            token_endpoint, grant_type="password", username="subscriber", password=DEMO_PASSWORD
        )
    assert token["access_token"] and token["refresh_token"]
    claims = access_token_claims(token["access_token"], discovery)
    assert claims["sub"] == "subscriber"
    assert claims["azp"] == app["client_id"]


def test_authlib_password_grant_wrong_password_is_invalid_grant(app, token_endpoint):
    with authlib_session(app) as client, pytest.raises(OAuthError) as err:
        client.fetch_token(
            token_endpoint, grant_type="password", username="subscriber", password="wrong"
        )
    assert err.value.error == "invalid_grant"


def test_authlib_refresh_token(app, discovery, token_endpoint):
    with authlib_session(app) as client:
        first = client.fetch_token(
            token_endpoint, grant_type="password", username="subscriber", password=DEMO_PASSWORD
        )
        second = client.refresh_token(token_endpoint, refresh_token=first["refresh_token"])
    assert second["access_token"] != first["access_token"]
    # The session keeps a refresh token (the new one, or the old one when not rotated).
    assert client.token["refresh_token"]
    claims = access_token_claims(second["access_token"], discovery)
    assert claims["sub"] == "subscriber"
    assert claims["azp"] == app["client_id"]


def test_authlib_refresh_token_client_secret_post(app, token_endpoint):
    with authlib_session(app, "client_secret_post") as client:
        first = client.fetch_token(
            token_endpoint, grant_type="password", username="subscriber", password=DEMO_PASSWORD
        )
        second = client.refresh_token(token_endpoint, refresh_token=first["refresh_token"])
    assert second["access_token"] != first["access_token"]


# ---------------------------------------------------------------------------------------------
# Grants with requests-oauthlib


def test_requests_oauthlib_backend_application_client(app, discovery, token_endpoint):
    client = BackendApplicationClient(client_id=app["client_id"])
    with OAuthlibSession(client=client) as session:
        # client_secret_basic
        token = session.fetch_token(
            token_url=token_endpoint,
            client_id=app["client_id"],
            client_secret=app["client_secret"],
            timeout=TIMEOUT,
        )
    assert token["token_type"].lower() == "bearer"
    claims = access_token_claims(token["access_token"], discovery)
    assert claims["azp"] == app["client_id"]


def test_requests_oauthlib_client_secret_post(app, token_endpoint):
    client = BackendApplicationClient(client_id=app["client_id"])
    with OAuthlibSession(client=client) as session:
        token = session.fetch_token(
            token_url=token_endpoint,
            client_id=app["client_id"],
            client_secret=app["client_secret"],
            include_client_id=True,  # credentials in the form body
            timeout=TIMEOUT,
        )
    assert token["access_token"]


def test_requests_oauthlib_wrong_secret(app, token_endpoint):
    client = BackendApplicationClient(client_id=app["client_id"])
    with OAuthlibSession(client=client) as session, pytest.raises(InvalidClientError):
        session.fetch_token(
            token_url=token_endpoint,
            client_id=app["client_id"],
            client_secret="not-the-secret",
            timeout=TIMEOUT,
        )


def test_requests_oauthlib_password_and_refresh(app, discovery, token_endpoint):
    auth = HTTPBasicAuth(app["client_id"], app["client_secret"])
    client = LegacyApplicationClient(client_id=app["client_id"])
    with OAuthlibSession(client=client) as session:
        token = session.fetch_token(
            token_url=token_endpoint,
            username="subscriber",
            password=DEMO_PASSWORD,
            auth=auth,
            timeout=TIMEOUT,
        )
        refreshed = session.refresh_token(token_endpoint, auth=auth, timeout=TIMEOUT)
    assert refreshed["access_token"] != token["access_token"]
    assert access_token_claims(refreshed["access_token"], discovery)["sub"] == "subscriber"


# ---------------------------------------------------------------------------------------------
# Access tokens verified with PyJWT's JWKS client


def test_pyjwkclient_verifies_access_token(app, discovery, token_endpoint):
    with authlib_session(app) as client:
        token = client.fetch_token(token_endpoint, grant_type="client_credentials")
    header = jwt.get_unverified_header(token["access_token"])
    assert header["alg"] in ("RS256", "ES256") and header.get("kid")
    claims = access_token_claims(token["access_token"], discovery)
    assert claims["keytype"] == "PRODUCTION"
    assert claims["azp"] == app["client_id"]
    assert claims["application"]["id"] == app["id"]
    assert claims["application"]["name"] == app["name"]
    assert claims["exp"] > time.time()


def test_pyjwkclient_rejects_tampered_access_token(app, discovery, token_endpoint):
    with authlib_session(app) as client:
        token = client.fetch_token(token_endpoint, grant_type="client_credentials")
    head, payload, sig = token["access_token"].split(".")
    claims = json.loads(jwt.utils.base64url_decode(payload))
    claims["keytype"] = "SANDBOX"
    forged = ".".join(
        [head, jwt.utils.base64url_encode(json.dumps(claims).encode()).decode(), sig]
    )
    with pytest.raises(jwt.InvalidSignatureError):
        access_token_claims(forged, discovery)


# ---------------------------------------------------------------------------------------------
# Introspection (RFC 7662) and revocation (RFC 7009) with Authlib


def introspect(client: OAuth2Session, discovery: dict, token: str) -> dict:
    resp = client.introspect_token(discovery["introspection_endpoint"], token=token)
    check(resp, 200)
    assert resp.headers["Content-Type"].startswith("application/json")
    return resp.json()


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_authlib_introspection(app, discovery, token_endpoint, method):
    with authlib_session(app, method) as client:
        token = client.fetch_token(token_endpoint, grant_type="client_credentials")
        info = introspect(client, discovery, token["access_token"])
    assert info["active"] is True
    assert info["client_id"] == app["client_id"]
    assert info["token_type"].lower() == "bearer"
    assert info["exp"] > time.time()
    assert info["iss"] == discovery["issuer"]


def test_introspection_of_garbage_is_inactive(app, discovery):
    with authlib_session(app) as client:
        assert introspect(client, discovery, "not-a-token") == {"active": False}


def test_introspection_needs_client_authentication(discovery):
    resp = requests.post(
        discovery["introspection_endpoint"], data={"token": "x"}, timeout=TIMEOUT
    )
    assert resp.status_code == 401
    assert resp.json()["error"] == "invalid_client"


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_authlib_revoke_access_token(app, discovery, token_endpoint, method):
    with authlib_session(app, method) as client:
        token = client.fetch_token(token_endpoint, grant_type="client_credentials")
        assert introspect(client, discovery, token["access_token"])["active"] is True
        resp = client.revoke_token(
            discovery["revocation_endpoint"],
            token=token["access_token"],
            token_type_hint="access_token",
        )
        check(resp, 200)
        assert introspect(client, discovery, token["access_token"])["active"] is False


def test_authlib_revoke_refresh_token(app, discovery, token_endpoint):
    with authlib_session(app) as client:
        token = client.fetch_token(
            token_endpoint, grant_type="password", username="subscriber", password=DEMO_PASSWORD
        )
        # Without `token`, Authlib revokes the session's refresh token.
        resp = client.revoke_token(
            discovery["revocation_endpoint"], token_type_hint="refresh_token"
        )
        check(resp, 200)
        assert introspect(client, discovery, token["refresh_token"])["active"] is False
        with pytest.raises(OAuthError) as err:
            client.refresh_token(token_endpoint, refresh_token=token["refresh_token"])
    assert err.value.error == "invalid_grant"


def test_revoking_an_unknown_token_is_200(app, discovery):
    # RFC 7009 2.2: invalid tokens do not cause an error response.
    with authlib_session(app) as client:
        check(client.revoke_token(discovery["revocation_endpoint"], token="not-a-token"), 200)


# ---------------------------------------------------------------------------------------------
# The gateway: bearer tokens from a real client, backend JWTs verified with PyJWT


def gateway_jwks_client() -> jwt.PyJWKClient:
    return jwt.PyJWKClient(f"{GATEWAY_URL}/.well-known/jwks.json", cache_keys=False)


def test_gateway_without_token_is_401(api, app):
    # `app` subscribes, so the API is live at the gateway once it answers 401 rather than 404.
    resp = wait_for_status(requests, api["url"], 401, GATEWAY_WAIT)
    assert resp.status_code == 401, resp.text
    # RFC 6750 section 3: a 401 names the Bearer scheme.
    assert resp.headers.get("WWW-Authenticate", "").lower().startswith("bearer")


def test_gateway_backend_jwt(app, api, token_endpoint):
    with authlib_session(app) as client:
        client.fetch_token(token_endpoint, grant_type="client_credentials")
        # The session puts the token in `Authorization: Bearer` itself.
        resp = wait_for_status(client, api["url"], 200, GATEWAY_WAIT)
    assert resp.status_code == 200, resp.text
    seen = resp.json()
    assert seen["path"] == "/echo"
    headers = {k.lower(): v for k, v in seen["headers"].items()}
    assertion = headers.get("x-jwt-assertion")
    assert assertion, f"backend got no X-JWT-Assertion: {sorted(headers)}"
    assert "authorization" not in headers  # the client's token stays at the gateway
    key = gateway_jwks_client().get_signing_key_from_jwt(assertion)
    assert jwt.get_unverified_header(assertion)["alg"] == "RS256"
    claims = jwt.decode(
        assertion,
        key.key,
        algorithms=["RS256"],
        options={"verify_aud": False, "require": ["exp", "iat"]},
    )
    assert claims["subscriber"] == "admin"
    assert claims["keytype"] == "PRODUCTION"
    assert claims["application"]["id"] == app["id"]
    assert claims["application"]["name"] == app["name"]


def test_gateway_password_grant_token_names_end_user(app, api, token_endpoint):
    with authlib_session(app) as client:
        client.fetch_token(
            token_endpoint, grant_type="password", username="subscriber", password=DEMO_PASSWORD
        )
        resp = wait_for_status(client, api["url"], 200, GATEWAY_WAIT)
    assert resp.status_code == 200, resp.text
    assertion = {k.lower(): v for k, v in resp.json()["headers"].items()}["x-jwt-assertion"]
    key = gateway_jwks_client().get_signing_key_from_jwt(assertion)
    claims = jwt.decode(assertion, key.key, algorithms=["RS256"], options={"verify_aud": False})
    assert claims["sub"] == "subscriber"
    assert claims["subscriber"] == "admin"  # the application's owner


def test_gateway_refuses_refresh_token_as_bearer(app, api, token_endpoint):
    with authlib_session(app) as client:
        token = client.fetch_token(
            token_endpoint, grant_type="password", username="subscriber", password=DEMO_PASSWORD
        )
        assert wait_for_status(client, api["url"], 200, GATEWAY_WAIT).status_code == 200
    resp = requests.get(
        api["url"],
        headers={"Authorization": f"Bearer {token['refresh_token']}"},
        timeout=TIMEOUT,
    )
    assert resp.status_code == 401, resp.text


def test_gateway_revoked_token_is_401_within_a_second(app, api, discovery, token_endpoint):
    with authlib_session(app) as client:
        token = client.fetch_token(token_endpoint, grant_type="client_credentials")
        ok = wait_for_status(client, api["url"], 200, GATEWAY_WAIT)
        assert ok.status_code == 200, ok.text  # now verified and cached by the gateway
        resp = client.revoke_token(discovery["revocation_endpoint"], token=token["access_token"])
        check(resp, 200)
        revoked_at = time.monotonic()
        resp = wait_for_status(client, api["url"], 401, REVOCATION_WAIT)
        took = time.monotonic() - revoked_at
    assert resp.status_code == 401, f"still {resp.status_code} {took:.2f}s after revocation"
