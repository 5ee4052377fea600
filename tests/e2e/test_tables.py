"""kubectl tables and content negotiation, online and offline (issue 11, points 4 and 5).

One Outpost with the default filter (pods and configmaps named `skip-*` are dropped) behind its own
relay. Every request of the Accept matrix is asked through Outpost and directly: online the answers
must be the apiserver's (a filtered Table loses only its `skip-` rows and keeps its columns), and
after the cut Outpost's answers from its cache must equal what the apiserver answered online:
status, Content-Type and body, modulo the ListMeta resourceVersion (the cluster's revision moves
with other writers) and age cells (a second may pass). `kubectl get` output, `-o wide` too, is
compared the same way, the AGE-like columns left out.
"""
import json
import re
import secrets
import time

import pytest

import protobuf_wire as pw
from harness import Kubectl, ProxyProcess, RelayProcess, wait_until

pytestmark = pytest.mark.usefixtures("outpost_only")

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
ACCEPTS = {
    "kubectl-table": TABLE,
    "client-go-json": "application/json, */*",
    "client-go-protobuf": "application/vnd.kubernetes.protobuf, */*",
    "curl": "*/*",
    "none": None,
    "metadata-informer": "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,"
                         "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json",
    "metadata-json": "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1",
    "metadata-on-list": "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1",
    "yaml-only-refused": "text/html",
    "table-protobuf-refused": "application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io",
}
AGE_COLUMNS = {"Age", "Last Seen", "First Seen"}
REQ_TIMEOUT = 10


