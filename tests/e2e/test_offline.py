"""Offline: the link to the apiserver is cut at the relay and Outpost answers reads from its cache.

The reference for every offline answer is the apiserver's own answer to the same request (asked
directly; the module's namespace does not change after setup), so selectors, pagination and errors
are held to what the apiserver does, not to what we think it does.

Read-only checks share one Outpost (+ relay) that is warmed online and then cut for the whole module
(`offline`). Tests that restart, kill, recover or break a list mid-body start their own
(`proxy_factory`) and use their own namespaces.
"""
import json
import random
import signal
import threading
import time
import urllib.parse

import pytest

from harness import (Kubectl, ProxyProcess, RelayProcess, WatchStream, cm_obj, create_objects, names_rvs,
                     parallel_requests, pod_obj, summarize_event, timed_request, wait_until)

pytestmark = pytest.mark.usefixtures("outpost_only")

FIRST_ANSWER_BUDGET = 3.0     # s; the contract says ~1 s after a silent cut, this is the noisy-machine margin
REQ_TIMEOUT = 10              # s; an offline answer that takes longer is a failure anyway


def q(s):
    return urllib.parse.quote(s, safe="")


def decode(st, body, path):
    assert st == 200, f"GET {path} -> {st}: {body[:500]!r}"
    return json.loads(body)


def direct(lab, path):
    st, _, body = lab.admin.request("GET", path, headers={"Accept": "application/json"}, timeout=30)
    return st, json.loads(body) if body else None


def via(p, path, timeout=REQ_TIMEOUT):
    st, _, body = p.http.request("GET", path, headers={"Accept": "application/json"}, timeout=timeout)
    return decode(st, body, path)


def item_names(lst):
    return sorted(i["metadata"]["name"] for i in lst["items"])


def bare(obj):
    """An object without kind/apiVersion: how it appears as an item of a list."""
    return {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}


def status_of(body):
    s = json.loads(body)
    assert s.get("kind") == "Status", body[:500]
    return s


# ------------------------------------------------------------------------------------------- module data
CONFIGMAPS = [
    ("cm-a", {"app": "web", "tier": "frontend"}),
    ("cm-b", {"app": "web", "tier": "backend"}),
    ("cm-c", {"app": "db", "tier": "backend"}),
    ("cm-d", {"app": "cache"}),
    ("cm-e", {}),
] + [(f"many-{i:02d}", {"group": "many", "shard": str(i % 3)}) for i in range(20)]

PODS = [  # no scheduler/kubelet in the lab: nodeName is set by hand, pod-4 stays unscheduled
    ("pod-1", {"app": "web", "tier": "frontend"}, "node-1"),
    ("pod-2", {"app": "db"}, "node-2"),
    ("pod-3", {"app": "web", "tier": "backend"}, "node-1"),
    ("pod-4", {"app": "batch"}, None),
]


@pytest.fixture(scope="module")
def world(lab, ns):
    create_objects(lab.admin, ns, "configmaps", [cm_obj(n, l, {"k": n}) for n, l in CONFIGMAPS])
    create_objects(lab.admin, ns, "pods", [pod_obj(n, l, node) for n, l, node in PODS])
    # pod-2 "runs" (status set by hand, as a kubelet would)
    parallel_requests(lab.admin, [("PATCH", f"/api/v1/namespaces/{ns}/pods/pod-2/status",
                                   {"status": {"phase": "Running"}})])
    return ns


def warm_paths(ns):
    return [f"/api/v1/namespaces/{ns}/configmaps", f"/api/v1/namespaces/{ns}/pods", "/api/v1/pods",
            f"/api/v1/namespaces/{ns}/configmaps/cm-a", f"/api/v1/namespaces/{ns}/pods/pod-1"]


REPLAYED = ["/version", "/api", "/apis", "/api/v1", "/api/v1/namespaces", "/api/v1/namespaces/{ns}"]


def warm(p, ns):
    """Online reads through Outpost that fill its cache; -> {path: answer}."""
    return {path: via(p, path) for path in warm_paths(ns)}


def kubectl_cases(ns):
    return {
        "all": ["get", "pods", "-A"],
        "label": ["get", "pods", "-n", ns, "-l", "app=web", "-o", "name"],
        "field": ["get", "pods", "-n", ns, "--field-selector", "spec.nodeName=node-1", "-o", "name"],
    }


def kubectl_pods(case, ns, out):
    """What a kubectl case printed, reduced to our namespace's pods."""
    if case == "all":
        rows = [l.split() for l in out.splitlines()[1:] if l.strip()]
        return sorted(r[1] for r in rows if r[0] == ns)
    return sorted(l.strip().removeprefix("pod/") for l in out.splitlines() if l.strip())


