"""Outpost's own surface: admin endpoints, readiness, CLI errors, graceful shutdown.
(Skipped with E2E_PROXY=kubectl-proxy, which has none of these.)"""
import http.client
import re
import signal
import socket
import subprocess
import time

import pytest

from harness import outpost_binary, wait_until

pytestmark = pytest.mark.usefixtures("outpost_only")

SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+([-+0-9.eE]+|NaN|[+-]Inf)(\s+\d+)?$")


def parse_metrics(text):
    """-> (types {family: type}, samples [(name, labels, value)])"""
    types, samples = {}, []
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, fam, typ = line.split(None, 3)
            types[fam] = typ.strip()
        elif line and not line.startswith("#"):
            m = SAMPLE.match(line.strip())
            assert m, f"not a Prometheus text sample: {line!r}"
            samples.append((m.group(1), m.group(2) or "", float(m.group(3))))
    return types, samples


def request_counter_total(proxy):
    st, h, body = proxy.admin_http.request("GET", "/metrics")
    assert st == 200
    assert h["content-type"].startswith("text/plain"), h
    types, samples = parse_metrics(body.decode())
    counters = {f for f, t in types.items() if t == "counter" and "request" in f}
    assert counters, f"no counter family with 'request' in its name:\n{body.decode()[:2000]}"
    total = sum(v for n, _, v in samples if n in counters or n.removesuffix("_total") in counters)
    return total, body.decode()


def test_healthz_readyz(proxy):
    st, _, body = proxy.admin_http.request("GET", "/healthz")
    assert (st, body.strip()) == (200, b"ok")
    st, _, _ = proxy.admin_http.request("GET", "/readyz")
    assert st == 200


def test_metrics_count_requests(proxy, ns):
    before, _ = request_counter_total(proxy)
    for _ in range(7):
        st, _, _ = proxy.http.request("GET", f"/api/v1/namespaces/{ns}/configmaps")
        assert st == 200
    after, text = request_counter_total(proxy)
    assert after - before >= 7, text[:3000]


def test_readyz_follows_upstream(proxy_factory):
    # the upstream refuses connections at start: alive (healthz) but not ready (readyz 503)
    p, relay = proxy_factory(relay_mode="refuse", wait_ready=False)
    wait_until(lambda: p.admin_http.request("GET", "/healthz", timeout=2)[0] == 200, 30, what="healthz 200")
    time.sleep(1.0)
    assert p.admin_http.request("GET", "/readyz", timeout=2)[0] == 503
    relay.set_mode("pass")
    wait_until(lambda: p.admin_http.request("GET", "/readyz", timeout=2)[0] == 200, 15,
               what="readyz 200 after the upstream came back")
    st, _, _ = p.http.request("GET", "/version")
    assert st == 200


def test_bad_kubeconfig_exits_nonzero(workdir):
    r = subprocess.run([outpost_binary(), "serve", "--kubeconfig", str(workdir / "does-not-exist"),
                        "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"],
                       capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
    assert r.returncode != 0
    assert "does-not-exist" in (r.stdout + r.stderr)


def test_sigterm_with_open_watch_exits_zero(proxy_factory, lab, ns):
    p, _ = proxy_factory(with_relay=False)
    conn = http.client.HTTPConnection("127.0.0.1", p.port, timeout=15)
    conn.request("GET", f"/api/v1/namespaces/{ns}/configmaps?watch=1&timeoutSeconds=120")
    resp = conn.getresponse()
    assert resp.status == 200
    lab.admin.json("POST", f"/api/v1/namespaces/{ns}/configmaps",
                   {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "sigterm-probe"}})
    first = resp.readline()                        # the watch is live end to end
    assert b'"type":"ADDED"' in first.replace(b" ", b"")

    t0 = time.monotonic()
    p.signal(signal.SIGTERM)
    rc = p.proc.wait(timeout=10)
    took = time.monotonic() - t0
    assert rc == 0, f"exit code {rc}"
    assert took < 5, f"shutdown took {took:.1f}s"
    # the watch client is released (EOF or a truncated chunk), not left hanging
    try:
        resp.read()
    except http.client.IncompleteRead:
        pass
    except socket.timeout:
        pytest.fail("the open watch was not closed on shutdown")
    conn.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", p.port), timeout=2).close()
