"""SSO, bearer auth, logout and HTTPS, driven by the real ovirtsdk4 over HTTP."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import ovirtsdk4
import pytest

from console.sim.engine import EngineSimulator


def test_connect_and_test(engine_sim, sdk_connection):
    assert sdk_connection.test(raise_exception=True) is True
    api = sdk_connection.system_service().get()
    assert api.product_info.name == "oVirt Engine"
    assert (api.product_info.version.major, api.product_info.version.minor) == (4, 5)
    assert api.special_objects.blank_template.id == "00000000-0000-0000-0000-000000000000"
    assert api.summary.vms.total == 20
    assert engine_sim.url.startswith("http://127.0.0.1:") and engine_sim.url.endswith(
        "/ovirt-engine/api"
    )


def test_wrong_password_is_the_engines_sso_error(engine_sim):
    connection = ovirtsdk4.Connection(
        url=engine_sim.url, username=engine_sim.username, password="nope"
    )
    with pytest.raises(ovirtsdk4.AuthError) as err:
        connection.system_service().get()
    assert "access_denied" in str(err.value)
    assert (
        "Cannot authenticate user 'admin@internal': The username or password is incorrect.."
        in str(err.value)
    )
    assert connection.test() is False
    connection.close(logout=False)


def test_sso_grant_and_error_bodies_on_the_wire(engine_sim):
    base = engine_sim.url.rsplit("/ovirt-engine/api", 1)[0]
    form = b"grant_type=password&scope=ovirt-app-api&username=admin%40internal&password=bad"
    request = urllib.request.Request(
        base + "/ovirt-engine/sso/oauth/token", data=form, headers={"Accept": "application/json"}
    )
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(request)
    assert err.value.code == 400
    assert err.value.headers["Content-Type"].startswith("application/json")
    assert json.loads(err.value.read())["error_code"] == "access_denied"

    form = f"grant_type=password&scope=ovirt-app-api&username=admin%40internal&password={engine_sim.password}"
    request = urllib.request.Request(base + "/ovirt-engine/sso/oauth/token", data=form.encode())
    grant = json.loads(urllib.request.urlopen(request).read())
    assert grant["token_type"] == "bearer" and grant["access_token"] and grant["exp"].isdigit()


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token"])
def test_api_without_valid_token_is_401_with_the_containers_html(engine_sim, authorization):
    headers = {"Accept": "application/xml"} | (
        {"Authorization": authorization} if authorization else {}
    )
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(urllib.request.Request(engine_sim.url + "/vms", headers=headers))
    assert err.value.code == 401
    assert err.value.headers["Content-Type"].startswith("text/html")
    assert b"Unauthorized" in err.value.read()


def test_expired_token_makes_the_sdk_log_in_again_once(engine_sim, sdk_connection):
    vms = sdk_connection.system_service().vms_service()
    assert vms.list(max=1)
    assert engine_sim.token_grants == 1
    engine_sim.expire_tokens()
    assert vms.list(max=1)  # the SDK saw a 401, fetched a new token and retried
    assert engine_sim.token_grants == 2
    paths = [path for method, path, _ in engine_sim.calls if method == "GET"]
    assert paths[-2:] == ["/vms", "/vms"]


def test_token_lifetime_expires_tokens(engine_sim, sdk_connection):
    engine_sim.set_token_lifetime(0.0001)  # every new token is dead on arrival
    engine_sim.expire_tokens()
    with pytest.raises(ovirtsdk4.Error) as err:
        sdk_connection.system_service().vms_service().list(max=1)
    # Like a real engine: the second 401 carries the container's HTML page, not XML.
    assert "text/html" in str(err.value)


def test_logout_revokes_the_token(engine_sim):
    connection = ovirtsdk4.Connection(
        url=engine_sim.url, username=engine_sim.username, password=engine_sim.password
    )
    connection.system_service().get()
    assert engine_sim.sso.live_tokens() == 1
    connection.close()
    assert engine_sim.sso.live_tokens() == 0


def test_https_with_ca_file_and_refused_without():
    with EngineSimulator(tls=True, time_scale=0.01, vms=3) as sim:
        assert sim.url.startswith("https://") and sim.ca_file
        good = ovirtsdk4.Connection(
            url=sim.url, username=sim.username, password=sim.password, ca_file=sim.ca_file
        )
        assert good.test(raise_exception=True)
        assert len(good.system_service().vms_service().list()) == 3
        good.close()
        untrusted = ovirtsdk4.Connection(url=sim.url, username=sim.username, password=sim.password)
        with pytest.raises(ovirtsdk4.Error) as err:
            untrusted.system_service().get()
        assert "certificate" in str(err.value).lower() or "ssl" in str(err.value).lower()
        untrusted.close(logout=False)
