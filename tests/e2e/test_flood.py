"""Floods at the front door (issue 10, finding 6): stalled connections, the connection limit.

Targets with the default flags: with 2 000 stalled connections a normal request is answered within
1 s, RSS stays under 60 MB, every stalled connection is closed within 40 s (default
--request-header-timeout 10 s: a partial head gets a 408 Status, silence is closed), and a watch
that was open all along is not cut. At the connection limit, admin endpoints keep answering.
Bounded: 2 000 loopback connections, about 15 s."""
import json
import resource
import selectors
import socket
import time

import pytest

from harness import wait_until

pytestmark = pytest.mark.usefixtures("outpost_only")

STALLED = 2000


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.fixture
def many_fds():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, STALLED + 1024) if hard != resource.RLIM_INFINITY else STALLED + 1024
    if want < STALLED + 100:
        pytest.skip(f"RLIMIT_NOFILE hard limit {hard} is too low for {STALLED} connections")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def timed_get(port, path, timeout=5):
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return time.monotonic() - started, data


def test_stalled_connections_are_closed_and_cost_little(proxy_factory, many_fds, ns):
    p, _ = proxy_factory(with_relay=False)
    pid = p.proc.pid
    # A watch open through the whole flood: no timeout may cut it.
    watch = socket.create_connection(("127.0.0.1", p.port), timeout=60)
    watch.sendall(f"GET /api/v1/namespaces/{ns}/configmaps?watch=1&timeoutSeconds=120 HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert watch.recv(4096).startswith(b"HTTP/1.1 200"), "the watch started"

    # The same request once before the flood (its code paths warm), to compare with.
    took_before, data = timed_get(p.port, f"/api/v1/namespaces/{ns}/configmaps")
    assert data.startswith(b"HTTP/1.1 200"), data[:200]
    rss_before = rss_mib(pid)
    sel = selectors.DefaultSelector()
    opened = {}
    try:
        for i in range(STALLED):
            s = socket.create_connection(("127.0.0.1", p.port), timeout=10)
            s.setblocking(False)
            if i % 2:
                s.send(b"GET /api/v1/pods HTTP/1.1\r\nHost: x\r\n")  # a head that never ends
            sel.register(s, selectors.EVENT_READ)
            opened[s] = time.monotonic()
        flood_opened = time.monotonic()
        # The kernel queued the connects at once; wait until Outpost accepted them all (a debug
        # build spends about 0.7 ms of its one event-loop thread per accept: ~1.4 s for the burst).
        def open_connections():
            _, body = timed_get(p.admin_port, "/metrics")
            for line in body.decode().splitlines():
                if line.startswith("outpost_client_connections "):
                    return float(line.split()[1])
            return 0
        wait_until(lambda: open_connections() >= STALLED + 1, 10, what=f"{STALLED} connections accepted")
        accepted_after = time.monotonic() - flood_opened

        took_flood, data = timed_get(p.port, f"/api/v1/namespaces/{ns}/configmaps")
        assert data.startswith(b"HTTP/1.1 200"), data[:200]
        assert took_flood < 1.0, f"a normal request took {took_flood:.2f}s with {STALLED} stalled connections"
        took, data = timed_get(p.admin_port, "/healthz")
        assert data.startswith(b"HTTP/1.1 200") and data.endswith(b"ok"), data[:200]
        assert took < 1.0, f"/healthz took {took:.2f}s"
        rss_flood = rss_mib(pid)
        assert rss_flood < 60, f"RSS {rss_flood:.1f} MiB with {STALLED} stalled connections (before: {rss_before:.1f})"

        lifetimes, answered_408, answered_other = [], 0, []
        deadline = flood_opened + 45
        while opened and time.monotonic() < deadline:
            for key, _ in sel.select(1):
                s = key.fileobj
                try:
                    got = s.recv(4096)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    got = b""
                if got.startswith(b"HTTP/1.1 408"):
                    answered_408 += 1
                    body = json.loads(got.split(b"\r\n\r\n", 1)[1])
                    assert (body["kind"], body["code"], body["reason"]) == ("Status", 408, "Timeout"), body
                elif got:
                    answered_other.append(got[:100])
                lifetimes.append(time.monotonic() - opened.pop(s))
                sel.unregister(s)
                s.close()
        assert not opened, f"{len(opened)} stalled connections still open 45 s after the flood"
        assert max(lifetimes) < 40, f"the longest stalled connection lived {max(lifetimes):.1f}s"
        assert not answered_other, answered_other[:3]
        assert answered_408 == STALLED // 2, "every partial head got a 408 Status; silence got silence"
        print(f"\nstalled={STALLED} rss_before={rss_before:.1f}MiB rss_flood={rss_flood:.1f}MiB "
              f"all accepted after {accepted_after:.2f}s request before/during flood={took_before:.3f}/{took_flood:.3f}s "
              f"healthz={took:.3f}s "
              f"lifetime min/max={min(lifetimes):.1f}/{max(lifetimes):.1f}s")

        # The watch outlived both timeouts.
        watch.settimeout(0.5)
        try:
            leftover = watch.recv(4096)
            assert leftover, "the watch was closed"
        except socket.timeout:
            pass
        watch.settimeout(10)
        st, _, _ = p.lab.admin.request("POST", f"/api/v1/namespaces/{ns}/configmaps",
                                      {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "after-flood"}})
        assert st == 201
        got = b""
        while b"after-flood" not in got:
            chunk = watch.recv(65536)
            assert chunk, "the watch ended"
            got += chunk
    finally:
        for s in list(opened):
            s.close()
        watch.close()


def test_admin_answers_at_the_connection_limit(proxy_factory, ns):
    limit = 8
    p, _ = proxy_factory(with_relay=False, extra_args=["--max-connections", str(limit)])
    busy = []
    try:
        for _ in range(limit):
            s = socket.create_connection(("127.0.0.1", p.port), timeout=10)
            s.sendall(f"GET /api/v1/namespaces/{ns}/configmaps?watch=1&timeoutSeconds=60 HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            assert s.recv(4096).startswith(b"HTTP/1.1 200")
            busy.append(s)
        # Every connection is busy: a new one gets the apiserver's 429 with Retry-After.
        _, data = timed_get(p.port, f"/api/v1/namespaces/{ns}/configmaps")
        head, body = data.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 429"), head
        assert b"\r\nretry-after: 1" in head.lower()
        status = json.loads(body)
        assert (status["reason"], status["code"]) == ("TooManyRequests", 429), status
        for path in ("/healthz", "/readyz", "/metrics"):
            took, data = timed_get(p.admin_port, path)
            assert data.startswith(b"HTTP/1.1 200"), (path, data[:200])
            assert took < 1.0
        assert b'outpost_client_connections_closed_total{reason="refused"} 1' in data
        # A slot frees: requests get in again.
        busy.pop().close()
        time.sleep(0.3)
        _, data = timed_get(p.port, f"/api/v1/namespaces/{ns}/configmaps")
        assert data.startswith(b"HTTP/1.1 200"), data[:200]
    finally:
        for s in busy:
            s.close()
