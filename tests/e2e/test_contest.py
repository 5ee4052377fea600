"""The original contest benchmark, re-created end to end against the real apiserver:

  functional   an informer (list + watch through Outpost) sees every object's final state within 5 s
               of the last change made in the cloud
  filter       `skip-*` Pods and ConfigMaps never reach a client (list, get, watch, kubectl); a
               --config file replaces the default rule
  consistency  100 ConfigMaps written through Outpost, listed once, then the link is cut: a label
               selector list served offline returns exactly those 100
"""
import collections
import json
import threading
import time
import urllib.parse

import pytest
from kubernetes import client, watch

from harness import (WatchStream, cm_obj, create_objects, names_rvs, parallel_requests, pod_obj, summarize_event,
                     timed_request)

N = 100


def core_api(url):
    cfg = client.Configuration()
    cfg.host = url
    c = client.ApiClient(cfg)
    return c, client.CoreV1Api(c)


def list_json(http, path, timeout=10):
    st, _, body = http.request("GET", path, headers={"Accept": "application/json"}, timeout=timeout)
    assert st == 200, f"GET {path} -> {st}: {body[:500]!r}"
    return json.loads(body)


def names(lst):
    return sorted(i["metadata"]["name"] for i in lst["items"])


def q(s):
    return urllib.parse.quote(s, safe="")


# ------------------------------------------------------------------------------------------ functional
def test_informer_sees_every_final_state_within_5s(lab, proxy, ns_factory):
    ns = ns_factory("contest-fn")
    create_objects(lab.admin, ns, "configmaps", [cm_obj(f"cm-{i:03d}", {"contest": "functional"}, {"v": "0"})
                                                 for i in range(N)])
    api_client, api = core_api(proxy.url)
    try:
        listed = api.list_namespaced_config_map(ns)                  # the informer's initial list
        assert sorted(i.metadata.name for i in listed.items) == [f"cm-{i:03d}" for i in range(N)]
        assert all(i.data == {"v": "0"} for i in listed.items)
        list_rv = listed.metadata.resource_version

        history = collections.defaultdict(list)                       # name -> [v, ...] as seen
        final_at = {}
        errors = []
        w = watch.Watch()

        def informer():
            try:
                for ev in w.stream(api.list_namespaced_config_map, ns, resource_version=list_rv,
                                   timeout_seconds=120):
                    raw = ev["raw_object"]
                    if ev["type"] not in ("ADDED", "MODIFIED"):
                        errors.append(("unexpected event", ev["type"], raw.get("metadata", {}).get("name"), raw))
                        continue
                    name, v = raw["metadata"]["name"], raw.get("data", {}).get("v")
                    history[name].append(v)
                    if v == "final":
                        final_at[name] = time.monotonic()
                        if len(final_at) == N:
                            w.stop()
            except Exception as e:  # surfaced below
                errors.append(e)

        t = threading.Thread(target=informer, daemon=True)
        t.start()

        base = f"/api/v1/namespaces/{ns}/configmaps"
        for v in ("1", "2", "3", "final"):                             # 3 patches + a final one per object
            parallel_requests(lab.admin, [("PATCH", f"{base}/cm-{i:03d}", {"data": {"v": v}}) for i in range(N)])
        last_patch = time.monotonic()
        t.join(timeout=5.0)
        took = time.monotonic() - last_patch
        w.stop()

        assert not errors, errors[:5]
        missing = sorted(set(f"cm-{i:03d}" for i in range(N)) - set(final_at))
        assert not missing, (f"{len(missing)} objects' final state not seen through the watch {took:.1f}s after "
                             f"the last patch: {missing[:10]} (history: {[history[m] for m in missing[:3]]})")
        assert max(final_at.values()) - last_patch < 5.0
        # every change arrived, in order, exactly once
        wrong = {n: h for n, h in history.items() if h != ["1", "2", "3", "final"]}
        assert not wrong, dict(list(wrong.items())[:5])
    finally:
        api_client.close()


# ------------------------------------------------------------------------------------------ filter
@pytest.fixture(scope="module")
def skip_world(lab, ns, outpost_only):
    """ns with 100 ConfigMaps (50 `skip-*`) and 2 Pods (1 `skip-*`), created directly on the apiserver."""
    cms = [cm_obj(f"skip-{i:03d}" if i % 2 else f"keep-{i:03d}", {"contest": "filter"}) for i in range(N)]
    create_objects(lab.admin, ns, "configmaps", cms)
    create_objects(lab.admin, ns, "pods", [pod_obj("skip-pod", {"contest": "filter"}, "node-1"),
                                           pod_obj("keep-pod", {"contest": "filter"}, "node-1")])
    keep = sorted(c["metadata"]["name"] for c in cms if c["metadata"]["name"].startswith("keep-"))
    assert len(keep) == N // 2
    return keep


