"""The relay itself (no proxy involved): it must pass TLS through untouched and break the link
exactly as advertised, because the offline tests of later milestones rely on it."""
import http.client
import socket
import ssl
import time

import pytest

from harness import Http, RelayProcess

BROKEN = (ConnectionError, ssl.SSLError, http.client.HTTPException, OSError)


@pytest.fixture
def own_relay(lab, workdir):
    r = RelayProcess(f"{lab.host}:{lab.port}", workdir).start()
    yield r
    r.stop()


def via(relay, lab):
    return Http(relay.url, lab.admin_token, str(lab.ca))


def get_version(h, conn=None, timeout=5):
    st, _, body = h.request("GET", "/version", conn=conn, timeout=timeout)
    assert st == 200, body
    return body


def test_pass_is_transparent_tls(lab, own_relay):
    assert get_version(via(own_relay, lab)) == get_version(lab.admin)
    st = own_relay.ctl("status")
    assert st["mode"] == "pass" and st["forwarded"] >= 1 and st["bytes_down"] > 0


def test_blackhole_holds_silently_then_resumes(lab, own_relay):
    h = via(own_relay, lab)
    conn = h.connect(timeout=1.0)
    get_version(h, conn=conn)                         # established keep-alive connection
    own_relay.set_mode("blackhole")
    t0 = time.monotonic()
    with pytest.raises((socket.timeout, TimeoutError)):
        get_version(h, conn=conn, timeout=1.0)         # existing connection: silence, no error
    assert time.monotonic() - t0 >= 0.9
    conn.close()
    fresh = h.connect(timeout=1.0)
    with pytest.raises((socket.timeout, TimeoutError)):   # new connection: accepted, TLS never answered
        get_version(h, conn=fresh, timeout=1.0)
    fresh.close()
    assert own_relay.ctl("status")["active"] >= 1
    own_relay.set_mode("pass")
    get_version(h)


def test_cut_resets_existing_connections(lab, own_relay):
    h = via(own_relay, lab)
    conn = h.connect(timeout=5)
    get_version(h, conn=conn)
    assert own_relay.cut()["cut_now"] >= 1
    time.sleep(0.1)
    with pytest.raises(BROKEN):
        get_version(h, conn=conn)
    get_version(h)                                     # the mode is still pass


def test_reset_and_refuse(lab, own_relay):
    h = via(own_relay, lab)
    own_relay.set_mode("reset")
    with pytest.raises(BROKEN):
        get_version(h)
    assert own_relay.ctl("status")["reset"] >= 1
    own_relay.set_mode("refuse")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", own_relay.port), timeout=2).close()
    own_relay.set_mode("pass")
    get_version(h)


def test_cutafter_cuts_mid_response(lab, own_relay):
    """`cutafter N MODE` lets N bytes of a response through, then switches mode and resets everything:
    what the offline tests use to break a big list in the middle of its body."""
    h = via(own_relay, lab)
    full = get_version(h)                              # warm: the TLS handshake works through the relay
    st, _, big = lab.admin.request("GET", "/openapi/v2", timeout=30)
    assert st == 200 and len(big) > 1_000_000          # a body far longer than the cut point
    before = own_relay.ctl("status")["bytes_down"]
    armed = own_relay.cut_after(200_000, "blackhole")
    assert armed["armed"] == 200_000 and armed["mode"] == "pass"
    with pytest.raises(BROKEN):
        h.request("GET", "/openapi/v2", timeout=10)
    st = own_relay.ctl("status")
    assert st["mode"] == "blackhole" and st["armed"] is None and st["tripped"] == 1 and st["active"] == 0
    assert st["bytes_down"] - before == 200_000        # exactly the armed amount got through
    fresh = h.connect(timeout=1.0)
    with pytest.raises((socket.timeout, TimeoutError)):
        get_version(h, conn=fresh, timeout=1.0)        # the new mode holds new connections
    fresh.close()
    own_relay.set_mode("pass")
    assert get_version(h) == full
