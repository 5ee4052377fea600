"""The watch cache against the real apiserver: local watchers are served by Outpost from one
upstream reflector per scope, ride out an outage without relisting, and end with exactly the
apiserver's state; WatchList (sendInitialEvents) works online and offline.

Each "watcher" is a client-go-like reflector loop in a thread: list (resourceVersion=0), then
watch from the list's resourceVersion with bookmarks; a watch that ends is resumed from the last
resourceVersion seen; an ERROR 410 means a relist, which is counted (the contract: none).
"""
import http.client
import json
import os
import threading
import time
import urllib.parse

import pytest

from harness import cm_obj, create_objects, wait_until

pytestmark = pytest.mark.usefixtures("outpost_only")

WATCHERS = int(os.environ.get("E2E_WATCH_CACHE_WATCHERS", "50"))
OUTAGE = float(os.environ.get("E2E_WATCH_CACHE_OUTAGE", "60"))


class Reflector(threading.Thread):
    """A reflector-like client of one namespace's ConfigMaps through the proxy."""

    def __init__(self, proxy, ns, token):
        super().__init__(daemon=True)
        self.host, self.port = proxy.http.host, proxy.http.port
        self.ns, self.token = ns, token
        self.state = {}           # name -> resourceVersion
        self.rv = ""
        self.lists = 0
        self.watches = 0
        self.local_watches = 0
        self.errors = []
        self.stop_flag = threading.Event()
        self.lock = threading.Lock()
        self.conn = None

    def _get(self, path, timeout):
        c = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        c.request("GET", path, headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json"})
        return c, c.getresponse()

    def relist(self):
        c, r = self._get(f"/api/v1/namespaces/{self.ns}/configmaps?resourceVersion=0", 30)
        body = r.read()
        c.close()
        if r.status != 200:
            raise RuntimeError(f"list -> {r.status}: {body[:300]!r}")
        lst = json.loads(body)
        with self.lock:
            self.lists += 1
            self.state = {i["metadata"]["name"]: i["metadata"]["resourceVersion"] for i in lst["items"]}
            self.rv = lst["metadata"]["resourceVersion"]

    def run(self):
        try:
            self.relist()
        except Exception as e:  # noqa: BLE001 - recorded and asserted on
            self.errors.append(f"first list: {e}")
            return
        while not self.stop_flag.is_set():
            try:
                self.watch_once()
            except (OSError, http.client.HTTPException) as e:
                if self.stop_flag.is_set():
                    return
                self.errors.append(f"watch: {e!r}")
                time.sleep(0.5)

    def watch_once(self):
        q = urllib.parse.urlencode({"watch": "1", "resourceVersion": self.rv, "allowWatchBookmarks": "true",
                                    "timeoutSeconds": "600"})
        c, r = self._get(f"/api/v1/namespaces/{self.ns}/configmaps?{q}", 900)
        self.conn = c
        with self.lock:
            self.watches += 1
            if r.getheader("X-Outpost-Cache") == "hit":
                self.local_watches += 1
        if r.status != 200:
            body = r.read()
            c.close()
            raise http.client.HTTPException(f"watch -> {r.status}: {body[:200]!r}")
        started = time.time()
        saw = False
        while not self.stop_flag.is_set():
            line = r.readline()
            if not line:
                break
            ev = json.loads(line)
            saw = True
            t, obj = ev["type"], ev["object"]
            if t == "ERROR":
                if obj.get("code") == 410:
                    c.close()
                    self.relist()
                    return
                raise http.client.HTTPException(f"ERROR event {obj}")
            rv = obj["metadata"]["resourceVersion"]
            with self.lock:
                if t in ("ADDED", "MODIFIED"):
                    self.state[obj["metadata"]["name"]] = rv
                elif t == "DELETED":
                    self.state.pop(obj["metadata"]["name"], None)
                self.rv = rv
        c.close()
        if not saw and time.time() - started < 1:
            # client-go counts this as a failed watch and backs off (then lists).
            self.errors.append("a watch ended within a second without events")
            time.sleep(1)

    def snapshot(self):
        with self.lock:
            return dict(self.state)

    def stop(self):
        self.stop_flag.set()
        try:
            if self.conn:
                self.conn.sock and self.conn.sock.shutdown(2)
        except OSError:
            pass


def apiserver_state(lab, ns):
    lst = lab.admin.json("GET", f"/api/v1/namespaces/{ns}/configmaps")
    return {i["metadata"]["name"]: i["metadata"]["resourceVersion"] for i in lst["items"]}


def metric(p, name):
    st, _, body = p.admin_http.request("GET", "/metrics")
    assert st == 200
    total = 0.0
    for line in body.decode().splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_local_watchers_ride_out_an_outage_without_relisting(lab, proxy_factory, ns_factory):
    ns = ns_factory("wc")
    create_objects(lab.admin, ns, "configmaps", [cm_obj(f"cm-{i}", data={"i": str(i)}) for i in range(20)])
    p, relay = proxy_factory()
    token = lab.admin_token
    # A first client confirms the access with the apiserver (its list goes upstream).
    p.http.json("GET", f"/api/v1/namespaces/{ns}/configmaps?resourceVersion=0", headers={"Authorization": f"Bearer {token}"})

    clients = [Reflector(p, ns, token) for _ in range(WATCHERS)]
    for c in clients:
        c.start()
        time.sleep(0.02)
    wait_until(lambda: all(c.watches >= 1 for c in clients), 30, what="every watcher watching")
    reflectors = metric(p, "outpost_reflectors_running")
    assert reflectors >= 1

    # The outage: the link goes silent (packets dropped), the apiserver changes meanwhile.
    relay.set_mode("blackhole")
    t0 = time.time()
    for i in range(5):
        lab.admin.json("DELETE", f"/api/v1/namespaces/{ns}/configmaps/cm-{i}")
    for i in range(5, 10):
        lab.admin.json("PUT", f"/api/v1/namespaces/{ns}/configmaps/cm-{i}",
                       body=cm_obj(f"cm-{i}", data={"i": "changed"}))
    create_objects(lab.admin, ns, "configmaps", [cm_obj(f"new-{i}") for i in range(5)])
    time.sleep(max(0.0, OUTAGE - (time.time() - t0)))
    relay.set_mode("pass")

    final = apiserver_state(lab, ns)
    try:
        wait_until(lambda: all(c.snapshot() == final for c in clients), 60,
                   what="every watcher at the apiserver's final state")
    finally:
        for c in clients:
            c.stop()
    relisted = [c.lists - 1 for c in clients if c.lists > 1]
    assert not relisted, f"{len(relisted)} watchers relisted after the outage"
    errors = [e for c in clients for e in c.errors if "within a second" in e]
    assert not errors, errors[:5]
    local = sum(c.local_watches for c in clients)
    assert local >= WATCHERS // 2, f"only {local} of the watches were served by the watch cache"
    assert metric(p, "outpost_reflector_relists_total") <= 1


def test_watchlist_online_and_offline(lab, proxy_factory, ns_factory):
    ns = ns_factory("wl")
    create_objects(lab.admin, ns, "configmaps", [cm_obj(f"cm-{i}") for i in range(7)])
    p, relay = proxy_factory()
    auth = {"Authorization": f"Bearer {lab.admin_token}"}
    # Confirm the access and start the scope's reflector (a list, then a watch).
    p.http.json("GET", f"/api/v1/namespaces/{ns}/configmaps?resourceVersion=0", headers=auth)
    st, _, _ = p.http.request("GET", f"/api/v1/namespaces/{ns}/configmaps?watch=1&timeoutSeconds=1", headers=auth)
    assert st == 200
    wait_until(lambda: metric(p, "outpost_reflectors_running") >= 1, 10, what="a reflector")

    def watchlist():
        q = urllib.parse.urlencode({"watch": "1", "sendInitialEvents": "true", "resourceVersionMatch": "NotOlderThan",
                                    "allowWatchBookmarks": "true", "resourceVersion": "", "timeoutSeconds": "5"})
        c = http.client.HTTPConnection(p.http.host, p.http.port, timeout=20)
        c.request("GET", f"/api/v1/namespaces/{ns}/configmaps?{q}", headers={**auth, "Accept": "application/json"})
        r = c.getresponse()
        assert r.status == 200, r.read()[:300]
        added, bookmark = [], None
        while True:
            line = r.readline()
            if not line:
                break
            ev = json.loads(line)
            if ev["type"] == "ADDED":
                assert bookmark is None, "ADDED after the initial-events-end bookmark"
                added.append(ev["object"]["metadata"]["name"])
            elif ev["type"] == "BOOKMARK" and ev["object"]["metadata"].get("annotations", {}).get("k8s.io/initial-events-end") == "true":
                bookmark = ev["object"]
                break
        c.close()
        return sorted(added), bookmark

    names = sorted(f"cm-{i}" for i in range(7))
    # The reflector becomes ready within moments of the first watch.
    wait_until(lambda: watchlist()[1] is not None, 15, what="a WatchList answer")
    added, bookmark = watchlist()
    assert added == names
    assert bookmark["kind"] == "ConfigMap" and int(bookmark["metadata"]["resourceVersion"]) > 0
    relay.set_mode("blackhole")
    try:
        added, bookmark = watchlist()
        assert added == names
        assert bookmark is not None
    finally:
        relay.set_mode("pass")
    # Invalid combinations get the apiserver's validation error.
    st, _, body = p.http.request("GET", f"/api/v1/namespaces/{ns}/configmaps?watch=1&sendInitialEvents=true", headers=auth)
    assert st == 422, body[:300]
    assert b"sendInitialEvents requires setting resourceVersionMatch to NotOlderThan" in body