KUBECTL_EXPECTED = {"all": ["pod-1", "pod-2", "pod-3", "pod-4"], "label": ["pod-1", "pod-3"],
                    "field": ["pod-1", "pod-3"]}


class Offline:
    def __init__(self, proxy, relay, kubectl, warmed, kubectl_online):
        self.proxy, self.relay, self.k = proxy, relay, kubectl
        self.warmed, self.kubectl_online = warmed, kubectl_online
        self.unavailable = None

    def require(self):
        if self.unavailable:
            pytest.fail(f"Outpost does not answer from its cache after the cut: {self.unavailable}")

    def get(self, path, timeout=REQ_TIMEOUT):
        """-> (status, body bytes); no status check."""
        self.require()
        st, _, body, _ = timed_request(self.proxy.http, "GET", path, timeout=timeout)
        return st, body

    def list(self, path):
        st, body = self.get(path)
        return decode(st, body, path)


@pytest.fixture(scope="module")
def offline(lab, world, workdir, tmp_path_factory):
    """One Outpost behind its own relay: warmed online (raw reads + kubectl), then cut (blackhole)."""
    ns = world
    relay = RelayProcess(f"{lab.host}:{lab.port}", workdir).start()
    p = ProxyProcess(lab, workdir, server_addr=relay.url, name="proxy-offline")
    try:
        p.start()
        warmed = warm(p, ns)
        warmed.update({path: via(p, path.format(ns=ns)) for path in REPLAYED})
        k = Kubectl(lab, p, tmp_path_factory.mktemp("kubectl-offline"))
        kubectl_online = {}
        for case, args in kubectl_cases(ns).items():
            out = k.proxy_run(*args, "--request-timeout=10s").stdout
            assert kubectl_pods(case, ns, out) == KUBECTL_EXPECTED[case], out      # harness sanity, online
            kubectl_online[case] = out
        off = Offline(p, relay, k, warmed, kubectl_online)
        relay.set_mode("blackhole")
        path = warm_paths(ns)[0]
        try:
            wait_until(lambda: p.http.request("GET", path, timeout=5)[0] == 200, 15,
                       what="an offline answer for the warmed list")
        except TimeoutError as e:
            off.unavailable = f"GET {path}: {e}"
        yield off
    finally:
        relay.stop()                 # first: Outpost stops at once when its upstream is reset, not blackholed
        p.stop()


# ------------------------------------------------------------------------------------------- lists
def test_offline_lists_equal_online(lab, world, offline):
    ns = world
    for path in (f"/api/v1/namespaces/{ns}/configmaps", f"/api/v1/namespaces/{ns}/pods",
                 f"/api/v1/pods?fieldSelector={q('metadata.namespace=' + ns)}"):
        off = offline.list(path)
        st, on = direct(lab, path)
        assert st == 200
        assert off["kind"] == on["kind"] and off["apiVersion"] == on["apiVersion"]
        assert names_rvs(off["items"]) == names_rvs(on["items"]), path
        # the same objects (an item may carry kind/apiVersion, which the apiserver leaves out of list items)
        assert sorted(map(bare, off["items"]), key=lambda i: i["metadata"]["name"]) == \
            sorted(on["items"], key=lambda i: i["metadata"]["name"]), path
        # metadata.resourceVersion is the cache's: at least what the warm-up list had, never ahead of the cloud
        rv = int(off["metadata"]["resourceVersion"])
        assert rv >= max(int(i["metadata"]["resourceVersion"]) for i in off["items"])
        assert rv <= int(on["metadata"]["resourceVersion"])
        assert "continue" not in off["metadata"] or not off["metadata"]["continue"]


@pytest.mark.parametrize("path", REPLAYED)
def test_offline_replays_discovery_and_cluster_scoped(world, offline, path):
    """Discovery documents and cluster-scoped namespaces, as they were when the link was cut
    (namespaces made since then, e.g. by other tests, are not known offline)."""
    off = offline.list(path.format(ns=world))
    before = offline.warmed[path]
    if "items" in before:
        assert off["kind"] == before["kind"]
        assert sorted(map(bare, off["items"]), key=lambda i: i["metadata"]["name"]) == \
            sorted(map(bare, before["items"]), key=lambda i: i["metadata"]["name"])
    else:
        assert off == before


LABEL_SELECTORS = ["app=web", "app==web", "app!=web", "app in (web,db)", "tier notin (frontend)", "tier", "!tier",
                   "app=web,tier=backend", "app in (web),tier notin (backend)", "group=many,shard in (0,2)",
                   "shard notin (1),!app", "app=nope", "app"]


