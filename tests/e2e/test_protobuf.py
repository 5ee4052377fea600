"""Protobuf end to end: pass-through online, protobuf answers offline, JSON from protobuf-cached
objects, the filter's masking, and 406 for protobuf-only clients of JSON-cached objects.

Every comparison is against the apiserver's own answer to the same request, asked directly. The lab
may be shared with other writers (benchmarks), so the cluster's resourceVersion can move between two
requests: byte-for-byte list comparisons take a direct list before and after the one through Outpost
and count a round where both direct lists are equal (`stable_round`); if the resourceVersion never
holds still for 15 s, everything but the ListMeta is compared byte for byte (with a warning).

Bookmarks: Outpost's offline bookmark interval is 5 s and has no flag or environment knob, so the
offline watch runs for timeoutSeconds=7.
"""
import base64
import json
import secrets
import time
import urllib.parse
import warnings

import pytest

import protobuf_wire as pw
from harness import Kubectl, WatchStream, cm_obj, create_objects, names_rvs, parallel_requests, pod_obj, wait_until

pytestmark = pytest.mark.usefixtures("outpost_only")

KUBELET = {"Accept": pw.KUBELET_ACCEPT}               # what kubelet and client-go send
PB_ONLY = {"Accept": pw.PROTOBUF}
JSON = {"Accept": "application/json"}
REQ_TIMEOUT = 10
WATCH_CT = "application/vnd.kubernetes.protobuf;stream=watch"


def q(s):
    return urllib.parse.quote(s, safe="")


def get(http, path, headers=KUBELET, timeout=REQ_TIMEOUT, expect=200):
    """-> (headers, body); asserts the status."""
    st, h, body = http.request("GET", path, headers=headers, timeout=timeout)
    if expect is not None:
        assert st == expect, f"GET {http.base}{path} -> {st}: {body[:400]!r}"
    return h, body


def stable_round(lab, http, path, headers=KUBELET, budget=15.0):
    """(direct body, Outpost body, direct headers, Outpost headers, stable) of one round of a list
    asked directly, through Outpost, and directly again. stable: both direct answers were equal, so
    the apiserver's answer did not change while Outpost's request ran and the two bodies can be
    compared byte for byte. When other writers keep the cluster's resourceVersion moving for
    `budget` seconds, the last round is returned with stable=False (and a warning)."""
    deadline = time.monotonic() + budget
    while True:
        h1, a = get(lab.admin, path, headers)
        h2, b = get(http, path, headers)
        _, c = get(lab.admin, path, headers)
        if a == c:
            return a, b, h1, h2, True
        if time.monotonic() > deadline:
            warnings.warn(f"{path}: the cluster's resourceVersion kept moving for {budget}s (other writers); "
                          f"comparing the lists byte for byte except their ListMeta")
            return a, b, h1, h2, False
        time.sleep(0.2)


def assert_same_list(direct, via, stable, what):
    """via == direct byte for byte; when the round was not stable, except for the ListMeta."""
    if not stable:
        via = pw.with_list_meta(via, pw.ProtoList(direct).list_meta)
    assert via == direct, f"{what}: Outpost's protobuf list differs from the apiserver's"


def go_offline(p, relay, probe_path, headers=KUBELET):
    """Blackhole the link and wait until Outpost answers `probe_path` from its cache."""
    relay.set_mode("blackhole")

    def answered_locally():
        st, h, _ = p.http.request("GET", probe_path, headers=headers, timeout=5)
        return st == 200 and h.get("x-outpost-cache") == "hit"

    wait_until(answered_locally, 15, interval=0.2, what=f"an offline answer for {probe_path}")


class ProtoWatch(WatchStream):
    """A protobuf watch read frame by frame in a background thread (`frames`: (WatchFrame, time))."""

    def __init__(self, http, path, headers=KUBELET, timeout=30):
        self.frames = []
        super().__init__(http, path, timeout=timeout, headers=headers)

    def _read_item(self):
        frame = pw.read_frame(self.resp)
        return None if frame is None else pw.WatchFrame(frame)

    def _record(self, f):
        self.frames.append((f, time.monotonic()))

    def _describe(self):
        return self.summary()

    def summary(self):
        return [repr(f) for f, _ in self.frames][-20:]


