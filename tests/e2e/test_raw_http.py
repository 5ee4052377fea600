"""Raw HTTP through the proxy: identity, content negotiation, compression, big and chunked bodies."""
import gzip
import json

import pytest

from conftest import BULK_COUNT
from harness import Http, names_rvs

PROTOBUF = "application/vnd.kubernetes.protobuf"


def cm_body(name, data=None, labels=None):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels or {}},
            "data": data or {"k": name}}


def status(data):
    return json.loads(data)


def test_client_authorization_header_is_forwarded(proxy, lab, ns):
    as_viewer = Http(proxy.url, token=lab.viewer_token)
    path = f"/api/v1/namespaces/{ns}/configmaps"
    st, _, _ = as_viewer.request("GET", path)
    assert st == 200                                   # viewer may read
    st, _, body = as_viewer.request("POST", path, cm_body("viewer-write"))
    assert st == 403, body                            # ...but not write: the viewer identity was used
    s = status(body)
    assert s["reason"] == "Forbidden" and 'User "viewer" cannot create resource "configmaps"' in s["message"]
    dst, _, dbody = lab.viewer.request("POST", path, cm_body("viewer-write"))
    assert (dst, status(dbody)) == (st, s)             # byte-for-byte the apiserver's answer
    # without a header Outpost's own (admin) credentials apply
    st, _, body = proxy.http.request("POST", path, cm_body("anon-write"))
    assert st == 201, body


def test_bad_client_token_is_not_replaced(proxy, lab):
    st, _, body = Http(proxy.url, token="not-a-valid-token").request("GET", "/api/v1/namespaces")
    dst, _, dbody = Http(lab.server, token="not-a-valid-token", cafile=str(lab.ca)).request("GET", "/api/v1/namespaces")
    assert st == dst == 401
    assert status(body) == status(dbody)


@pytest.fixture
def passthrough_proxy(proxy_factory, workdir, outpost_only):
    """An Outpost that neither caches nor filters configmaps: its responses must be the apiserver's bytes."""
    cfg = workdir / "passthrough.yaml"
    cfg.write_text("cache:\n  resources: [pods]\nfilters:\n  rules:\n    - name: only-pods\n      resources: [pods]\n      namePrefix: skip-\n")
    p, _ = proxy_factory(with_relay=False, extra_args=["--config", str(cfg)])
    return p


def test_protobuf_passthrough(passthrough_proxy, lab, bulk_ns):
    path = f"/api/v1/namespaces/{bulk_ns}/configmaps?labelSelector=shard%3D1"
    hdr = {"Accept": f"{PROTOBUF}, */*"}
    st, h, body = passthrough_proxy.http.request("GET", path, headers=hdr)
    assert st == 200
    assert h["content-type"] == PROTOBUF
    assert body[:4] == b"k8s\x00"
    _, dh, dbody = lab.admin.request("GET", path, headers=hdr)
    assert dh["content-type"] == PROTOBUF and body == dbody
    # single object too
    st, h, body = passthrough_proxy.http.request("GET", f"/api/v1/namespaces/{bulk_ns}/configmaps/bulk-0001", headers=hdr)
    assert st == 200 and h["content-type"] == PROTOBUF and body.startswith(b"k8s\x00")


def test_cached_resource_is_answered_in_protobuf_as_asked(proxy, lab, bulk_ns, outpost_only):
    # kubelet's Accept goes upstream as asked: the tee splits protobuf too, the bytes are the apiserver's.
    path = f"/api/v1/namespaces/{bulk_ns}/configmaps?labelSelector=shard%3D1"
    _, _, before = lab.admin.request("GET", path, headers={"Accept": PROTOBUF})
    st, h, body = proxy.http.request("GET", path, headers={"Accept": f"{PROTOBUF}, */*"})
    _, _, after = lab.admin.request("GET", path, headers={"Accept": PROTOBUF})
    assert st == 200 and h["content-type"] == PROTOBUF and body.startswith(b"k8s\x00")
    assert body in (before, after), "the protobuf list through Outpost is the apiserver's, byte for byte"