@pytest.mark.parametrize("resource", ["configmaps", "pods"])
@pytest.mark.parametrize("selector", LABEL_SELECTORS)
def test_offline_label_selector(lab, world, offline, resource, selector):
    path = f"/api/v1/namespaces/{world}/{resource}?labelSelector={q(selector)}"
    st, on = direct(lab, path)
    assert st == 200
    off = offline.list(path)
    assert names_rvs(off["items"]) == names_rvs(on["items"])


FIELD_SELECTORS = [
    ("configmaps", "metadata.name=cm-b"),
    ("configmaps", "metadata.name==cm-c"),
    ("configmaps", "metadata.name!=cm-b"),
    ("configmaps", "metadata.namespace={ns}"),
    ("configmaps", "metadata.namespace!={ns}"),
    ("configmaps", "metadata.name=cm-a,metadata.namespace={ns}"),
    ("pods", "spec.nodeName=node-1"),
    ("pods", "spec.nodeName!=node-1"),
    ("pods", "spec.nodeName="),                         # unscheduled
    ("pods", "status.phase=Running"),
    ("pods", "status.phase=Pending"),
    ("pods", "status.phase!=Pending,spec.nodeName=node-2"),
    ("pods", "metadata.name=pod-3"),
    ("pods", "metadata.namespace={ns},spec.nodeName=node-1"),
]


@pytest.mark.parametrize("resource,selector", FIELD_SELECTORS)
def test_offline_field_selector(lab, world, offline, resource, selector):
    sel = selector.format(ns=world)
    path = f"/api/v1/namespaces/{world}/{resource}?fieldSelector={q(sel)}"
    st, on = direct(lab, path)
    assert st == 200
    off = offline.list(path)
    assert names_rvs(off["items"]) == names_rvs(on["items"])


def test_offline_label_and_field_selector_together(lab, world, offline):
    for path in (f"/api/v1/namespaces/{world}/pods?labelSelector={q('app=web')}&fieldSelector={q('spec.nodeName=node-1')}",
                 f"/api/v1/namespaces/{world}/pods?labelSelector={q('tier')}&fieldSelector={q('metadata.name!=pod-1')}",
                 f"/api/v1/pods?labelSelector={q('app in (web,db)')}&fieldSelector={q('metadata.namespace=' + world)}"):
        st, on = direct(lab, path)
        assert st == 200
        assert names_rvs(offline.list(path)["items"]) == names_rvs(on["items"]), path


INVALID = [
    ("configmaps", "labelSelector", "app in (a"),
    ("configmaps", "labelSelector", "a=b=c"),
    ("configmaps", "labelSelector", "!"),
    ("configmaps", "labelSelector", "x=y z"),
    ("configmaps", "labelSelector", "a b"),
    ("configmaps", "labelSelector", "app notin"),
    ("configmaps", "labelSelector", "=x"),
    ("configmaps", "labelSelector", "app=web,,"),
    ("configmaps", "labelSelector", "app=a$b"),
    ("configmaps", "fieldSelector", "spec.foo=bar"),
    ("configmaps", "fieldSelector", "status.phase=Running"),
    ("configmaps", "fieldSelector", "metadata.name"),
    ("configmaps", "fieldSelector", "metadata.name=a,b"),
    ("pods", "fieldSelector", "spec.foo=x"),
    ("pods", "fieldSelector", "spec.nodeName"),
]


@pytest.mark.parametrize("resource,param,value", INVALID)
def test_offline_invalid_selector_same_400(lab, world, offline, resource, param, value):
    path = f"/api/v1/namespaces/{world}/{resource}?{param}={q(value)}"
    st, _, body = lab.admin.request("GET", path, headers={"Accept": "application/json"})
    assert st == 400, body[:300]
    on = status_of(body)
    st, body = offline.get(path)
    assert st == 400, body[:500]
    off = status_of(body)
    assert (off["code"], off["reason"], off["message"]) == (on["code"], on["reason"], on["message"])


def test_offline_get_and_404(lab, world, offline):
    for res, name in (("configmaps", "cm-a"), ("configmaps", "many-07"), ("pods", "pod-2")):
        path = f"/api/v1/namespaces/{world}/{res}/{name}"
        st, body = offline.get(path)
        assert st == 200, body[:500]
        st_on, on = direct(lab, path)
        assert json.loads(body) == on
    for res in ("configmaps", "pods"):
        path = f"/api/v1/namespaces/{world}/{res}/does-not-exist"
        st, body = offline.get(path)
        assert st == 404, body[:500]
        off = status_of(body)
        _, _, dbody = lab.admin.request("GET", path)
        on = status_of(dbody)
        assert (off["code"], off["reason"], off["message"], off["status"]) == \
            (on["code"], on["reason"], on["message"], on["status"]) == \
            (404, "NotFound", f'{res} "does-not-exist" not found', "Failure")
        assert off.get("details", {}).get("name") == "does-not-exist"