# =========================================================================================== 1. online
def test_online_protobuf_passthrough_is_byte_identical(lab, proxy, ns_factory):
    ns = ns_factory("pb-pass")
    create_objects(lab.admin, ns, "configmaps", [cm_obj(f"cm-{i}", {"i": str(i)}) for i in range(3)])
    create_objects(lab.admin, ns, "pods", [pod_obj(f"pod-{i}", {"i": str(i)}, node="pb-pass-node") for i in range(2)])

    lists = {}
    for res in ("configmaps", "pods"):
        path = f"/api/v1/namespaces/{ns}/{res}"
        direct, via, dh, vh, stable = stable_round(lab, proxy.http, path)
        assert vh["content-type"] == dh["content-type"] == pw.PROTOBUF
        assert_same_list(direct, via, stable, path)
        lists[res] = pw.ProtoList(direct)
        assert len(lists[res].items) == (3 if res == "configmaps" else 2)
    for path in (f"/api/v1/namespaces/{ns}/configmaps/cm-1", f"/api/v1/namespaces/{ns}/pods/pod-0"):
        dh, direct = get(lab.admin, path)
        vh, via = get(proxy.http, path)
        assert vh["content-type"] == dh["content-type"] == pw.PROTOBUF
        assert via == direct, path

    # a watch, direct and through Outpost in parallel, from the same resourceVersion
    base = f"/api/v1/namespaces/{ns}/configmaps"
    rv = lists["configmaps"].resource_version
    wpath = f"{base}?watch=true&resourceVersion={rv}&timeoutSeconds=30"
    wd, wv = ProtoWatch(lab.admin, wpath), ProtoWatch(proxy.http, wpath)
    try:
        assert wd.status == 200 and wv.status == 200, (wd.status, wv.status)
        assert wv.headers["content-type"] == wd.headers["content-type"] == WATCH_CT
        lab.admin.json("POST", base, cm_obj("cm-new", {"new": "yes"}))
        parallel_requests(lab.admin, [("PATCH", f"{base}/cm-1", {"data": {"k": "patched"}})])
        lab.admin.request("DELETE", f"{base}/cm-2")
        for w in (wd, wv):
            w.wait_for(lambda f: f.type == "DELETED", 10, "DELETED cm-2")
    finally:
        wd.close()
        wv.close()
    got = [(f.type, f.meta()["name"]) for f, _ in wd.frames]
    assert got == [("ADDED", "cm-new"), ("MODIFIED", "cm-1"), ("DELETED", "cm-2")], got
    assert [f.bytes for f, _ in wv.frames] == [f.bytes for f, _ in wd.frames], \
        f"watch frames differ: via {wv.summary()} direct {wd.summary()}"