def test_gzip_big_list_passthrough(passthrough_proxy, lab, bulk_ns):
    path = f"/api/v1/namespaces/{bulk_ns}/configmaps"
    st, h, body = passthrough_proxy.http.request("GET", path, headers={"Accept-Encoding": "gzip", "Accept": "application/json"})
    assert st == 200
    assert h.get("content-encoding") == "gzip", h
    plain = gzip.decompress(body)
    assert len(body) < len(plain) / 5
    items = json.loads(plain)["items"]
    assert len(items) == BULK_COUNT
    _, _, dbody = lab.admin.request("GET", path, headers={"Accept": "application/json"})
    assert names_rvs(items) == names_rvs(json.loads(dbody)["items"])
    # a client that did not ask for gzip must not get it
    st, h, body = passthrough_proxy.http.request("GET", path, headers={"Accept": "application/json"})
    assert st == 200 and "gzip" not in h.get("content-encoding", "")
    assert len(json.loads(body)["items"]) == BULK_COUNT


def test_cached_big_list_is_teed_uncompressed(proxy, lab, bulk_ns, outpost_only):
    # The tee reads the list, so a cached resource is fetched without gzip (loopback to the
    # client is cheap; compressing the edge link for teed lists is a known follow-up).
    path = f"/api/v1/namespaces/{bulk_ns}/configmaps"
    st, h, body = proxy.http.request("GET", path, headers={"Accept-Encoding": "gzip", "Accept": "application/json"})
    assert st == 200 and "gzip" not in h.get("content-encoding", "")
    assert len(json.loads(body)["items"]) == BULK_COUNT


def test_big_request_body_near_1mb(proxy, lab, ns):
    data = {"blob": "0123456789abcdef" * (1_000_000 // 16)}       # ~1.0 MB of data
    st, _, body = proxy.http.request("POST", f"/api/v1/namespaces/{ns}/configmaps", cm_body("big-1mb", data),
                                     timeout=60)
    assert st == 201, body[:500]
    got = lab.admin.json("GET", f"/api/v1/namespaces/{ns}/configmaps/big-1mb")
    assert got["data"] == data
    st, _, body = proxy.http.request("GET", f"/api/v1/namespaces/{ns}/configmaps/big-1mb")
    assert st == 200 and json.loads(body)["data"] == data


def test_several_mb_body_reaches_apiserver(proxy, lab, ns):
    # 2.5 MB: under the apiserver's 3 MiB request limit, over ConfigMap's 1 MiB: the apiserver must read
    # it all and answer 422 Invalid -- the same answer as direct
    data = {f"k{i}": "z" * 250_000 for i in range(10)}
    path = f"/api/v1/namespaces/{ns}/configmaps"
    st, _, body = proxy.http.request("POST", path, cm_body("big-2mb", data), timeout=60)
    dst, _, dbody = lab.admin.request("POST", path, cm_body("big-2mb", data), timeout=60)
    assert st == dst == 422, body[:300]
    assert status(body) == status(dbody)
    assert status(body)["reason"] == "Invalid"


def test_chunked_request_body(proxy, lab, ns):
    def chunks():
        payload = json.dumps(cm_body("chunked", {"a": "x" * 100_000})).encode()
        for i in range(0, len(payload), 8192):
            yield payload[i:i + 8192]

    st, _, body = proxy.http.request("POST", f"/api/v1/namespaces/{ns}/configmaps", chunks(),
                                     headers={"Content-Type": "application/json"}, encode_chunked=True)
    assert st == 201, body[:300]
    assert lab.admin.json("GET", f"/api/v1/namespaces/{ns}/configmaps/chunked")["data"]["a"] == "x" * 100_000


def test_keepalive_many_requests_one_connection(proxy, ns):
    h = proxy.http
    conn = h.connect(timeout=10)
    try:
        for i in range(30):
            st, _, body = h.request("GET", f"/api/v1/namespaces/{ns}/configmaps?limit=1", conn=conn)
            assert st == 200, (i, body[:200])
            st, _, _ = h.request("GET", f"/api/v1/namespaces/{ns}/configmaps/missing-{i}", conn=conn)
            assert st == 404
    finally:
        conn.close()


def test_table_content_negotiation(passthrough_proxy, lab, bulk_ns):
    proxy = passthrough_proxy
    path = f"/api/v1/namespaces/{bulk_ns}/configmaps?labelSelector=shard%3D2&limit=10"
    hdr = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}
    st, h, body = proxy.http.request("GET", path, headers=hdr)
    _, _, dbody = lab.admin.request("GET", path, headers=hdr)
    assert st == 200 and h["content-type"].startswith("application/json")
    t, d = json.loads(body), json.loads(dbody)
    assert t["kind"] == "Table"
    assert [r["cells"][0] for r in t["rows"]] == [r["cells"][0] for r in d["rows"]]
    assert t["metadata"].get("continue") and t["metadata"]["continue"] == d["metadata"]["continue"]