def collect_pages(fetch, path, limit):
    sep = "&" if "?" in path else "?"
    pages, token = [], None
    while True:
        page = fetch(f"{path}{sep}limit={limit}" + (f"&continue={q(token)}" if token else ""))
        pages.append(page)
        token = page["metadata"].get("continue")
        if not token:
            return pages
        assert len(pages) < 100, "pagination does not end"


@pytest.mark.parametrize("resource,selector,limit", [
    ("configmaps", None, 7),
    ("configmaps", "group=many", 6),
    ("configmaps", None, 1000),
    ("pods", None, 1),
])
def test_offline_pagination(lab, world, offline, resource, selector, limit):
    path = f"/api/v1/namespaces/{world}/{resource}" + (f"?labelSelector={q(selector)}" if selector else "")
    st, full = direct(lab, path)
    assert st == 200
    online_pages = collect_pages(lambda p: direct(lab, p)[1], path, limit)
    pages = collect_pages(offline.list, path, limit)
    seen = [i for page in pages for i in page["items"]]
    assert names_rvs(seen) == names_rvs(full["items"])
    assert len(seen) == len({i["metadata"]["name"] for i in seen}), "an item was served twice"
    assert names_rvs([i for page in online_pages for i in page["items"]]) == names_rvs(full["items"])
    assert all(len(p["items"]) <= limit for p in pages), [len(p["items"]) for p in pages]
    assert len({p["metadata"]["resourceVersion"] for p in pages}) == 1, "pages from different snapshots"


# ------------------------------------------------------------------------------------------- watches
def test_offline_watch_bookmarks_until_timeout(world, offline):
    offline.require()
    base = f"/api/v1/namespaces/{world}/configmaps"
    rv = offline.list(base)["metadata"]["resourceVersion"]
    w = WatchStream(offline.proxy.http, f"{base}?watch=1&resourceVersion={rv}&allowWatchBookmarks=true"
                                        f"&timeoutSeconds=12", timeout=30)
    try:
        assert w.status == 200, w.body[:500]
        assert w.ended.wait(25), f"the watch was not closed at timeoutSeconds (events: {len(w.events)})"
    finally:
        w.close()
    took = w.duration()
    assert w.error is None, w.error
    assert 10.0 <= took < 20.0, f"watch with timeoutSeconds=12 lasted {took:.1f}s"
    kinds = [e["type"] for e in w.events]
    assert kinds.count("BOOKMARK") >= 1, kinds
    assert set(kinds) == {"BOOKMARK"}, [summarize_event(e) for e in w.events]       # nothing changed
    for e in w.events:
        o = e["object"]
        assert o["kind"] == "ConfigMap" and o["apiVersion"] == "v1"
        assert int(o["metadata"]["resourceVersion"]) >= int(rv)


@pytest.mark.parametrize("rv_param,selector", [("&resourceVersion=0", None), ("", None),
                                               ("&resourceVersion=0", "app=web")])
def test_offline_watch_starts_with_current_objects(lab, world, offline, rv_param, selector):
    offline.require()
    base = f"/api/v1/namespaces/{world}/configmaps"
    sel = f"&labelSelector={q(selector)}" if selector else ""
    st, now = direct(lab, base + (f"?labelSelector={q(selector)}" if selector else ""))
    want = {i["metadata"]["name"]: i for i in now["items"]}
    w = WatchStream(offline.proxy.http, f"{base}?watch=1{rv_param}{sel}&timeoutSeconds=30", timeout=30)
    try:
        assert w.status == 200, w.body[:500]
        got = {}

        def all_added(e):
            assert e["type"] == "ADDED", summarize_event(e)
            got[e["object"]["metadata"]["name"]] = bare(e["object"])
            return len(got) == len(want)

        w.wait_for(all_added, 10, f"ADDED for all {len(want)} objects")
        assert got == want
        time.sleep(0.5)
        assert [e["type"] for e in w.events[len(want):]] in ([], ["BOOKMARK"]), "more than the current objects"
    finally:
        w.close()


def test_offline_watch_from_old_rv_is_410(world, offline):
    base = f"/api/v1/namespaces/{world}/configmaps"
    listed = offline.list(base)
    old = min(int(i["metadata"]["resourceVersion"]) for i in listed["items"])
    assert old < int(listed["metadata"]["resourceVersion"])
    for rv in (str(old), "1"):
        w = WatchStream(offline.proxy.http, f"{base}?watch=1&resourceVersion={rv}&timeoutSeconds=20", timeout=30)
        try:
            assert w.status == 200, w.body[:500]
            ev = w.wait_for(lambda e: True, 10, "the first event")
        finally:
            w.close()
        assert ev["type"] == "ERROR", summarize_event(ev)
        s = ev["object"]
        assert s["kind"] == "Status" and s["code"] == 410 and s["reason"] == "Expired", s


