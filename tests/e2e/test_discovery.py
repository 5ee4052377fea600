"""Discovery offline from the first boot, and offline answers from a wider complete scope.

One Outpost (behind its own relay) starts online and, without any client asking, fetches
/version, /api, /apis and every resource list. Clients then fill a few scopes (raw HTTP, the way
kubelet and the Python client read), one OpenAPI document is asked once, and the link is cut.
Offline, kubectl run for the first time on this node (a fresh HOME and --cache-dir) must work, and
lists narrower than a cached complete scope must equal the apiserver's own answers.
"""
import hashlib
import json
import os
import sqlite3
import subprocess
import urllib.parse

import pytest

from harness import KUBECTL, cm_obj, create_objects, parallel_requests, pod_obj, timed_request, wait_until
from test_admin import parse_metrics

pytestmark = pytest.mark.usefixtures("outpost_only")

# kubectl 1.32's discovery Accept (aggregated first, then the plain form the 1.20 apiserver has)
AGGREGATED = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
              "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json")
OPENAPI_PB = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
NODE = "disc-node-1"


def q(s):
    return urllib.parse.quote(s, safe="")


def metric(proxy, name):
    st, _, body = proxy.admin_http.request("GET", "/metrics", timeout=5)
    assert st == 200
    _, samples = parse_metrics(body.decode())
    return sum(v for n, labels, v in samples if n + labels == name)


def items(body):
    return sorted((i["metadata"]["namespace"], i["metadata"]["name"], i["metadata"]["resourceVersion"])
                  for i in json.loads(body)["items"])