def test_filter_list_drops_skip_objects(proxy, lab, ns, skip_world):
    base = f"/api/v1/namespaces/{ns}"
    direct = list_json(lab.admin, f"{base}/configmaps")
    assert len(direct["items"]) == N                                 # they exist in the cloud
    via = list_json(proxy.http, f"{base}/configmaps")
    assert names(via) == skip_world
    assert names_rvs(via["items"]) == names_rvs([i for i in direct["items"]
                                                 if not i["metadata"]["name"].startswith("skip-")])
    assert via["kind"] == "ConfigMapList"
    # with a selector, and cluster-wide too
    assert names(list_json(proxy.http, f"{base}/configmaps?labelSelector=contest%3Dfilter")) == skip_world
    wide = list_json(proxy.http, f"/api/v1/configmaps?labelSelector=contest%3Dfilter")
    assert names(wide) == skip_world
    # pods are filtered by the default rule as well
    assert names(list_json(lab.admin, f"{base}/pods")) == ["keep-pod", "skip-pod"]
    assert names(list_json(proxy.http, f"{base}/pods")) == ["keep-pod"]


def test_filter_get_is_404(proxy, lab, ns, skip_world):
    for res, name in (("configmaps", "skip-001"), ("pods", "skip-pod")):
        path = f"/api/v1/namespaces/{ns}/{res}/{name}"
        st, _, _ = lab.admin.request("GET", path)
        assert st == 200                                              # exists in the cloud
        st, _, body = proxy.http.request("GET", path, headers={"Accept": "application/json"})
        assert st == 404, body[:300]
        s = json.loads(body)
        # worded like the apiserver's own NotFound for an object that does not exist
        _, _, missing = lab.admin.request("GET", f"/api/v1/namespaces/{ns}/{res}/no-such-{name}")
        want = json.loads(missing)
        assert s["kind"] == "Status" and s["reason"] == "NotFound" and s["code"] == 404
        assert s["message"] == want["message"].replace(f"no-such-{name}", name)
    st, _, body = proxy.http.request("GET", f"/api/v1/namespaces/{ns}/configmaps/keep-000")
    assert st == 200 and json.loads(body)["metadata"]["name"] == "keep-000"


def test_filter_kubectl(k, ns, skip_world):
    p, d = k.both("get", "-n", ns, "configmaps", "-o", "name")
    assert sorted(p.stdout.split()) == [f"configmap/{n}" for n in skip_world]
    assert len(d.stdout.split()) == N
    # the default table output too (kubectl asks for a server-side Table)
    t = k.proxy_run("get", "-n", ns, "configmaps")
    rows = [l.split()[0] for l in t.stdout.splitlines()[1:] if l.strip()]
    assert sorted(rows) == skip_world
    r = k.proxy_run("get", "-n", ns, "configmap", "skip-003", check=False)
    assert r.returncode == 1 and 'configmaps "skip-003" not found' in r.stderr


def test_filter_watch_never_delivers_skip(proxy, lab, ns_factory, outpost_only):
    ns = ns_factory("contest-fw")
    base = f"/api/v1/namespaces/{ns}/configmaps"
    create_objects(lab.admin, ns, "configmaps", [cm_obj(n) for n in ("keep-a", "skip-a", "keep-b", "skip-b")])

    # a watch from rv=0 starts with ADDED for what exists: never the skip- ones
    w0 = WatchStream(proxy.http, f"{base}?watch=1&resourceVersion=0&timeoutSeconds=30")
    assert w0.status == 200
    lab.admin.json("POST", base, cm_obj("marker-0"))
    w0.wait_for(lambda e: e["object"]["metadata"]["name"] == "marker-0", 10, "marker-0")
    w0.close()
    assert sorted(e["object"]["metadata"]["name"] for e in w0.events) == ["keep-a", "keep-b", "marker-0"]
    assert {e["type"] for e in w0.events} == {"ADDED"}

    # a watch from the list's RV: changes to skip- objects are dropped, the others arrive
    rv = list_json(proxy.http, base)["metadata"]["resourceVersion"]
    w = WatchStream(proxy.http, f"{base}?watch=1&resourceVersion={rv}&timeoutSeconds=30")
    assert w.status == 200
    try:
        parallel_requests(lab.admin, [("PATCH", f"{base}/skip-a", {"data": {"x": "1"}}),
                                      ("PATCH", f"{base}/keep-a", {"data": {"x": "1"}})], threads=1)
        parallel_requests(lab.admin, [("POST", base, cm_obj("skip-new")), ("POST", base, cm_obj("keep-new"))],
                          threads=1)
        parallel_requests(lab.admin, [("DELETE", f"{base}/skip-b", None), ("DELETE", f"{base}/keep-b", None)],
                          threads=1)
        lab.admin.json("POST", base, cm_obj("marker-1"))
        w.wait_for(lambda e: e["object"]["metadata"]["name"] == "marker-1", 10, "marker-1")
    finally:
        w.close()
    got = [(e["type"], e["object"]["metadata"]["name"]) for e in w.events]
    assert got == [("MODIFIED", "keep-a"), ("ADDED", "keep-new"), ("DELETED", "keep-b"), ("ADDED", "marker-1")], \
        [summarize_event(e) for e in w.events]