# =========================================================================================== 2. offline protobuf
def test_offline_protobuf_answers(lab, proxy_factory, ns_factory):
    ns = ns_factory("pb-off")
    node = f"pb-node-{secrets.token_hex(3)}"
    create_objects(lab.admin, ns, "pods", [pod_obj(f"p-{i}", {"app": "kl", "i": str(i)}, node=node) for i in range(3)]
                   + [pod_obj("elsewhere", {"app": "other"}, node="some-other-node")])
    kubelet_list = f"/api/v1/pods?fieldSelector={q('spec.nodeName=' + node)}&resourceVersion=0"
    ns_list = f"/api/v1/namespaces/{ns}/pods"
    pod_get = f"{ns_list}/p-1"

    p, relay = proxy_factory()
    # warm up with kubelet-shaped requests (the RV=0 list comes from the watch cache, which may lag a moment)
    warm_kubelet = wait_until(lambda: (lambda b: b if len(pw.ProtoList(b).items) == 3 else None)(
        get(p.http, kubelet_list)[1]), 10, what="the kubelet list through Outpost with all 3 pods")
    direct_ns, via_ns, _, _, stable = stable_round(lab, p.http, ns_list)
    assert_same_list(direct_ns, via_ns, stable, ns_list)
    _, direct_pod = get(lab.admin, pod_get)
    _, via_pod = get(p.http, pod_get)
    assert via_pod == direct_pod
    direct_kubelet = pw.ProtoList(get(lab.admin, kubelet_list)[1])
    online = pw.ProtoList(via_ns)                  # the list the cache holds (== direct_ns when stable)
    assert sorted(online.names()) == ["elsewhere", "p-0", "p-1", "p-2"]

    go_offline(p, relay, ns_list)

    # the namespaced list: the apiserver's bytes (its resourceVersion is the one the cache listed at)
    h, off = get(p.http, ns_list)
    assert h["content-type"] == pw.PROTOBUF and h.get("x-outpost-cache") == "hit"
    assert h.get("content-length") == str(len(off))
    offl = pw.ProtoList(off)
    assert offl.kind == "PodList" and offl.envelope.api_version == "v1"
    assert offl.resource_version == online.resource_version, (offl.resource_version, online.resource_version)
    assert off == via_ns, "the offline protobuf list differs from the online one of the same namespace"
    assert_same_list(direct_ns, off, stable, f"{ns_list} offline")

    # kubelet's list: same set of items (RV=0 lists are not ordered)
    h, off = get(p.http, kubelet_list)
    assert h["content-type"] == pw.PROTOBUF and h.get("x-outpost-cache") == "hit"
    assert h.get("content-length") == str(len(off))
    offk = pw.ProtoList(off)
    assert offk.kind == "PodList" and not offk.masked and not offk.other
    assert sorted(offk.items) == sorted(direct_kubelet.items) == sorted(pw.ProtoList(warm_kubelet).items)
    assert sorted(offk.names()) == ["p-0", "p-1", "p-2"]

    # a get
    h, off = get(p.http, pod_get)
    assert h["content-type"] == pw.PROTOBUF and h.get("x-outpost-cache") == "hit"
    assert h.get("content-length") == str(len(off))
    assert off == direct_pod

    # curl's `Accept: */*` gets JSON, as from the apiserver, though the scope is cached as protobuf
    for accept in ({"Accept": "*/*"}, {}):
        h, off = get(p.http, ns_list, headers=accept)
        assert h["content-type"].startswith("application/json") and h.get("x-outpost-cache") == "hit", (accept, h)
        assert sorted(i["metadata"]["name"] for i in json.loads(off)["items"]) == ["elsewhere", "p-0", "p-1", "p-2"]

    # pages (limit/continue) in protobuf, from one snapshot, together the whole list
    pages, token = [], ""
    while True:
        _, body = get(p.http, f"{ns_list}?limit=3" + (f"&continue={q(token)}" if token else ""))
        page = pw.ProtoList(body)
        pages.append(page)
        token = page.continue_token
        if not token:
            break
        assert len(pages) < 10
    assert [len(pg.items) for pg in pages] == [3, 1]
    assert [i for pg in pages for i in pg.items] == online.items
    assert {pg.resource_version for pg in pages} == {online.resource_version}

    # kubelet's watch from 0: ADDED for the cached pods, then BOOKMARKs (every 5 s; no knob to
    # shorten it), ended at timeoutSeconds
    wpath = kubelet_list + "&watch=true&allowWatchBookmarks=true&timeoutSeconds=7"
    w = ProtoWatch(p.http, wpath)
    try:
        assert w.status == 200, w.body[:400]
        assert w.headers["content-type"] == WATCH_CT
        assert w.ended.wait(15), f"the offline watch was not ended at timeoutSeconds; frames {w.summary()}"
    finally:
        w.close()
    assert w.error is None, w.error
    assert 6.0 <= w.duration() < 10.0, f"watch with timeoutSeconds=7 lasted {w.duration():.1f}s"
    frames = [f for f, _ in w.frames]
    types = [f.type for f in frames]
    assert types[:3] == ["ADDED"] * 3 and set(types[3:]) == {"BOOKMARK"}, w.summary()
    assert sorted(f.object.raw for f in frames[:3]) == sorted(direct_kubelet.items)
    for f in frames[:3]:
        assert f.object_bytes == pw.envelope("v1", "Pod", f.object.raw)
    for f in frames[3:]:
        assert f.kind == "Pod" and f.object.api_version == "v1"
        assert int(f.meta()["resourceVersion"]) >= max(int(pw.object_meta(i)["resourceVersion"]) for i in offk.items)
    assert [fnum for fnum, _, _ in pw.fields(frames[0].bytes)] == [1, 2]     # a bare WatchEvent

    # a watch from an older resourceVersion than the cache's: exactly one ERROR, a Status 410
    old = min(int(pw.object_meta(i)["resourceVersion"]) for i in online.items)
    assert old < int(online.resource_version)
    w = ProtoWatch(p.http, f"{ns_list}?watch=true&resourceVersion={old}&timeoutSeconds=20")
    try:
        assert w.status == 200, w.body[:400]
        assert w.headers["content-type"] == WATCH_CT
        assert w.ended.wait(5), f"the 410 watch stayed open; frames {w.summary()}"
    finally:
        w.close()
    assert w.error is None, w.error
    assert len(w.frames) == 1, w.summary()
    f = w.frames[0][0]
    assert f.type == "ERROR" and f.kind == "Status" and f.object.api_version == "v1", f
    s = pw.status(f.object.raw)
    assert s["code"] == 410 and s["reason"] == "Expired" and s["status"] == "Failure", s