# ------------------------------------------------------------------------------------------- errors
def test_offline_writes_are_503(world, offline):
    offline.require()
    base = f"/api/v1/namespaces/{world}/configmaps"
    writes = [
        ("POST", base, cm_obj("offline-new"), None),
        ("PUT", f"{base}/cm-a", cm_obj("cm-a", data={"k": "put"}), None),
        ("PATCH", f"{base}/cm-a", json.dumps({"data": {"k": "patched"}}).encode(),
         {"Content-Type": "application/merge-patch+json"}),
        ("DELETE", f"{base}/cm-b", None, None),
        ("POST", f"/api/v1/namespaces/{world}/pods", pod_obj("offline-pod", node="node-1"), None),
    ]
    for method, path, body, hdr in writes:
        st, _, data, took = timed_request(offline.proxy.http, method, path, body=body, headers=hdr)
        assert st == 503, f"{method} {path} -> {st}: {data[:300]!r}"
        s = status_of(data)
        assert s["code"] == 503 and s["status"] == "Failure" and s["reason"] == "ServiceUnavailable", s
        assert len(s.get("message", "")) > 20, s


def test_offline_never_cached_is_503(lab, world, proxy_factory, ns_factory):
    """A scope the caller may read but Outpost never cached completely is a 503, never an empty
    list; one the caller never read while online is refused (403), also without data."""
    unseen = ns_factory("never-cached")                # exists in the cloud, Outpost never listed it
    create_objects(lab.admin, unseen, "configmaps", [cm_obj("there")])
    p, relay = proxy_factory()
    warm(p, world)
    # Confirms the caller may watch (and so read) unseen's configmaps; a watch completes no scope.
    st, _, _ = p.http.request("GET", f"/api/v1/namespaces/{unseen}/configmaps?watch=true&timeoutSeconds=1")
    assert st == 200
    relay.set_mode("blackhole")
    # A request without a local answer (a resource of unknown scope under a namespace path: no
    # discovery says it is namespaced) is refused at once only when Outpost judges the apiserver
    # offline (the health probe, about a second after a silent cut).
    unknown = f"/apis/outpost-e2e.example.com/v1/namespaces/{world}/widgets"
    wait_until(lambda: p.http.request("GET", unknown, timeout=3)[0] == 503, 20,
               what="Outpost to judge the apiserver offline")
    for path in (f"/api/v1/namespaces/{unseen}/configmaps",          # confirmed, never listed
                 unknown):                                          # nothing Outpost may cache
        st, _, body, _ = timed_request(p.http, "GET", path, timeout=REQ_TIMEOUT)
        assert st == 503, f"{path} -> {st}: {body[:300]!r}"
        s = status_of(body)
        assert s["code"] == 503 and s["reason"] == "ServiceUnavailable", s
    # (not pods: the warm-up listed all pods cluster-wide, which legitimately covers any namespace)
    for path in (f"/api/v1/configmaps",                               # never listed cluster-wide
                 f"/api/v1/namespaces/{world}/secrets",              # cached kind, never read here
                 f"/api/v1/namespaces/{world}/serviceaccounts"):     # every kind is cached by default
        st, _, body, _ = timed_request(p.http, "GET", path, timeout=REQ_TIMEOUT)
        assert st == 403, f"{path} -> {st}: {body[:300]!r}"
        s = status_of(body)
        assert s["code"] == 403 and s["reason"] == "Forbidden" and "while it was reachable" in s["message"], s


def test_admin_endpoints_offline(offline):
    """The cache's metrics are not final: only check that /metrics stays valid Prometheus text."""
    from test_admin import parse_metrics

    offline.require()
    st, _, body = offline.proxy.admin_http.request("GET", "/healthz", timeout=5)
    assert (st, body.strip()) == (200, b"ok")
    st, h, body = offline.proxy.admin_http.request("GET", "/metrics", timeout=5)
    assert st == 200 and h["content-type"].startswith("text/plain")
    types, samples = parse_metrics(body.decode())
    assert samples


# ------------------------------------------------------------------------------------------- kubectl
@pytest.mark.parametrize("case", ["all", "label", "field"])
def test_kubectl_offline(world, offline, case):
    offline.require()
    args = kubectl_cases(world)[case]
    r = offline.k.proxy_run(*args, "--request-timeout=10s", check=False)
    assert r.returncode == 0, f"kubectl {' '.join(args)} offline -> rc={r.returncode}\n{r.stdout}\n{r.stderr}"
    assert kubectl_pods(case, world, r.stdout) == KUBECTL_EXPECTED[case], r.stdout
    if case != "all":
        assert r.stdout == offline.kubectl_online[case]