def fresh_kubectl(proxy, home, *args):
    """kubectl as on a node where it never ran: empty HOME and discovery cache, no kubeconfig."""
    env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG",)}
    env["HOME"] = str(home)
    return subprocess.run([KUBECTL, f"--server={proxy.url}", f"--cache-dir={home}/kcache", "--request-timeout=10s", *args],
                          env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def world(lab, ns):
    create_objects(lab.admin, ns, "pods", [pod_obj("web-1", {"app": "web"}, NODE), pod_obj("web-2", {"app": "web"}, "disc-node-2"),
                                           pod_obj("db-1", {"app": "db"}, NODE)])
    create_objects(lab.admin, ns, "configmaps", [cm_obj("cm-front", {"app": "web", "tier": "front"}),
                                                 cm_obj("cm-back", {"app": "web", "tier": "back"}),
                                                 cm_obj("cm-db", {"app": "db"})])
    return ns


@pytest.fixture(scope="module")
def cut(lab, world, workdir, tmp_path_factory):
    from harness import ProxyProcess, RelayProcess

    relay = RelayProcess(f"{lab.host}:{lab.port}", workdir).start()
    p = ProxyProcess(lab, workdir, server_addr=relay.url, name="proxy-discovery").start()
    try:
        # Outpost fetched discovery by itself: nobody asked it.
        wait_until(lambda: metric(p, 'outpost_discovery_refreshes_total{result="complete"}') >= 1, 30,
                   what="Outpost's own discovery refresh")
        assert metric(p, 'outpost_cache_answers_total{kind="discovery"}') == 0
        # Scopes clients fill: kubelet's pods of its node, all pods, one selector of configmaps.
        online = {}
        for path in (f"/api/v1/pods?fieldSelector={q('spec.nodeName=' + NODE)}", "/api/v1/pods",
                     f"/api/v1/namespaces/{world}/configmaps?labelSelector={q('app=web')}"):
            st, _, body = p.http.request("GET", path, headers={"Accept": "application/json"}, timeout=30)
            assert st == 200, (path, body[:300])
            online[path] = body
        # One OpenAPI document, asked once in kubectl's form; Outpost then fetches and keeps it.
        st, h, openapi = p.http.request("GET", "/openapi/v2", headers={"Accept": OPENAPI_PB}, timeout=60)
        assert st == 200 and len(openapi) > 100_000
        online_type = h["content-type"]     # the 1.20 apiserver says application/octet-stream

        def stored():
            db = sqlite3.connect(f"file:{p.cache_dir}/cache.db?mode=ro", uri=True)
            try:
                return db.execute("SELECT count(*) FROM documents WHERE key=?", (f"doc:/openapi/v2 accept={OPENAPI_PB}",)).fetchone()[0]
            finally:
                db.close()
        wait_until(lambda: stored() == 1, 60, what="the OpenAPI document in the cache")
        relay.set_mode("blackhole")
        # Every resource is cached now (reads are answered either way): /status says when the
        # apiserver is judged away.
        wait_until(lambda: json.loads(p.admin_http.request("GET", "/status", timeout=3)[2])["apiserver"]["state"] == "offline", 20,
                   what="Outpost to judge the apiserver offline")
        yield p, relay, (openapi, online_type)
    finally:
        p.stop()
        relay.stop()


def test_first_kubectl_on_the_node_works_offline(lab, world, cut, tmp_path):
    p, _, _ = cut
    before = metric(p, 'outpost_cache_answers_total{kind="discovery"}')
    r = fresh_kubectl(p, tmp_path / "a", "get", "pods", "-n", world, "-o", "name")
    assert r.returncode == 0, f"rc={r.returncode}\n{r.stdout}\n{r.stderr}"
    assert sorted(r.stdout.split()) == ["pod/db-1", "pod/web-1", "pod/web-2"], r.stdout
    r = fresh_kubectl(p, tmp_path / "b", "api-resources")
    assert r.returncode == 0, f"rc={r.returncode}\n{r.stdout}\n{r.stderr}"
    direct = subprocess.run([KUBECTL, f"--kubeconfig={lab.kubeconfig}", f"--cache-dir={tmp_path}/direct", "api-resources"],
                            capture_output=True, text=True, timeout=60, check=True)
    assert r.stdout == direct.stdout
    assert metric(p, 'outpost_cache_answers_total{kind="discovery"}') - before >= 2 * 20, "discovery came from the cache"


def test_first_kubectl_explain_works_offline(cut, tmp_path):
    """kubectl explain asks /openapi/v3 (the 1.20 apiserver has none: 404 online, 503 offline) and falls
    back to /openapi/v2 in protobuf, which a client asked once before the cut."""
    p, _, _ = cut
    r = fresh_kubectl(p, tmp_path, "explain", "pods.spec.nodeName")
    assert r.returncode == 0, f"rc={r.returncode}\n{r.stdout}\n{r.stderr}"
    assert "nodeName" in r.stdout and "KIND:" in r.stdout


@pytest.mark.parametrize("path", ["/version", "/api", "/api/v1", "/apis", "/apis/apps/v1", "/apis/coordination.k8s.io/v1"])
def test_discovery_offline_keeps_the_apiservers_content_type(lab, cut, path):
    p, _, _ = cut
    st, h, body = lab.admin.request("GET", path, headers={"Accept": AGGREGATED}, timeout=30)
    assert st == 200
    off_st, off_h, off_body, _ = timed_request(p.http, "GET", path, headers={"Accept": AGGREGATED})
    assert off_st == 200, off_body[:300]
    assert off_h["content-type"] == h["content-type"]
    assert json.loads(off_body) == json.loads(body)


def test_openapi_asked_once_is_answered_offline(cut):
    p, _, (online, online_type) = cut
    st, h, body, _ = timed_request(p.http, "GET", "/openapi/v2", headers={"Accept": OPENAPI_PB}, timeout=30)
    assert st == 200 and h["content-type"] == online_type
    assert len(body) == len(online) and hashlib.sha256(body).digest() == hashlib.sha256(online).digest()
    # a form never asked is not guessed
    st, _, _, _ = timed_request(p.http, "GET", "/openapi/v2", headers={"Accept": "application/json"})
    assert st == 503


def narrower_cases(ns):
    node = q("spec.nodeName=" + NODE)
    return [
        # kubelet's complete scope answers itself plus a label selector
        f"/api/v1/pods?fieldSelector={node}&labelSelector={q('app=web')}",
        f"/api/v1/pods?fieldSelector={q('spec.nodeName=' + NODE + ',status.phase!=Failed')}",
        # all pods answer one namespace, with or without selectors
        f"/api/v1/namespaces/{ns}/pods",
        f"/api/v1/namespaces/{ns}/pods?labelSelector={q('app in (db)')}",
        # a label selector scope answers a narrower set
        f"/api/v1/namespaces/{ns}/configmaps?labelSelector={q('app=web,tier=front')}",
        f"/api/v1/namespaces/{ns}/configmaps?labelSelector={q('app in (web),tier!=front')}",
    ]


@pytest.mark.parametrize("i", range(6))
def test_narrower_list_equals_the_apiservers(lab, world, cut, i):
    p, _, _ = cut
    path = narrower_cases(world)[i]
    st, _, body = lab.admin.request("GET", path, headers={"Accept": "application/json"}, timeout=30)
    assert st == 200
    off_st, _, off_body, _ = timed_request(p.http, "GET", path)
    assert off_st == 200, f"{path} -> {off_st}: {off_body[:300]!r}"
    assert items(off_body) == items(body)


def test_narrower_watch_replays_its_objects(lab, world, cut):
    p, _, _ = cut
    path = f"/api/v1/namespaces/{world}/pods?watch=1&timeoutSeconds=1&fieldSelector={q('spec.nodeName=' + NODE)}&labelSelector={q('app=db')}"
    st, _, body, _ = timed_request(p.http, "GET", path)
    assert st == 200
    events = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "db-1")]