# =========================================================================================== 3. cross-format
def rich_objects(ns, node, tag):
    b64 = lambda b: base64.b64encode(b).decode()
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "rich", "labels": {"app": "rich", "e2e-pb": tag},
                        "annotations": {"note": "ünïcode ✓", "empty": ""}},
           "spec": {
               "nodeName": node, "serviceAccountName": "default",
               "initContainers": [{"name": "init", "image": "busybox", "command": ["true"]}],
               "containers": [
                   {"name": "app", "image": "busybox:1.36", "command": ["sh", "-c"], "args": ["sleep 3600"],
                    "workingDir": "/work",
                    "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"},
                              {"containerPort": 9091, "protocol": "UDP", "hostPort": 0}],
                    "env": [{"name": "PLAIN", "value": "v"}, {"name": "EMPTY", "value": ""},
                            {"name": "FROM_CM", "valueFrom": {"configMapKeyRef": {"name": "rich-cm", "key": "k",
                                                                                 "optional": False}}},
                            {"name": "FROM_FIELD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                            {"name": "FROM_RES", "valueFrom": {"resourceFieldRef": {"containerName": "app",
                                                                                  "resource": "limits.memory",
                                                                                  "divisor": "1Mi"}}},
                            {"name": "FROM_SECRET", "valueFrom": {"secretKeyRef": {"name": "rich-secret",
                                                                                 "key": "password"}}}],
                    "envFrom": [{"prefix": "CM_", "configMapRef": {"name": "rich-cm"}}],
                    "resources": {"requests": {"cpu": "100m", "memory": "1Gi"},
                                  "limits": {"cpu": "1500m", "memory": "1Gi", "ephemeral-storage": "500M"}},
                    "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http", "scheme": "HTTP",
                                                  "httpHeaders": [{"name": "X-Probe", "value": "1"}]},
                                      "initialDelaySeconds": 0, "periodSeconds": 5, "timeoutSeconds": 2},
                    "readinessProbe": {"tcpSocket": {"port": 8080}, "failureThreshold": 1, "successThreshold": 1},
                    "startupProbe": {"exec": {"command": ["cat", "/tmp/ready"]}, "failureThreshold": 30},
                    "lifecycle": {"preStop": {"exec": {"command": ["sh", "-c", "sleep 1"]}},
                                  "postStart": {"httpGet": {"port": 8080, "path": "/start"}}},
                    "securityContext": {"privileged": False, "runAsUser": 0, "runAsNonRoot": False,
                                        "readOnlyRootFilesystem": False, "allowPrivilegeEscalation": False,
                                        "capabilities": {"add": ["NET_ADMIN"], "drop": ["ALL"]}},
                    "volumeMounts": [{"name": "cfg", "mountPath": "/cfg", "readOnly": True},
                                     {"name": "scratch", "mountPath": "/tmp", "subPath": "t"}],
                    "imagePullPolicy": "IfNotPresent", "stdin": False, "tty": False},
                   {"name": "sidecar", "image": "busybox", "resources": {}}],
               "volumes": [
                   {"name": "cfg", "configMap": {"name": "rich-cm", "defaultMode": 0o644,
                                                 "items": [{"key": "k", "path": "k.txt", "mode": 0o400}]}},
                   {"name": "scratch", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}},
                   {"name": "plain", "emptyDir": {}},
                   {"name": "sec", "secret": {"secretName": "rich-secret", "optional": True}},
                   {"name": "host", "hostPath": {"path": "/var/log", "type": "Directory"}},
                   {"name": "proj", "projected": {"sources": [
                       {"downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}},
                       {"serviceAccountToken": {"path": "token", "expirationSeconds": 3600, "audience": "x"}}]}}],
               "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
                                "tolerationSeconds": 300},
                               {"key": "dedicated", "operator": "Equal", "value": "edge", "effect": "NoSchedule"},
                               {"operator": "Exists"}],
               "securityContext": {"runAsUser": 0, "runAsGroup": 0, "fsGroup": 0, "runAsNonRoot": False,
                                   "supplementalGroups": [0, 1000],
                                   "sysctls": [{"name": "net.ipv4.ip_forward", "value": "1"}]},
               "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                   {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}}},
               "nodeSelector": {"kubernetes.io/os": "linux"},
               "hostAliases": [{"ip": "10.1.2.3", "hostnames": ["a.local", "b.local"]}],
               "dnsConfig": {"nameservers": ["1.1.1.1"], "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}]},
               "terminationGracePeriodSeconds": 0, "activeDeadlineSeconds": 3600,
               "enableServiceLinks": False, "automountServiceAccountToken": False, "hostNetwork": False,
               "shareProcessNamespace": False, "restartPolicy": "Always", "dnsPolicy": "ClusterFirst"}}
    pod_status = {"status": {
        "phase": "Running", "hostIP": "192.168.1.10", "podIP": "10.244.1.5", "podIPs": [{"ip": "10.244.1.5"}],
        "startTime": "2024-01-01T00:00:00Z", "qosClass": "Burstable",
        "conditions": [{"type": "Ready", "status": "True", "lastProbeTime": None,
                        "lastTransitionTime": "2024-01-01T00:00:01Z"},
                       {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2024-01-01T00:00:00Z"}],
        "initContainerStatuses": [{"name": "init", "ready": True, "restartCount": 0, "image": "busybox",
                                   "imageID": "docker-pullable://busybox@sha256:00", "containerID": "containerd://i",
                                   "state": {"terminated": {"exitCode": 0, "reason": "Completed",
                                                            "startedAt": "2024-01-01T00:00:00Z",
                                                            "finishedAt": "2024-01-01T00:00:01Z"}},
                                   "lastState": {}}],
        "containerStatuses": [
            {"name": "app", "ready": True, "started": True, "restartCount": 0, "image": "busybox:1.36",
             "imageID": "docker-pullable://busybox@sha256:11", "containerID": "containerd://a",
             "state": {"running": {"startedAt": "2024-01-01T00:00:02Z"}}, "lastState": {}},
            {"name": "sidecar", "ready": False, "started": False, "restartCount": 3, "image": "busybox",
             "imageID": "", "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}},
             "lastState": {"terminated": {"exitCode": 1, "signal": 0, "reason": "Error",
                                          "startedAt": "2024-01-01T00:00:03Z", "finishedAt": "2024-01-01T00:00:04Z",
                                          "containerID": "containerd://s"}}}]}}
    svc = {"apiVersion": "v1", "kind": "Service",
           "metadata": {"name": "rich-svc", "labels": {"app": "rich"}},
           "spec": {"selector": {"app": "rich"}, "type": "ClusterIP", "sessionAffinity": "None",
                    "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"},
                              {"name": "metrics", "port": 9090, "targetPort": 9091, "protocol": "UDP"}]}}
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "rich-cm", "labels": {"app": "rich"}},
          "data": {"k": "v", "multi": "line1\nline2\n", "unicode": "héllo ✓ \"q\" <tag> &", "empty": ""},
          "binaryData": {"bin": b64(bytes(range(256))), "nul": b64(b"\x00")}, "immutable": False}
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "rich-secret"}, "type": "Opaque",
              "data": {"password": b64(b"s3cr3t\x00\xff"), "empty": ""}}
    endpoints = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "rich-svc", "labels": {"app": "rich"}},
                 "subsets": [{"addresses": [{"ip": "10.244.1.5", "nodeName": node, "hostname": "rich",
                                             "targetRef": {"kind": "Pod", "namespace": ns, "name": "rich"}}],
                              "notReadyAddresses": [{"ip": "10.244.1.6"}],
                              "ports": [{"name": "http", "port": 8080, "protocol": "TCP"},
                                        {"name": "metrics", "port": 9091, "protocol": "UDP"}]}]}
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "rich-lease"},
             "spec": {"holderIdentity": node, "leaseDurationSeconds": 40, "leaseTransitions": 0,
                      "acquireTime": "2024-01-01T00:00:00.000000Z", "renewTime": "2024-01-01T00:00:05.123456Z"}}
    node_obj = {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": node, "labels": {"kubernetes.io/hostname": node, "e2e-pb": tag,
                                                      "node-role.kubernetes.io/edge": ""}},
                "spec": {"podCIDR": "10.244.1.0/24", "podCIDRs": ["10.244.1.0/24"],
                         "taints": [{"key": "dedicated", "value": "edge", "effect": "NoSchedule"},
                                    {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute",
                                     "timeAdded": "2024-01-01T00:00:00Z"}]}}
    node_status = {"status": {
        "capacity": {"cpu": "2", "memory": "4039544Ki", "pods": "110", "ephemeral-storage": "10Gi"},
        "allocatable": {"cpu": "1900m", "memory": "3800Mi", "pods": "110", "ephemeral-storage": "9Gi"},
        "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "ok",
                        "lastHeartbeatTime": "2024-01-01T00:00:00Z", "lastTransitionTime": "2024-01-01T00:00:00Z"},
                       {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory",
                        "lastHeartbeatTime": "2024-01-01T00:00:00Z", "lastTransitionTime": "2024-01-01T00:00:00Z"}],
        "addresses": [{"type": "InternalIP", "address": "192.168.1.10"}, {"type": "Hostname", "address": node}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        "nodeInfo": {"machineID": "m", "systemUUID": "u", "bootID": "b", "kernelVersion": "6.1.0",
                     "osImage": "Debian", "containerRuntimeVersion": "containerd://1.6", "kubeletVersion": "v1.20.2",
                     "kubeProxyVersion": "v1.20.2", "operatingSystem": "linux", "architecture": "amd64"},
        "images": [{"names": ["busybox@sha256:00", "busybox:1.36"], "sizeBytes": 4261574}],
        "volumesAttached": [], "volumesInUse": []}}
    return {"pod": (pod, pod_status), "svc": svc, "cm": cm, "secret": secret, "endpoints": endpoints,
            "lease": lease, "node": (node_obj, node_status)}