# ------------------------------------------------------------------------------------------- own proxies
@pytest.mark.parametrize("mode", ["blackhole", "reset", "refuse"])
def test_first_list_after_cut_is_fast(lab, world, proxy_factory, mode):
    p, relay = proxy_factory()
    warm(p, world)
    path = f"/api/v1/namespaces/{world}/configmaps"
    relay.set_mode(mode)
    st, _, body, took = timed_request(p.http, "GET", path)
    off = decode(st, body, path)
    assert took < FIRST_ANSWER_BUDGET, f"first list after a {mode} cut took {took:.2f}s"
    _, on = direct(lab, path)
    assert names_rvs(off["items"]) == names_rvs(on["items"])
    # and the next ones are fast too (Outpost knows it is offline now)
    for sub in (f"{path}?labelSelector={q('app=web')}", f"{path}/cm-c", f"/api/v1/namespaces/{world}/pods"):
        st, _, body, took = timed_request(p.http, "GET", sub)
        assert st == 200 and took < FIRST_ANSWER_BUDGET, (sub, st, took, body[:200])


def test_selector_scoped_list_answers_only_its_scope(lab, world, proxy_factory):
    """A list with a selector completes only that scope: offline, the whole namespace (or another
    selector) is not guessed from it."""
    p, relay = proxy_factory()
    base = f"/api/v1/namespaces/{world}/configmaps"
    scoped = f"{base}?labelSelector={q('app=web')}"
    online = via(p, scoped)
    relay.set_mode("blackhole")
    st, _, body, _ = timed_request(p.http, "GET", scoped)
    assert names_rvs(decode(st, body, scoped)["items"]) == names_rvs(online["items"])
    for other in (base, f"{base}?labelSelector={q('app=db')}"):
        st, _, body, _ = timed_request(p.http, "GET", other)
        assert st == 503, f"{other} -> {st}: {body[:300]!r}"
        assert status_of(body)["reason"] == "ServiceUnavailable"


def test_writes_through_outpost_update_cache(lab, proxy_factory, ns_factory):
    ns = ns_factory("writes")
    base = f"/api/v1/namespaces/{ns}/configmaps"
    create_objects(lab.admin, ns, "configmaps", [cm_obj(f"w-{i}", data={"v": "0"}) for i in range(4)])
    p, relay = proxy_factory()
    via(p, base)                                         # the namespace's scope is complete
    made = p.http.json("POST", base, cm_obj("w-new", data={"v": "new"}))
    patched = parallel_requests(p.http, [("PATCH", f"{base}/w-1", {"data": {"v": "patched"}})])[0]
    cur = lab.admin.json("GET", f"{base}/w-2")
    cur["data"] = {"v": "put"}
    put = p.http.json("PUT", f"{base}/w-2", cur)
    relay.set_mode("blackhole")
    off = via(p, base)
    got = {i["metadata"]["name"]: (i["metadata"]["resourceVersion"], i["data"]["v"]) for i in off["items"]}
    assert got["w-new"] == (made["metadata"]["resourceVersion"], "new")
    assert got["w-1"] == (patched["metadata"]["resourceVersion"], "patched")
    assert got["w-2"] == (put["metadata"]["resourceVersion"], "put")
    assert sorted(got) == ["w-0", "w-1", "w-2", "w-3", "w-new"]
    assert via(p, f"{base}/w-new")["data"] == {"v": "new"}


def test_watch_events_keep_cache_fresh(lab, proxy_factory, ns_factory):
    ns = ns_factory("fresh")
    base = f"/api/v1/namespaces/{ns}/configmaps"
    create_objects(lab.admin, ns, "configmaps", [cm_obj(f"f-{i}", data={"v": "0"}) for i in range(4)])
    p, relay = proxy_factory()
    listed = via(p, base)
    w = WatchStream(p.http, f"{base}?watch=1&resourceVersion={listed['metadata']['resourceVersion']}"
                            f"&timeoutSeconds=60", timeout=30)
    try:
        assert w.status == 200
        lab.admin.json("POST", base, cm_obj("f-new", data={"v": "new"}))
        parallel_requests(lab.admin, [("PATCH", f"{base}/f-1", {"data": {"v": "changed"}})])
        lab.admin.request("DELETE", f"{base}/f-2")
        last = w.wait_for(lambda e: e["type"] == "DELETED", 10, "DELETED f-2")
    finally:
        w.close()
    assert [summarize_event(e)[:2] for e in w.events] == [("ADDED", "f-new"), ("MODIFIED", "f-1"), ("DELETED", "f-2")]
    _, cloud = direct(lab, base)
    relay.set_mode("blackhole")
    off = via(p, base)
    assert names_rvs(off["items"]) == names_rvs(cloud["items"])
    assert {i["metadata"]["name"]: i["data"]["v"] for i in off["items"]} == \
        {"f-0": "0", "f-1": "changed", "f-3": "0", "f-new": "new"}
    assert int(off["metadata"]["resourceVersion"]) >= int(last["object"]["metadata"]["resourceVersion"])
    st, body = p.http.request("GET", f"{base}/f-2", timeout=REQ_TIMEOUT)[::2]
    assert st == 404, body[:300]