def world_objects(ns, node):
    t = "2026-11-30T10:00:00Z"
    return [
        ("/api/v1/namespaces/{ns}/pods", {"metadata": {"name": "web-1", "labels": {"app": "web"}},
                                          "spec": {"nodeName": node, "containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "x"}]}}),
        ("/api/v1/namespaces/{ns}/pods", {"metadata": {"name": "crash-1"}, "spec": {"containers": [{"name": "a", "image": "x"}]}}),
        ("/api/v1/namespaces/{ns}/pods", {"metadata": {"name": "done-1"}, "spec": {"restartPolicy": "Never", "containers": [{"name": "a", "image": "x"}]}}),
        ("/api/v1/namespaces/{ns}/pods", {"metadata": {"name": "skip-pod"}, "spec": {"containers": [{"name": "a", "image": "x"}]}}),
        ("/api/v1/namespaces/{ns}/configmaps", {"metadata": {"name": "cm-1"}, "data": {"a": "1", "b": "2"}}),
        ("/api/v1/namespaces/{ns}/configmaps", {"metadata": {"name": "skip-cm"}, "data": {"a": "1"}}),
        ("/api/v1/namespaces/{ns}/secrets", {"metadata": {"name": "s-1"}, "type": "example.com/x", "data": {"k": "dg=="}}),
        ("/api/v1/namespaces/{ns}/services", {"metadata": {"name": "svc-1"}, "spec": {"selector": {"app": "web"},
                                              "ports": [{"port": 80, "name": "http"}, {"port": 53, "protocol": "UDP", "name": "dns"}]}}),
        ("/api/v1/namespaces/{ns}/services", {"metadata": {"name": "svc-np"}, "spec": {"type": "NodePort", "ports": [{"port": 443}]}}),
        ("/api/v1/namespaces/{ns}/endpoints", {"metadata": {"name": "svc-1"}, "subsets": [
            {"addresses": [{"ip": "10.1.0.1"}, {"ip": "10.1.0.2"}], "ports": [{"name": "http", "port": 8080}]}]}),
        ("/api/v1/namespaces/{ns}/events", {"metadata": {"name": "ev-1"}, "involvedObject": {"kind": "Pod", "name": "crash-1", "namespace": ns},
                                            "reason": "BackOff", "message": "Back-off <restarting>", "type": "Warning",
                                            "source": {"component": "kubelet", "host": node},
                                            "firstTimestamp": t, "lastTimestamp": t, "count": 3}),
        ("/apis/coordination.k8s.io/v1/namespaces/{ns}/leases", {"metadata": {"name": node}, "spec": {"holderIdentity": node}}),
    ]


STATUS = [
    ("/api/v1/namespaces/{ns}/pods/web-1/status", {"status": {"phase": "Running", "podIP": "10.1.0.1", "podIPs": [{"ip": "10.1.0.1"}],
        "conditions": [{"type": "Ready", "status": "True"}],
        "containerStatuses": [{"name": "a", "ready": True, "restartCount": 1, "image": "x", "imageID": "", "state": {"running": {}}},
                              {"name": "b", "ready": True, "restartCount": 0, "image": "x", "imageID": "", "state": {"running": {}}}]}}),
    ("/api/v1/namespaces/{ns}/pods/crash-1/status", {"status": {"phase": "Running", "containerStatuses": [
        {"name": "a", "ready": False, "restartCount": 7, "image": "x", "imageID": "", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}}),
    ("/api/v1/namespaces/{ns}/pods/done-1/status", {"status": {"phase": "Succeeded", "containerStatuses": [
        {"name": "a", "ready": False, "restartCount": 0, "image": "x", "imageID": "", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}}),
]


def paths(ns, node):
    """The reads of the matrix: lists of every edge kind in the namespace, a get, the node."""
    n = f"/api/v1/namespaces/{ns}"
    return [f"{n}/pods", f"{n}/configmaps", f"{n}/secrets", f"{n}/services", f"{n}/endpoints", f"{n}/events",
            f"/apis/coordination.k8s.io/v1/namespaces/{ns}/leases", f"{n}/pods/web-1", f"/api/v1/nodes/{node}",
            f"{n}/pods?includeObject=None", f"{n}/pods?includeObject=Object", f"{n}/pods?limit=2"]


def fetch(http, path, accept):
    headers = {"User-Agent": "outpost-e2e"}
    if accept is not None:
        headers["Accept"] = accept
    st, h, body = http.request("GET", path, headers=headers, timeout=REQ_TIMEOUT)
    return st, h.get("content-type", ""), body


def normalise(body, ctype, drop_skip=False):
    """A comparable form of a body: JSON parsed, ListMeta resourceVersion/continue gone, age cells
    blanked; `skip-` items/rows dropped (what Outpost's filter removes); protobuf as bytes."""
    if not ctype.startswith("application/json"):
        return body
    doc = json.loads(body)
    if not isinstance(doc, dict):
        return doc
    if doc.get("kind", "").endswith("List") or doc.get("kind") == "Table":
        doc.get("metadata", {}).pop("resourceVersion", None)
        doc.get("metadata", {}).pop("continue", None)
        # Offline pages carry no remainingItemCount (Outpost's list pages never did).
        doc.get("metadata", {}).pop("remainingItemCount", None)
    if doc.get("kind") == "Table":
        ages = [i for i, c in enumerate(doc.get("columnDefinitions") or []) if c["name"] in AGE_COLUMNS]
        for row in doc.get("rows") or []:
            for i in ages:
                row["cells"][i] = "AGE"
        if drop_skip:
            doc["rows"] = [r for r in doc["rows"] if not r["cells"][0].startswith("skip-")]
    if isinstance(doc.get("items"), list):
        if drop_skip:
            doc["items"] = [i for i in doc["items"] if not i["metadata"]["name"].startswith("skip-")]
        for i in doc["items"]:
            if doc.get("kind") != "PartialObjectMetadataList":
                # Outpost's lists carry each item's kind and apiVersion (it stores them typed).
                i.pop("kind", None)
                i.pop("apiVersion", None)
    return doc


def kubectl_cells(out):
    """kubectl's table output as rows of cells, sliced at its header's column starts (cells may hold
    spaces or be empty), AGE-like columns left out."""
    lines = [l for l in out.splitlines() if l.strip()]
    if not lines:
        return []
    header = lines[0]
    # kubectl pads columns with at least three spaces; a header may hold one ("LAST SEEN").
    starts = [m.start() for m in re.finditer(r"(?:^|(?<=   ))\S", header)]
    names = [header[s:(starts[k + 1] if k + 1 < len(starts) else None)].strip() for k, s in enumerate(starts)]
    rows = []
    for line in lines:
        cells = [line[s:(starts[k + 1] if k + 1 < len(starts) else None)].strip() for k, s in enumerate(starts)]
        rows.append([c for c, n in zip(cells, names) if n not in {"AGE", "LAST SEEN", "FIRST SEEN"}])
    return rows


@pytest.fixture(scope="module")
def world(lab):
    ns = f"tables-{secrets.token_hex(3)}"
    node = f"tables-node-{secrets.token_hex(3)}"
    lab.create_namespace(ns)
    lab.admin.json("POST", "/api/v1/nodes", {"metadata": {"name": node, "labels": {"node-role.kubernetes.io/edge": ""}}})
    try:
        lab.admin.request("PATCH", f"/api/v1/nodes/{node}/status", body=json.dumps({"status": {
            "conditions": [{"type": "Ready", "status": "True"}], "addresses": [{"type": "InternalIP", "address": "10.0.0.9"}],
            "nodeInfo": {"kubeletVersion": "v1.20.2", "osImage": "Debian GNU/Linux 12", "kernelVersion": "6.1",
                         "containerRuntimeVersion": "containerd://1.6", "machineID": "", "systemUUID": "", "bootID": "",
                         "kubeProxyVersion": "", "operatingSystem": "linux", "architecture": "amd64"}}}).encode(),
            headers={"Content-Type": "application/merge-patch+json"})
        for path, obj in world_objects(ns, node):
            lab.admin.json("POST", path.format(ns=ns), obj)
        for path, patch in STATUS:
            st, _, body = lab.admin.request("PATCH", path.format(ns=ns), body=json.dumps(patch).encode(),
                                            headers={"Content-Type": "application/merge-patch+json"})
            assert st == 200, body
        yield ns, node
    finally:
        lab.admin.request("DELETE", f"/api/v1/nodes/{node}")
        # Leases are not among what delete_namespace empties (no namespace controller in the lab).
        lab.admin.request("DELETE", f"/apis/coordination.k8s.io/v1/namespaces/{ns}/leases")
        lab.delete_namespace(ns)


@pytest.fixture(scope="module")
def outpost(lab, world, workdir, tmp_path_factory):
    relay = RelayProcess(f"{lab.host}:{lab.port}", workdir).start()
    p = ProxyProcess(lab, workdir, server_addr=relay.url, name="proxy-tables")
    try:
        p.start()
        yield p, relay, Kubectl(lab, p, tmp_path_factory.mktemp("kubectl-tables"))
    finally:
        relay.stop()
        p.stop()


KUBECTL = [["pods"], ["pods", "-o", "wide"], ["configmaps"], ["secrets"], ["services", "-o", "wide"], ["endpoints"],
           ["events"], ["leases"], ["pods", "web-1", "-o", "wide"]]


def test_online_then_offline(lab, world, outpost):
    ns, node = world
    p, relay, k = outpost
    matrix = [(path, name) for path in paths(ns, node) for name in ACCEPTS]
    # Online: through Outpost equals direct (filtered resources minus their skip- entries).
    online = {}
    problems = []
    for path, name in matrix:
        d = fetch(lab.admin, path, ACCEPTS[name])
        o = fetch(p.http, path, ACCEPTS[name])
        online[(path, name)] = d
        filtered = "/pods" in path or "/configmaps" in path
        if d[:2] != o[:2]:
            problems.append(f"online {path} [{name}]: {d[:2]} vs {o[:2]}: {o[2][:200]!r}")
            continue
        if d[0] == 200 and not d[1].startswith("application/json"):
            # Protobuf: the same length (a filtered list masks dropped items; test_protobuf checks bytes).
            # (The ListMeta resourceVersion moves with other writers: lengths, not bytes.)
            if len(d[2]) != len(o[2]):
                problems.append(f"online {path} [{name}]: protobuf bodies differ ({len(d[2])} vs {len(o[2])} bytes)")
        elif d[0] == 200 and normalise(d[2], d[1], drop_skip=filtered) != normalise(o[2], o[1]):
            problems.append(f"online {path} [{name}]: bodies differ\n direct: {d[2][:600]!r}\n outpost: {o[2][:600]!r}")
        elif d[0] != 200 and json.loads(d[2]) != json.loads(o[2]):
            problems.append(f"online {path} [{name}]: {d[2]!r} vs {o[2]!r}")
    kubectl_online = {tuple(a): k.direct("get", "-n", ns, *a).stdout for a in KUBECTL}
    kubectl_online[("nodes", "-o", "wide")] = k.direct("get", "nodes", node, "-o", "wide").stdout
    for a in KUBECTL:
        through = k.proxy_run("get", "-n", ns, *a).stdout
        want = [r for r in kubectl_cells(kubectl_online[tuple(a)]) if not r[0].startswith("skip-")]
        if kubectl_cells(through) != want:
            problems.append(f"online kubectl get {' '.join(a)}:\n{through}\nvs direct\n{kubectl_online[tuple(a)]}")
    # Warm the cache with plain lists (Tables are never cached), then cut.
    # Move the cluster's revision, so the warm-up lists are new snapshots (an unchanged one is
    # not written again, and the leases must be re-cached as protobuf).
    bump = f"tables-bump-{secrets.token_hex(3)}"
    lab.admin.json("POST", "/api/v1/namespaces/default/configmaps", {"metadata": {"name": bump}})
    lab.admin.request("DELETE", f"/api/v1/namespaces/default/configmaps/{bump}")
    for path in paths(ns, node):
        # Leases as kubelet caches them (protobuf): offline they come back as JSON, Tables and a
        # protobuf PartialObjectMetadataList for the metadata informer.
        assert fetch(p.http, path.split("?")[0], ACCEPTS["client-go-protobuf"] if "/leases" in path else "application/json")[0] == 200
    assert fetch(p.http, "/api/v1/nodes", "application/json")[0] == 200
    relay.set_mode("blackhole")
    wait_until(lambda: fetch(p.http, f"/api/v1/namespaces/{ns}/pods", TABLE)[0] == 200, 15, what="an offline Table")
    for path, name in matrix:
        d = online[(path, name)]
        o = fetch(p.http, path, ACCEPTS[name])
        filtered = "/pods" in path or "/configmaps" in path
        if d[1].startswith("application/vnd.kubernetes.protobuf") and o[1] == "application/json":
            # Cached as JSON: the protobuf client gets JSON (it takes */*), the metadata informer its
            # JSON PartialObjectMetadataList (its second choice): compare with the online JSON answer.
            d = online[(path, "metadata-json" if name == "metadata-informer" else "client-go-json")]
        if d[:2] != o[:2]:
            problems.append(f"offline {path} [{name}]: {d[:2]} vs {o[:2]}: {o[2][:300]!r}")
            continue
        if d[0] == 200 and o[1] == "application/vnd.kubernetes.protobuf":
            # Byte for byte, but for the ListMeta (the cache's resourceVersion).
            if pw.Envelope(d[2]).kind.endswith("List"):
                same = pw.with_list_meta(o[2], pw.ProtoList(d[2]).list_meta) == d[2]
            else:
                same = o[2] == d[2]
            if not same:
                problems.append(f"offline {path} [{name}]: protobuf bodies differ\n online: {d[2][:300]!r}\n offline: {o[2][:300]!r}")
        elif d[0] == 200 and normalise(d[2], d[1], drop_skip=filtered) != normalise(o[2], o[1]):
            problems.append(f"offline {path} [{name}]: bodies differ\n online: {d[2][:800]!r}\n offline: {o[2][:800]!r}")
        elif d[0] != 200 and json.loads(d[2]) != json.loads(o[2]):
            problems.append(f"offline {path} [{name}]: {d[2]!r} vs {o[2]!r}")
    leases = f"/apis/coordination.k8s.io/v1/namespaces/{ns}/leases"
    o = fetch(p.http, leases, ACCEPTS["metadata-informer"])
    d = online[(leases, "metadata-informer")]
    if o[1] != "application/vnd.kubernetes.protobuf" or pw.with_list_meta(o[2], pw.ProtoList(d[2]).list_meta) != d[2]:
        problems.append(f"offline protobuf PartialObjectMetadataList of protobuf-cached leases: {o[1]} {o[2][:300]!r}\n vs {d[2][:300]!r}")
    for a in KUBECTL:
        off = k.proxy_run("get", "-n", ns, *a, "--request-timeout=10s").stdout
        want = [r for r in kubectl_cells(kubectl_online[tuple(a)]) if not r[0].startswith("skip-")]
        if kubectl_cells(off) != want:
            problems.append(f"offline kubectl get {' '.join(a)}:\n{off}\nvs online\n{kubectl_online[tuple(a)]}")
    off = k.proxy_run("get", "nodes", node, "-o", "wide", "--request-timeout=10s").stdout
    if kubectl_cells(off) != kubectl_cells(kubectl_online[("nodes", "-o", "wide")]):
        problems.append(f"offline kubectl get nodes -o wide:\n{off}\nvs online\n{kubectl_online[('nodes', '-o', 'wide')]}")
    print("\n".join(p.splitlines()[0] for p in problems))
    assert not problems, f"{len(problems)} of {len(matrix) * 2 + 2 * len(KUBECTL) + 1} comparisons differ:\n" + "\n\n".join(problems)


FIELD_RULE = """filters:
  rules:
    - name: finished-pods
      resources: [pods]
      fieldSelector: status.phase=Succeeded
"""


@pytest.mark.parametrize("include", [None, "Metadata", "None", "Object"])
def test_field_rule_filters_table_rows_online(lab, world, proxy_factory, workdir, include):
    """A rule on a field a Table row's PartialObjectMetadata lacks: Outpost asks the apiserver for
    whole objects, drops the matching row and cuts the others back to what the client asked for."""
    ns, _ = world
    cfg = workdir / "field-rule.yaml"
    cfg.write_text(FIELD_RULE)
    p, _ = proxy_factory(with_relay=False, extra_args=["--config", str(cfg)])
    path = f"/api/v1/namespaces/{ns}/pods" + (f"?includeObject={include}" if include else "")
    d = fetch(lab.admin, path, TABLE)
    o = fetch(p.http, path, TABLE)
    assert d[:2] == o[:2]
    direct, through = normalise(d[2], d[1]), normalise(o[2], o[1])
    direct["rows"] = [r for r in direct["rows"] if r["cells"][0] != "done-1"]
    assert [r["cells"][0] for r in through["rows"]] == ["crash-1", "skip-pod", "web-1"]   # this config replaces skip-
    assert through == direct
    # kubectl prints the same columns as directly, minus the dropped row.
    k = Kubectl(lab, p, workdir / f"kubectl-field-{include}")
    want = [r for r in kubectl_cells(k.direct("get", "pods", "-n", ns, "-o", "wide").stdout) if r[0] != "done-1"]
    assert kubectl_cells(k.proxy_run("get", "pods", "-n", ns, "-o", "wide").stdout) == want


def table_watch_events(http, path):
    st, _, body = http.request("GET", path, headers={"Accept": TABLE, "User-Agent": "outpost-e2e"}, timeout=REQ_TIMEOUT)
    assert st == 200, body
    events = [json.loads(l) for l in body.splitlines() if l.strip()]
    columns = next((e["object"]["columnDefinitions"] for e in events if e["object"].get("columnDefinitions")), [])
    ages = [i for i, c in enumerate(columns) if c["name"] in AGE_COLUMNS]
    for e in events:
        e["object"].get("metadata", {}).pop("resourceVersion", None)
        for row in e["object"].get("rows") or []:
            for i in ages:
                row["cells"][i] = "AGE"
    return events


def test_field_rule_filters_table_watch_online(lab, world, proxy_factory, workdir):
    """`kubectl get -w` of a filtered resource: a Table per event; the dropped first event's
    column definitions go with the next event the client gets."""
    ns, _ = world
    cfg = workdir / "field-rule-watch.yaml"
    cfg.write_text(FIELD_RULE)
    p, _ = proxy_factory(with_relay=False, extra_args=["--config", str(cfg)])
    # From a revision after which done-1 (Succeeded: dropped) changes first, then web-1.
    rv = lab.admin.json("GET", f"/api/v1/namespaces/{ns}/pods")["metadata"]["resourceVersion"]
    for name in ("done-1", "web-1"):
        st, _, body = lab.admin.request("PATCH", f"/api/v1/namespaces/{ns}/pods/{name}", body=b'{"metadata":{"labels":{"touched":"yes"}}}',
                                        headers={"Content-Type": "application/merge-patch+json"})
        assert st == 200, body
    path = f"/api/v1/namespaces/{ns}/pods?watch=1&resourceVersion={rv}&timeoutSeconds=2"
    direct = table_watch_events(lab.admin, path)
    through = table_watch_events(p.http, path)
    assert [(e["type"], e["object"]["rows"][0]["cells"][0]) for e in direct] == [("MODIFIED", "done-1"), ("MODIFIED", "web-1")]
    assert direct[0]["object"]["columnDefinitions"] and direct[1]["object"]["columnDefinitions"] is None
    want = direct[1:]
    want[0]["object"]["columnDefinitions"] = direct[0]["object"]["columnDefinitions"]
    assert len(through) == len(want)
    for a, b in zip(through, want):
        for key in ("columnDefinitions", "rows", "metadata", "kind", "apiVersion"):
            assert a["object"].get(key) == b["object"].get(key), key
        assert a == b