@pytest.mark.parametrize("selector", ["app", "app!=db", "app in (web,db)", "tier=front"])
def test_scopes_that_may_miss_objects_are_503(world, cut, selector):
    p, _, _ = cut
    path = f"/api/v1/namespaces/{world}/configmaps?labelSelector={q(selector)}"
    st, _, body, _ = timed_request(p.http, "GET", path)
    assert st == 503, f"{path} -> {st}: {body[:300]!r}"
    assert json.loads(body)["reason"] == "ServiceUnavailable"


def test_recovery_refreshes_discovery(lab, cut):
    """After an outage Outpost fetches discovery again by itself: a group created upstream while the
    link was cut is known offline after the next outage (kept last: it reconnects the module's Outpost)."""
    import secrets

    p, relay, _ = cut
    group = f"disc-{secrets.token_hex(3)}.example.com"
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": f"widgets.{group}"},
           "spec": {"group": group, "scope": "Namespaced",
                    "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                    "versions": [{"name": "v1", "served": True, "storage": True,
                                  "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}}
    crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    lab.admin.json("POST", crds, crd)
    try:
        wait_until(lambda: lab.admin.request("GET", f"/apis/{group}/v1")[0] == 200, 30, what="the CRD's group served")
        refreshes = metric(p, 'outpost_discovery_refreshes_total{result="complete"}')
        relay.set_mode("pass")
        # up to 10 s of recovery jitter, then the refresh itself
        wait_until(lambda: metric(p, 'outpost_discovery_refreshes_total{result="complete"}') > refreshes, 40,
                   what="a discovery refresh after the outage")
        relay.set_mode("blackhole")
        wait_until(lambda: json.loads(p.admin_http.request("GET", "/status", timeout=3)[2])["apiserver"]["state"] == "offline", 20,
                   what="Outpost to judge the apiserver offline again")
        st, _, body, _ = timed_request(p.http, "GET", f"/apis/{group}/v1")
        assert st == 200, body[:300]
        assert [r["name"] for r in json.loads(body)["resources"]] == ["widgets"]
        st, _, body, _ = timed_request(p.http, "GET", "/apis")
        assert group in [g["name"] for g in json.loads(body)["groups"]]
    finally:
        lab.admin.request("DELETE", f"{crds}/widgets.{group}")