def test_restart_offline_after_sigterm(lab, world, proxy_factory):
    p, relay = proxy_factory()
    warm(p, world)
    relay.set_mode("blackhole")
    paths = [f"/api/v1/namespaces/{world}/configmaps", f"/api/v1/namespaces/{world}/pods",
             f"/api/v1/namespaces/{world}/configmaps/cm-d"]
    before = {path: via(p, path) for path in paths}
    rc = p.stop()                                        # SIGTERM

    p2, _ = proxy_factory(relay=relay, cache_dir=p.cache_dir, wait_ready=False)     # still cut
    p2.wait_listening(30)
    st, _, body, took = timed_request(p2.http, "GET", paths[0])
    assert decode(st, body, paths[0]) == before[paths[0]]
    assert took < FIRST_ANSWER_BUDGET, f"first offline answer after the restart took {took:.2f}s"
    for path in paths[1:]:
        assert via(p2, path) == before[path], path
    path = f"{paths[0]}?labelSelector={q('app in (web,db)')}"
    assert names_rvs(via(p2, path)["items"]) == names_rvs(direct(lab, path)[1]["items"])
    assert rc == 0, f"the first instance did not exit cleanly on SIGTERM (rc={rc})"


def test_kill9_during_watch_traffic_keeps_cache_consistent(lab, proxy_factory, ns_factory):
    ns = ns_factory("kill9")
    base = f"/api/v1/namespaces/{ns}/configmaps"
    names = [f"hot-{i:02d}" for i in range(30)]
    created = create_objects(lab.admin, ns, "configmaps", [cm_obj(n, {"hot": "yes"}, {"v": "0"}) for n in names])
    states = {n: {(c["metadata"]["resourceVersion"], "0")} for n, c in zip(names, created)}  # (rv, v) it ever had
    lock = threading.Lock()

    p, relay = proxy_factory()
    listed = via(p, base)
    assert item_names(listed) == names
    w = WatchStream(p.http, f"{base}?watch=1&resourceVersion={listed['metadata']['resourceVersion']}"
                            f"&timeoutSeconds=120", timeout=30)
    assert w.status == 200

    stop = threading.Event()
    counter = iter(range(1, 10**9))
    errors = []

    def patcher(seed):
        rnd = random.Random(seed)
        conn = lab.admin.connect(30)
        try:
            while not stop.is_set():
                name = rnd.choice(names)
                with lock:
                    v = str(next(counter))
                st, _, data = lab.admin.request("PATCH", f"{base}/{name}", json.dumps({"data": {"v": v}}).encode(),
                                                headers={"Content-Type": "application/merge-patch+json"}, conn=conn)
                if st != 200:
                    errors.append((st, data[:200]))
                    return
                o = json.loads(data)
                with lock:
                    states[name].add((o["metadata"]["resourceVersion"], o["data"]["v"]))
        except Exception as e:
            errors.append(e)
        finally:
            conn.close()

    threads = [threading.Thread(target=patcher, args=(s,), daemon=True) for s in range(3)]
    for t in threads:
        t.start()
    try:
        wait_until(lambda: len(w.events) >= 100, 20, what="heavy watch traffic through Outpost")
        p.signal(signal.SIGKILL)                         # in the middle of it
        p.proc.wait(10)
        time.sleep(0.3)
    finally:
        stop.set()
        for t in threads:
            t.join(10)
        w.close()
    assert not errors, errors[:3]

    relay.set_mode("blackhole")
    p2, _ = proxy_factory(relay=relay, cache_dir=p.cache_dir, wait_ready=False)
    p2.wait_listening(30)
    off = via(p2, base)                                  # parses: a complete, valid list
    _, cloud = direct(lab, base)
    assert item_names(off) == item_names(cloud) == names
    now = {i["metadata"]["name"]: int(i["metadata"]["resourceVersion"]) for i in cloud["items"]}
    bad = []
    for o in off["items"]:
        n, rv = o["metadata"]["name"], o["metadata"]["resourceVersion"]
        if int(rv) > now[n] or (rv, o["data"]["v"]) not in states[n]:
            bad.append((n, rv, o["data"]))
    assert not bad, f"cached objects that the apiserver never had: {bad[:5]}"
    assert int(off["metadata"]["resourceVersion"]) >= int(listed["metadata"]["resourceVersion"])
    for o in off["items"][:3]:                           # single gets agree with the list
        assert bare(via(p2, f"{base}/{o['metadata']['name']}")) == bare(o)


