"""Every resource is cached by default, custom resources too, and offline a create of a cached
object gets the apiserver's 409, word for word (issue 11, points 2 and 7).

References are the apiserver's own answers to the same requests, asked through Outpost online.
"""
import json
import secrets
import subprocess
import time

import pytest

from harness import KUBECTL, wait_until

pytestmark = pytest.mark.usefixtures("outpost_only")


def get_json(http, path, timeout=10):
    st, _, body = http.request("GET", path, headers={"Accept": "application/json"}, timeout=timeout)
    return st, json.loads(body) if body else None


def post(http, path, obj, timeout=10):
    st, _, body = http.request("POST", path, body=obj, headers={"Accept": "application/json"}, timeout=timeout)
    return st, json.loads(body) if body else None


def go_offline(p, relay):
    relay.set_mode("blackhole")
    wait_until(lambda: p.admin_http.json("GET", "/status")["apiserver"]["state"] == "offline", 20,
               what="Outpost to judge the apiserver offline")


@pytest.fixture
def crd(lab):
    """A namespaced custom resource of a group of its own, removed afterwards."""
    group = f"e2e{secrets.token_hex(3)}.outpost-e2e.example.com"
    name = f"widgets.{group}"
    lab.admin.json("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": name},
        "spec": {"group": group, "scope": "Namespaced",
                 "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
                 "versions": [{"name": "v1", "served": True, "storage": True,
                               "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}})

    def established():
        crd = lab.admin.json("GET", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
        return any(c["type"] == "Established" and c["status"] == "True" for c in crd.get("status", {}).get("conditions", []))
    wait_until(established, 30, what=f"CRD {name} to be established")
    # the apiserver serves the group a moment after Established
    wait_until(lambda: lab.admin.request("GET", f"/apis/{group}/v1")[0] == 200, 30, what=f"/apis/{group}/v1 served")
    yield group
    lab.admin.request("DELETE", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")


def test_custom_resources_are_cached_and_served_offline(lab, crd, proxy_factory, ns_factory):
    ns, other = ns_factory("crd"), ns_factory("crd-other")
    base = f"/apis/{crd}/v1/namespaces/{ns}/widgets"
    for i in range(3):
        lab.admin.json("POST", base, {"apiVersion": f"{crd}/v1", "kind": "Widget",
                                      "metadata": {"name": f"w{i}", "labels": {"i": str(i)}}, "spec": {"size": i}})
    p, relay = proxy_factory()
    # Before any discovery of the group, its scope is unknown: a namespace path is only forwarded.
    st, _ = get_json(p.http, base)
    assert st == 200
    st, _ = get_json(p.http, f"/apis/{crd}/v1")          # discovery: the scope is learned from it
    assert st == 200
    paths = [base, f"{base}/w1", f"{base}?labelSelector=i%3D2", f"/apis/{crd}/v1/widgets"]
    online = {}
    for path in paths:
        st, online[path] = get_json(p.http, path)
        assert st == 200, (path, online[path])
    time.sleep(0.5)   # the cache writer commits the lists
    go_offline(p, relay)
    for path in paths:
        st, offline = get_json(p.http, path)
        assert st == 200, (path, offline)
        if "items" in online[path]:
            assert offline["kind"] == "WidgetList", offline
            assert [i["metadata"]["name"] for i in offline["items"]] == [i["metadata"]["name"] for i in online[path]["items"]]
            assert [i for i in offline["items"]] == online[path]["items"], path
        else:
            assert offline == online[path], path
    # Another namespace, never listed by itself: the complete cluster-wide list answers it, as the
    # apiserver does (none there).
    st, body = get_json(p.http, f"/apis/{crd}/v1/namespaces/{other}/widgets")
    direct = lab.admin.json("GET", f"/apis/{crd}/v1/namespaces/{other}/widgets")
    assert st == 200 and body["kind"] == "WidgetList" and body["items"] == direct["items"] == [], (st, body)


def test_offline_create_of_a_cached_object_is_the_apiservers_409(lab, proxy_factory, ns_factory, workdir):
    ns = ns_factory("create409")
    base = f"/api/v1/namespaces/{ns}/configmaps"
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "there"}, "data": {"k": "v"}}
    lab.admin.json("POST", base, cm)
    p, relay = proxy_factory()
    assert get_json(p.http, base)[0] == 200                 # cached, and the get of it confirmed
    st, online = post(p.http, base, cm)                     # the apiserver's own 409 (confirms the create)
    assert st == 409, online
    # (--validate=false: kubectl 1.32 validates against the OpenAPI document, not cached here)
    kubectl = [KUBECTL, f"--kubeconfig={p.kubeconfig}", f"--cache-dir={workdir}/kcache-create409", "-n", ns, "create", "--validate=false", "-f", "-"]
    k_online = subprocess.run(kubectl, input=json.dumps(cm), capture_output=True, text=True, timeout=60)
    assert k_online.returncode != 0 and "AlreadyExists" in k_online.stderr, k_online.stderr
    go_offline(p, relay)
    st, offline = post(p.http, base, cm)
    assert st == 409 and offline == online, (st, offline, online)
    k_offline = subprocess.run(kubectl, input=json.dumps(cm), capture_output=True, text=True, timeout=60)
    assert (k_offline.returncode, k_offline.stderr) == (k_online.returncode, k_online.stderr)
    # Everything else stays 503: an object not cached, a generated name, an update.
    for obj in ({**cm, "metadata": {"name": "not-there"}}, {**cm, "metadata": {"generateName": "there-"}}):
        st, body = post(p.http, base, obj)
        assert st == 503 and body["reason"] == "ServiceUnavailable", (st, body)
    st, _, body = p.http.request("PUT", f"{base}/there", body=cm, headers={"Accept": "application/json"})
    assert st == 503, body
    # A caller the apiserver never confirmed learns nothing from the cache.
    st, _, body = p.http.request("POST", base, body=cm, headers={"Accept": "application/json",
                                                                  "Authorization": f"Bearer {lab.viewer_token}"})
    assert st == 503, body