def strip_items(lst):
    return {**lst, "items": [{k: v for k, v in i.items() if k not in ("kind", "apiVersion")} for i in lst["items"]]}


def test_offline_json_from_protobuf_cache(lab, proxy_factory, ns_factory, tmp_path):
    ns = ns_factory("pb-cross")
    tag = secrets.token_hex(3)
    node = f"pb-rich-node-{tag}"
    o = rich_objects(ns, node, tag)
    a = lab.admin
    api = f"/api/v1/namespaces/{ns}"
    coord = f"/apis/coordination.k8s.io/v1/namespaces/{ns}"
    try:
        a.json("POST", "/api/v1/nodes", o["node"][0])
        parallel_requests(a, [("PATCH", f"/api/v1/nodes/{node}/status", o["node"][1])])
        a.json("POST", f"{api}/configmaps", o["cm"])
        a.json("POST", f"{api}/secrets", o["secret"])
        a.json("POST", f"{api}/pods", o["pod"][0])
        parallel_requests(a, [("PATCH", f"{api}/pods/rich/status", o["pod"][1])])
        a.json("POST", f"{api}/services", o["svc"])
        a.json("POST", f"{api}/endpoints", o["endpoints"])
        a.json("POST", f"{coord}/leases", o["lease"])

        gets = [f"{api}/pods/rich", f"{api}/services/rich-svc", f"{api}/configmaps/rich-cm",
                f"{api}/secrets/rich-secret", f"{api}/endpoints/rich-svc", f"{coord}/leases/rich-lease",
                f"/api/v1/nodes/{node}"]
        lists = [f"{api}/pods", f"{api}/services", f"{api}/configmaps", f"{api}/secrets", f"{api}/endpoints",
                 f"{coord}/leases", f"/api/v1/nodes?labelSelector={q('e2e-pb=' + tag)}"]

        p, relay = proxy_factory()
        k = Kubectl(lab, p, tmp_path)
        k.proxy_run("api-resources", "--request-timeout=10s")      # discovery through Outpost (cached as JSON)
        cached_rv = {}
        for path in lists:                                          # cache everything in protobuf, as kubelet would
            h, body = get(p.http, path)
            assert h["content-type"] == pw.PROTOBUF, path
            pl = pw.ProtoList(body)
            assert pl.items, f"{path}: empty list"
            cached_rv[path] = pl.resource_version
        for path in gets:
            h, body = get(p.http, path)
            assert h["content-type"] == pw.PROTOBUF, path
        direct = {path: json.loads(get(a, path, JSON)[1]) for path in gets + lists}
        kubectl_args = ["get", "-n", ns, "-o", "json", "pod/rich", "service/rich-svc", "configmap/rich-cm",
                        "secret/rich-secret", "endpoints/rich-svc", "lease.coordination.k8s.io/rich-lease",
                        f"node/{node}"]
        kubectl_list_args = ["get", "pods", "-n", ns, "-o", "json"]
        kubectl_direct = [json.loads(k.direct(*args).stdout) for args in (kubectl_args, kubectl_list_args)]

        go_offline(p, relay, gets[0])
        mismatches = []
        for path in gets:
            h, body = get(p.http, path, JSON)
            assert h["content-type"] == "application/json" and h.get("x-outpost-cache") == "hit", (path, h)
            got = json.loads(body)
            if got != direct[path]:
                mismatches.append((path, diff(direct[path], got)))
        for path in lists:
            h, body = get(p.http, path, JSON)
            assert h["content-type"] == "application/json" and h.get("x-outpost-cache") == "hit", (path, h)
            got = strip_items(json.loads(body))
            want = dict(direct[path], metadata={"resourceVersion": cached_rv[path]})
            if got != want:
                mismatches.append((path, diff(want, got)))
        assert not mismatches, "offline JSON (converted from protobuf) differs from the apiserver's JSON:\n" + \
            "\n".join(f"{path}: {d}" for path, d in mismatches)

        for args, want in zip((kubectl_args, kubectl_list_args), kubectl_direct):
            r = k.proxy_run(*args, "--request-timeout=10s", check=False)
            assert r.returncode == 0, f"kubectl {' '.join(args)} offline -> rc={r.returncode}\n{r.stderr[-2000:]}"
            got = json.loads(r.stdout)
            if args is kubectl_list_args:
                got = {**got, "metadata": want["metadata"]}    # kubectl's List: resourceVersion "" both ways
            assert got == want, f"kubectl {' '.join(args)}: {diff(want, got)}"
    finally:
        a.request("DELETE", f"/api/v1/nodes/{node}")