def test_filter_rules_from_config_file(proxy_factory, lab, ns_factory, workdir, outpost_only):
    cfg = workdir / "outpost-hide-debug.yaml"
    cfg.write_text("filters:\n"
                   "  rules:\n"
                   "    - name: hide-debug\n"
                   "      resources: [configmaps]\n"
                   "      labelSelector: \"debug=true\"\n")
    p, _ = proxy_factory(with_relay=False, extra_args=["--config", cfg])
    ns = ns_factory("contest-cfg")
    create_objects(lab.admin, ns, "configmaps", [cm_obj("dbg-on", {"debug": "true"}), cm_obj("dbg-off", {"debug": "false"}),
                                                 cm_obj("skip-now-visible"), cm_obj("plain")])
    create_objects(lab.admin, ns, "pods", [pod_obj("skip-pod-visible", node="node-1")])
    base = f"/api/v1/namespaces/{ns}"
    # the rule hides debug=true configmaps; it replaced the default rule, so skip-* is visible again
    assert names(list_json(p.http, f"{base}/configmaps")) == ["dbg-off", "plain", "skip-now-visible"]
    assert names(list_json(p.http, f"{base}/pods")) == ["skip-pod-visible"]
    st, _, body = p.http.request("GET", f"{base}/configmaps/dbg-on")
    assert st == 404 and json.loads(body)["reason"] == "NotFound"
    st, _, _ = p.http.request("GET", f"{base}/configmaps/skip-now-visible")
    assert st == 200
    rv = list_json(p.http, f"{base}/configmaps")["metadata"]["resourceVersion"]
    w = WatchStream(p.http, f"{base}/configmaps?watch=1&resourceVersion={rv}&timeoutSeconds=30")
    try:
        lab.admin.json("POST", f"{base}/configmaps", cm_obj("dbg-new", {"debug": "true"}))
        lab.admin.json("POST", f"{base}/configmaps", cm_obj("marker"))
        w.wait_for(lambda e: e["object"]["metadata"]["name"] == "marker", 10, "marker")
    finally:
        w.close()
    assert [e["object"]["metadata"]["name"] for e in w.events] == ["marker"]


# ------------------------------------------------------------------------------------------ consistency
def test_consistency_after_cut(proxy_factory, lab, ns_factory, outpost_only):
    p, relay = proxy_factory()
    ns = ns_factory("contest-cons")
    base = f"/api/v1/namespaces/{ns}/configmaps"
    created = create_objects(p.http, ns, "configmaps",                   # written THROUGH Outpost
                             [cm_obj(f"c-{i:03d}", {"batch": "contest"}, {"i": str(i)}) for i in range(N)])
    create_objects(lab.admin, ns, "configmaps", [cm_obj(f"other-{i}", {"batch": "other"}) for i in range(5)]
                   + [cm_obj("unlabeled")])
    online = list_json(p.http, base)                                     # listed once, online
    assert len(online["items"]) == N + 6

    relay.set_mode("blackhole")
    st, _, body, took = timed_request(p.http, "GET", f"{base}?labelSelector={q('batch=contest')}")
    assert st == 200, body[:500]
    assert took < 3.0, f"first list after the cut took {took:.2f}s"
    off = json.loads(body)
    assert names_rvs(off["items"]) == names_rvs(created)
    assert [i["data"] for i in sorted(off["items"], key=lambda i: i["metadata"]["name"])] == \
        [{"i": str(i)} for i in range(N)]
