"""The official Python client (kubernetes.client) pointed at the proxy: plain HTTP, no credentials."""
import json
import threading

import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from conftest import BULK_COUNT
from harness import names_rvs


@pytest.fixture(scope="module")
def api(proxy):
    cfg = client.Configuration()
    cfg.host = proxy.url
    c = client.ApiClient(cfg)
    yield client.CoreV1Api(c)
    c.close()


@pytest.fixture(scope="module")
def direct_api(lab):
    c = config.new_client_from_config(config_file=str(lab.kubeconfig))
    yield client.CoreV1Api(c)
    c.close()


def cm(name, labels=None, data=None):
    return client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name, labels=labels or {}), data=data or {"k": name})


@pytest.fixture(scope="module")
def labeled(direct_api, ns):
    for name, labels in [("py-a", {"app": "web"}), ("py-b", {"app": "db"}), ("py-c", {"app": "web", "tier": "x"}),
                         ("py-d", {})]:
        direct_api.create_namespaced_config_map(ns, cm(name, labels))


@pytest.mark.parametrize("selector,expected", [
    ("app=web", ["py-a", "py-c"]),
    ("app in (web,db),!tier", ["py-a", "py-b"]),
    ("app", ["py-a", "py-b", "py-c"]),
])
def test_list_with_label_selector(api, direct_api, ns, labeled, selector, expected):
    p = api.list_namespaced_config_map(ns, label_selector=selector)
    d = direct_api.list_namespaced_config_map(ns, label_selector=selector)
    assert [i.metadata.name for i in p.items] == [i.metadata.name for i in d.items] == expected
    assert [i.metadata.resource_version for i in p.items] == [i.metadata.resource_version for i in d.items]
    assert p.metadata.resource_version and int(p.metadata.resource_version) > 0


def test_watch_receives_direct_changes(api, direct_api, ns):
    rv = api.list_namespaced_config_map(ns).metadata.resource_version
    name = "py-watched"
    got = {"proxy": [], "direct": []}
    ready = {"proxy": threading.Event(), "direct": threading.Event()}
    errors = []

    def run(via, core):
        w = watch.Watch()
        try:
            ready[via].set()
            for ev in w.stream(core.list_namespaced_config_map, ns, resource_version=rv, timeout_seconds=20,
                               field_selector=f"metadata.name={name}"):
                o = ev["object"]
                got[via].append((ev["type"], o.metadata.name, o.metadata.resource_version, dict(o.data or {})))
                if ev["type"] == "DELETED":
                    w.stop()
        except Exception as e:  # surfaced by the assertion below
            errors.append((via, e))

    threads = [threading.Thread(target=run, args=(via, core), daemon=True)
               for via, core in (("proxy", api), ("direct", direct_api))]
    for t in threads:
        t.start()
    for e in ready.values():
        e.wait(5)
    direct_api.create_namespaced_config_map(ns, cm(name, data={"v": "1"}))
    direct_api.patch_namespaced_config_map(name, ns, {"data": {"v": "2"}})
    direct_api.delete_namespaced_config_map(name, ns)
    for t in threads:
        t.join(15)
    assert not errors, errors
    assert not any(t.is_alive() for t in threads), f"watch did not see DELETED in time: {got}"
    assert [e[0] for e in got["proxy"]] == ["ADDED", "MODIFIED", "DELETED"]
    assert [e[3] for e in got["proxy"]][:2] == [{"v": "1"}, {"v": "2"}]
    assert got["proxy"] == got["direct"]


def test_create_patch_delete_through_proxy(api, direct_api, ns):
    created = api.create_namespaced_config_map(ns, cm("py-crud", {"made-by": "proxy"}, {"a": "1"}))
    assert direct_api.read_namespaced_config_map("py-crud", ns).metadata.uid == created.metadata.uid
    patched = api.patch_namespaced_config_map("py-crud", ns, {"data": {"b": "2"}, "metadata": {"labels": {"p": "1"}}})
    seen = direct_api.read_namespaced_config_map("py-crud", ns)
    assert seen.data == {"a": "1", "b": "2"} and seen.metadata.labels == {"made-by": "proxy", "p": "1"}
    assert seen.metadata.resource_version == patched.metadata.resource_version
    replaced = api.replace_namespaced_config_map("py-crud", ns, client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="py-crud", resource_version=seen.metadata.resource_version), data={"c": "3"}))
    assert direct_api.read_namespaced_config_map("py-crud", ns).data == {"c": "3"} == replaced.data
    # optimistic concurrency conflict is forwarded as 409
    with pytest.raises(ApiException) as conflict:
        api.replace_namespaced_config_map("py-crud", ns, client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name="py-crud", resource_version=seen.metadata.resource_version), data={}))
    assert conflict.value.status == 409
    status = api.delete_namespaced_config_map("py-crud", ns)
    assert status.status == "Success" or status.kind in ("Status", "ConfigMap")
    with pytest.raises(ApiException) as gone:
        direct_api.read_namespaced_config_map("py-crud", ns)
    assert gone.value.status == 404


def test_not_found_body_identical(api, direct_api, ns):
    errs = []
    for core in (api, direct_api):
        with pytest.raises(ApiException) as e:
            core.read_namespaced_config_map("nope", ns)
        errs.append(e.value)
    assert errs[0].status == errs[1].status == 404
    assert json.loads(errs[0].body) == json.loads(errs[1].body)
    assert json.loads(errs[0].body)["reason"] == "NotFound"


def test_large_list_identical(api, direct_api, bulk_ns):
    def raw_list(core, **kw):
        r = core.list_namespaced_config_map(bulk_ns, _preload_content=False, **kw)
        return json.loads(r.data)

    p, d = raw_list(api), raw_list(direct_api)
    assert len(p["items"]) == BULK_COUNT
    assert names_rvs(p["items"]) == names_rvs(d["items"])
    assert p["items"] == d["items"]
    # paging with the client's own continue tokens through the proxy
    seen, token = [], None
    while True:
        page = raw_list(api, limit=128, _continue=token) if token else raw_list(api, limit=128)
        seen += page["items"]
        token = page["metadata"].get("continue")
        if not token:
            break
    assert names_rvs(seen) == names_rvs(d["items"])
    sel = raw_list(api, label_selector="shard=3")
    assert len(sel["items"]) == BULK_COUNT // 5