def diff(want, got, path="", out=None, limit=12):
    """The first differences between two decoded JSON values, as readable lines."""
    out = [] if out is None else out
    if len(out) >= limit:
        return out
    if isinstance(want, dict) and isinstance(got, dict):
        for key in sorted(set(want) | set(got)):
            if key not in got:
                out.append(f"{path}.{key}: missing (apiserver: {json.dumps(want[key])[:120]})")
            elif key not in want:
                out.append(f"{path}.{key}: extra {json.dumps(got[key])[:120]}")
            else:
                diff(want[key], got[key], f"{path}.{key}", out, limit)
    elif isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
        for i, (w, g) in enumerate(zip(want, got)):
            diff(w, g, f"{path}[{i}]", out, limit)
    elif want != got or type(want) is not type(got):
        out.append(f"{path}: apiserver {json.dumps(want)[:120]} vs outpost {json.dumps(got)[:120]}")
    return out


# =========================================================================================== 4. filter
def test_filter_masks_protobuf_list_items(lab, proxy, ns_factory):
    ns = ns_factory("pb-mask")
    create_objects(lab.admin, ns, "configmaps", [cm_obj("skip-a", data={"secret": "x" * 50}),
                                                 cm_obj("keep-b", data={"k": "b"})])
    path = f"/api/v1/namespaces/{ns}/configmaps"
    direct, via, dh, vh, stable = stable_round(lab, proxy.http, path)
    assert vh["content-type"] == pw.PROTOBUF
    if not stable:          # only the resourceVersion moved: compare with the direct list at Outpost's
        direct = pw.with_list_meta(direct, pw.ProtoList(via).list_meta)
        dh = {**dh, "content-length": str(len(direct))} if "content-length" in dh else dh
    assert len(via) == len(direct)
    assert vh.get("content-length") == dh.get("content-length"), (vh.get("content-length"), dh.get("content-length"))
    d, v = pw.ProtoList(direct), pw.ProtoList(via)
    assert d.names() == ["keep-b", "skip-a"]
    assert v.names() == ["keep-b"], v.names()
    assert v.list_meta == d.list_meta and not v.other
    skipped = d.items[1]
    assert v.entries == [(2, d.items[0]), (pw.MASKED_FIELD, bytes(len(skipped)))]
    assert via == pw.mask_items(direct, lambda item: pw.object_meta(item)["name"].startswith("skip-"))
    # and a protobuf get of the filtered object is the apiserver's 404 (the object is not there for the edge)
    _, body = get(proxy.http, f"{path}/skip-a", expect=404)
    s = json.loads(body)
    assert s["kind"] == "Status" and s["reason"] == "NotFound" and s["code"] == 404, s


