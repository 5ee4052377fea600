"""scripts/bench/taprelay.py, the benchmark's counting relay (issue 12's W5, W5 long and W6 read
their upstream LISTs and WATCHes from it): it must frame requests exactly, stay transparent to a
TLS client that trusts the lab's CA, and break the link when told."""
import http.client
import json
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts/bench"))
import taprelay  # noqa: E402

from harness import free_port  # noqa: E402


def test_classify_resource_requests():
    c = taprelay.classify
    assert c("GET", "/api/v1/namespaces/a/pods?limit=500&resourceVersion=0") == ("LIST", "0")
    assert c("GET", "/api/v1/namespaces/a/pods") == ("LIST", "")
    assert c("GET", "/api/v1/namespaces/a/pods?watch=1&resourceVersion=12") == ("WATCH", "N")
    assert c("GET", "/api/v1/watch/namespaces/a/pods") == ("WATCH", "")
    assert c("GET", "/apis/discovery.k8s.io/v1/endpointslices?watch=true") == ("WATCH", "")
    assert c("GET", "/api/v1/namespaces/a/pods/p") == ("GET", None)
    assert c("GET", "/api/v1/namespaces") == ("LIST", "")
    assert c("GET", "/api/v1/namespaces/a") == ("GET", None)
    assert c("PATCH", "/api/v1/namespaces/a/pods/p") == ("PATCH", None)
    for other in ("/readyz", "/version", "/api", "/apis/apps/v1"):
        assert c("GET", other) == ("OTHER", None)


def test_counter_frames_bodies_and_split_reads():
    counts = {}
    rc = taprelay.RequestCounter(counts)
    stream = (b"GET /api/v1/pods HTTP/1.1\r\nHost: x\r\n\r\n"
              b"POST /api/v1/namespaces/a/pods HTTP/1.1\r\nContent-Length: 35\r\n\r\n"
              b"GET /api/v1/pods HTTP/1.1\r\n\r\n123456"          # a body that looks like a request
              b"PUT /api/v1/namespaces/a/pods/b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
              b"4\r\nGET \r\n0\r\n\r\n"
              b"GET /api/v1/nodes?watch=1&resourceVersion=7 HTTP/1.1\r\n\r\n"
              b"GET /readyz HTTP/1.1\r\n\r\n")
    for i in range(0, len(stream), 7):                      # arbitrary read boundaries
        rc.feed(stream[i:i + 7])
    assert counts == {"LIST": 1, "LIST rv=": 1, "POST": 1, "PUT": 1, "WATCH": 1, "WATCH rv=N": 1,
                      "OTHER": 1, "OTHER /readyz": 1}


@pytest.fixture
def tap(lab, workdir):
    cert, key = taprelay.make_cert(workdir, lab.ca, Path(lab.ca).parent / "ca.key")
    port, ctl = free_port(), str(workdir / f"tap-test-{time.monotonic_ns()}.ctl")
    proc = subprocess.Popen([sys.executable, str(REPO / "scripts/bench/taprelay.py"), "--ports", str(port),
                             "--target", f"{lab.host}:{lab.port}", "--control", ctl, "--cert", cert, "--key", key,
                             "--ca", str(lab.ca)], stdin=subprocess.DEVNULL)
    taprelay.control(ctl, "status", timeout=10)
    yield port, ctl
    proc.terminate()
    proc.wait(10)


def conn(lab, port):
    return http.client.HTTPSConnection("127.0.0.1", port, timeout=10,
                                       context=ssl.create_default_context(cafile=str(lab.ca)))


def get(c, lab, path):
    c.request("GET", path, headers={"Authorization": f"Bearer {lab.admin_token}", "Accept": "application/json"})
    r = c.getresponse()
    return r, r.read() if "watch=1" not in path else None


def test_transparent_and_counted(lab, tap):
    port, ctl = tap
    c = conn(lab, port)
    r, body = get(c, lab, "/version")
    assert r.status == 200 and "gitVersion" in json.loads(body)
    r, body = get(c, lab, "/api/v1/namespaces?limit=1")          # same keep-alive connection
    assert r.status == 200 and json.loads(body)["kind"] == "NamespaceList"
    rv = json.loads(body)["metadata"]["resourceVersion"]
    r, _ = get(c, lab, f"/api/v1/namespaces?watch=1&resourceVersion={rv}&timeoutSeconds=1")
    assert r.status == 200
    r.read()
    c.close()
    st = taprelay.control(ctl, "status")["ports"][str(port)]
    assert st["accepted"] == 1 and st["bytes_up"] > 0 and st["bytes_down"] > len(body)
    assert st["requests"] == {"OTHER": 1, "OTHER /version": 1, "LIST": 1, "LIST rv=": 1, "WATCH": 1,
                              "WATCH rv=N": 1}


def test_reset_breaks_held_and_new_connections_then_pass(lab, tap):
    port, ctl = tap
    c = conn(lab, port)
    assert get(c, lab, "/version")[0].status == 200
    taprelay.control(ctl, "reset")
    with pytest.raises((ConnectionError, ssl.SSLError, http.client.HTTPException, OSError)):
        get(c, lab, "/version")
    with pytest.raises((ConnectionError, ssl.SSLError, http.client.HTTPException, OSError)):
        get(conn(lab, port), lab, "/version")
    taprelay.control(ctl, "pass")
    assert get(conn(lab, port), lab, "/version")[0].status == 200
    st = taprelay.control(ctl, "status")["ports"][str(port)]
    assert st["reset"] >= 2 and st["requests"]["OTHER /version"] == 2