def test_list_cut_mid_body_keeps_previous_scope(lab, proxy_factory, ns_factory):
    ns = ns_factory("midbody")
    base = f"/api/v1/namespaces/{ns}/configmaps"
    blob = "b" * 12_000
    create_objects(lab.admin, ns, "configmaps", [cm_obj(f"big-{i:03d}", data={"blob": blob, "v": "old"})
                                                 for i in range(40)])
    p, relay = proxy_factory()
    old = via(p, base)                                   # cached, complete
    assert len(old["items"]) == 40
    # the cloud moves on: one object gone (before the cut point), one added and one changed (after it)
    lab.admin.request("DELETE", f"{base}/big-000")
    lab.admin.json("POST", base, cm_obj("big-zzz", data={"v": "new"}))
    parallel_requests(lab.admin, [("PATCH", f"{base}/big-039", {"data": {"v": "new"}})])
    _, cloud = direct(lab, base)
    assert len(json.dumps(cloud)) > 400_000

    relay.cut_after(150_000, "blackhole")               # ~12 objects in, then a dead link
    outcome = None
    try:
        st, _, body = p.http.request("GET", base, headers={"Accept": "application/json"}, timeout=REQ_TIMEOUT)
        outcome = (st, body)
    except Exception as e:                               # truncated / reset: what a client should see
        outcome = e
    assert relay.ctl("status").get("tripped") == 1, "the relay did not cut the list"
    if isinstance(outcome, tuple):
        st, body = outcome
        try:
            got = json.loads(body)
        except ValueError:
            got = None                                   # a truncated body is fine
        if got is not None and st == 200:                # a complete answer can only be the cached one
            assert names_rvs(got["items"]) == names_rvs(old["items"]), "a partial list was served as complete"

    off = via(p, base)                                   # offline now: the previous scope, intact
    assert names_rvs(off["items"]) == names_rvs(old["items"])
    assert {i["data"]["v"] for i in off["items"]} == {"old"}


def test_recovery_after_outage(lab, proxy_factory, ns_factory):
    ns = ns_factory("recover")
    base = f"/api/v1/namespaces/{ns}/configmaps"
    create_objects(lab.admin, ns, "configmaps", [cm_obj(f"r-{i}", data={"v": "before"}) for i in range(5)])
    p, relay = proxy_factory()
    via(p, base)
    relay.set_mode("blackhole")
    st, _, body, took = timed_request(p.http, "GET", base)
    offline_list = decode(st, body, base)
    assert took < FIRST_ANSWER_BUDGET
    # the cloud changes during the outage
    lab.admin.json("POST", base, cm_obj("during-outage"))
    parallel_requests(lab.admin, [("PATCH", f"{base}/r-0", {"data": {"v": "during"}})])
    assert "during-outage" not in item_names(via(p, base))
    w = WatchStream(p.http, f"{base}?watch=1&resourceVersion={offline_list['metadata']['resourceVersion']}"
                            f"&timeoutSeconds=120", timeout=130)
    assert w.status == 200, w.body[:500]
    time.sleep(0.5)
    assert not w.ended.is_set()

    relay.set_mode("pass")
    restored = time.monotonic()

    def caught_up():
        lst = via(p, base, timeout=5)
        r0 = [i for i in lst["items"] if i["metadata"]["name"] == "r-0"]
        return "during-outage" in item_names(lst) and r0 and r0[0]["data"]["v"] == "during"

    wait_until(caught_up, 10, what="the outage's changes through Outpost after the link came back")
    caught = time.monotonic() - restored
    # offline watches end when the cloud returns (clients re-list and re-watch online)
    assert w.ended.wait(max(0.1, 10 - (time.monotonic() - restored))), "the offline watch was not ended"
    w.close()
    # changes after the restore flow through as usual; writes work again
    lab.admin.json("POST", base, cm_obj("after-restore"))
    wait_until(lambda: "after-restore" in item_names(via(p, base, timeout=5)), 10, what="a post-restore change")
    st, _, body = p.http.request("POST", base, cm_obj("written-through"))
    assert st == 201, body[:300]
    assert direct(lab, f"{base}/written-through")[0] == 200
    assert caught < 10