# =========================================================================================== 5. 406
def test_protobuf_only_client_of_json_cache_is_406(lab, proxy_factory, ns_factory):
    ns = ns_factory("pb-406")
    create_objects(lab.admin, ns, "configmaps", [cm_obj(f"j-{i}") for i in range(3)])
    base = f"/api/v1/namespaces/{ns}/configmaps"
    p, relay = proxy_factory()
    _, body = get(p.http, base, JSON)                          # cached as JSON
    online = json.loads(body)
    get(p.http, f"{base}/j-1", JSON)
    go_offline(p, relay, base, JSON)

    for path in (base, f"{base}/j-1", f"{base}?watch=true&resourceVersion=0&timeoutSeconds=5"):
        st, h, body = p.http.request("GET", path, headers=PB_ONLY, timeout=REQ_TIMEOUT)
        assert st == 406, f"GET {path} (protobuf only) -> {st}: {body[:300]!r}"
        assert h["content-type"] == "application/json"
        s = json.loads(body)
        assert s["kind"] == "Status" and s["code"] == 406 and s["reason"] == "NotAcceptable", s
        assert s["status"] == "Failure"
    # kubelet's Accept takes */*: JSON
    h, body = get(p.http, base, KUBELET)
    assert h["content-type"] == "application/json" and h.get("x-outpost-cache") == "hit"
    off = json.loads(body)
    assert off["kind"] == "ConfigMapList"
    assert names_rvs(off["items"]) == names_rvs(online["items"])
    assert off["metadata"]["resourceVersion"] == online["metadata"]["resourceVersion"]
    h, body = get(p.http, f"{base}/j-1", KUBELET)
    assert h["content-type"] == "application/json"
    assert json.loads(body) == lab.admin.json("GET", f"{base}/j-1")
