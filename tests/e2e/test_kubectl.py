"""kubectl through the proxy must behave exactly like kubectl straight at the apiserver."""
import json
import queue
import secrets
import threading
import time

import pytest

from harness import names_rvs

MANIFEST = """
apiVersion: v1
kind: ConfigMap
metadata: {name: cm-a, labels: {app: web, tier: frontend}}
data: {k: a}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm-b, labels: {app: web, tier: backend}}
data: {k: b}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm-c, labels: {app: db, tier: backend}}
data: {k: c}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm-d, labels: {app: cache}}
data: {k: d}
---
apiVersion: v1
kind: Pod
metadata: {name: pod-1, labels: {app: web, tier: frontend}}
spec:
  nodeName: node-1
  containers: [{name: c, image: busybox}]
---
apiVersion: v1
kind: Pod
metadata: {name: pod-2, labels: {app: db}}
spec:
  nodeName: node-2
  containers: [{name: c, image: busybox}]
"""


@pytest.fixture(scope="module")
def applied(k, ns):
    """kubectl apply through the proxy (module-wide objects used by the read tests)."""
    return k.proxy_run("apply", "-n", ns, "-f", "-", input=MANIFEST)


@pytest.fixture
def fresh_ns(lab):
    name = f"e2e-kubectl-x-{secrets.token_hex(3)}"
    lab.create_namespace(name)
    yield name
    lab.delete_namespace(name)


def names(out):
    return sorted(l.strip() for l in out.splitlines() if l.strip())


def test_apply_through_proxy(k, ns, applied):
    assert names(applied.stdout) == sorted(
        f"{kind}/{n} created" for kind, n in [("configmap", "cm-a"), ("configmap", "cm-b"), ("configmap", "cm-c"),
                                              ("configmap", "cm-d"), ("pod", "pod-1"), ("pod", "pod-2")])
    # the apiserver has exactly what was applied: applying again directly changes nothing
    again = k.direct("apply", "-n", ns, "-f", "-", input=MANIFEST)
    assert all(l.endswith(" unchanged") for l in names(again.stdout)), again.stdout
    pod = json.loads(k.direct("get", "-n", ns, "pod", "pod-1", "-o", "json").stdout)
    assert pod["spec"]["nodeName"] == "node-1" and pod["metadata"]["labels"] == {"app": "web", "tier": "frontend"}


def test_get_json_identical(k, ns, applied):
    p, d = k.both("get", "-n", ns, "configmaps,pods", "-o", "json")
    pi, di = json.loads(p.stdout)["items"], json.loads(d.stdout)["items"]
    assert len(pi) == 6
    assert names_rvs(pi) == names_rvs(di)
    assert pi == di


@pytest.mark.parametrize("selector,expected", [
    ("app=web", ["configmap/cm-a", "configmap/cm-b", "pod/pod-1"]),
    ("app!=web", ["configmap/cm-c", "configmap/cm-d", "pod/pod-2"]),
    ("tier in (frontend,backend)", ["configmap/cm-a", "configmap/cm-b", "configmap/cm-c", "pod/pod-1"]),
    ("tier notin (frontend)", ["configmap/cm-b", "configmap/cm-c", "configmap/cm-d", "pod/pod-2"]),
    ("tier", ["configmap/cm-a", "configmap/cm-b", "configmap/cm-c", "pod/pod-1"]),
    ("!tier", ["configmap/cm-d", "pod/pod-2"]),
    ("app=web,tier=backend", ["configmap/cm-b"]),
])
def test_label_selectors(k, ns, applied, selector, expected):
    p, d = k.both("get", "-n", ns, "configmaps,pods", "-l", selector, "-o", "name")
    assert names(p.stdout) == names(d.stdout) == expected


@pytest.mark.parametrize("kind,selector,expected", [
    ("configmaps", "metadata.name=cm-b", ["configmap/cm-b"]),
    ("configmaps", "metadata.name!=cm-b", ["configmap/cm-a", "configmap/cm-c", "configmap/cm-d"]),
    ("pods", "spec.nodeName=node-1", ["pod/pod-1"]),
    ("pods", "spec.nodeName!=node-1,metadata.name=pod-2", ["pod/pod-2"]),
])
def test_field_selectors(k, ns, applied, kind, selector, expected):
    p, d = k.both("get", "-n", ns, kind, "--field-selector", selector, "-o", "name")
    # kube-root-ca.crt does not exist on 1.20 (no controller-manager), so the sets are exact
    assert names(p.stdout) == names(d.stdout) == expected


def test_chunked_list(k, lab, fresh_ns):
    objs = "\n---\n".join(
        f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: chunk-{i}, labels: {{chunk: 'yes'}}}}\ndata: {{i: '{i}'}}"
        for i in range(9))
    k.direct("apply", "-n", fresh_ns, "-f", "-", input=objs)
    p, d = k.both("get", "-n", fresh_ns, "configmaps", "--chunk-size=2", "-o", "name")
    assert names(p.stdout) == names(d.stdout) == sorted(f"configmap/chunk-{i}" for i in range(9))
    # and the pagination really happened through the proxy (-v=6 logs each request URL)
    p6 = k.proxy_run("get", "-n", fresh_ns, "configmaps", "--chunk-size=2", "-o", "name", "-v=6")
    pages = [l for l in p6.stderr.splitlines() if "/configmaps?" in l and "limit=2" in l]
    assert len(pages) == 5, p6.stderr[-3000:]
    assert sum("continue=" in l for l in pages) == 4


class LineReader:
    def __init__(self, proc):
        self.proc, self.q, self.lines = proc, queue.Queue(), []
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        for line in self.proc.stdout:
            self.q.put(line.rstrip("\n"))

    def expect(self, pred, timeout, what):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.q.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            self.lines.append(line)
            if pred(line):
                return line
        raise AssertionError(f"no {what} within {timeout}s; got {self.lines}; stderr: "
                             f"{self.proc.stderr.read() if self.proc.poll() is not None else '(running)'}")


@pytest.mark.parametrize("output", ["name", "table"])
def test_watch_events_arrive_through_proxy(k, ns, applied, output):
    # -o name prints "configmap/NAME" per event (kubectl drops the event type with -o name);
    # the table form prints "EVENT NAME DATA AGE" rows, so the event types are checked there
    fmt = ["-o", "name"] if output == "name" else []
    procs = {via: k.popen(via, "get", "-n", ns, "configmaps", "-w", *fmt, "--output-watch-events")
             for via in ("proxy", "direct")}
    readers = {via: LineReader(p) for via, p in procs.items()}

    def key(line):   # what must match between proxy and direct (AGE may differ by a second)
        f = line.split()
        return tuple(f[:1]) if output == "name" else tuple(f[:2])

    try:
        for r in readers.values():       # the initial list: the 4 applied configmaps
            for _ in range(4):
                r.expect(lambda l: "cm-" in l, 15, "initial listing")
        steps = [
            (("create", "configmap", "watched", "--from-literal=a=1"), "ADDED"),
            (("patch", "configmap", "watched", "-p", '{"data":{"a":"2"}}'), "MODIFIED"),
            (("delete", "configmap", "watched"), "DELETED"),
        ]
        for args, event in steps:
            k.direct("-n", ns, *args)
            want = ("configmap/watched",) if output == "name" else (event, "watched")
            for via, r in readers.items():
                r.expect(lambda l: key(l) == want, 5, f"{want} via {via}")
        assert [key(l) for l in readers["proxy"].lines] == [key(l) for l in readers["direct"].lines]
    finally:
        for p in procs.values():
            p.kill()
            p.wait()


def test_delete_and_force_delete(k, fresh_ns):
    pods = "\n---\n".join(
        f"apiVersion: v1\nkind: Pod\nmetadata: {{name: del-pod-{via}}}\n"
        f"spec: {{nodeName: node-1, containers: [{{name: c, image: busybox}}]}}" for via in ("proxy", "direct"))
    k.direct("apply", "-n", fresh_ns, "-f", "-", input=pods)
    out = {}
    for via in ("proxy", "direct"):
        k.direct("create", "-n", fresh_ns, "configmap", f"del-cm-{via}")
        cm = k.run(via, "delete", "-n", fresh_ns, "configmap", f"del-cm-{via}")
        pod = k.run(via, "delete", "-n", fresh_ns, "pod", f"del-pod-{via}", "--grace-period=0", "--force")
        out[via] = (cm.stdout.replace(f"-{via}", ""), pod.stdout.replace(f"-{via}", ""),
                    pod.stderr.replace(f"-{via}", ""))
    assert out["proxy"] == out["direct"]
    assert out["proxy"][0].strip() == 'configmap "del-cm" deleted'
    assert out["proxy"][1].strip() == 'pod "del-pod" force deleted'
    left = k.direct("get", "-n", fresh_ns, "configmaps,pods", "-o", "name")
    assert left.stdout.strip() == ""


def test_server_side_apply_and_label(k, fresh_ns):
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa}\ndata: {a: '1'}\n"
    r = k.proxy_run("apply", "--server-side", "--field-manager=e2e", "-n", fresh_ns, "-f", "-", input=cm)
    assert "serverside-applied" in r.stdout
    k.proxy_run("label", "-n", fresh_ns, "configmap", "ssa", "touched=yes")
    obj = json.loads(k.direct("get", "-n", fresh_ns, "configmap", "ssa", "-o", "json", "--show-managed-fields").stdout)
    assert obj["data"] == {"a": "1"} and obj["metadata"]["labels"] == {"touched": "yes"}
    assert {m["manager"] for m in obj["metadata"]["managedFields"]} >= {"e2e"}


@pytest.mark.parametrize("path", ["/version", "/api", "/apis", "/api/v1/namespaces/default"])
def test_get_raw(k, path):
    p, d = k.both("get", "--raw", path)
    assert json.loads(p.stdout) == json.loads(d.stdout)


def test_api_resources(k):
    p, d = k.both("api-resources")
    assert p.stdout == d.stdout
    assert "configmaps" in p.stdout and "pods" in p.stdout


def test_not_found_error_identical(k, ns):
    p, d = k.both("get", "-n", ns, "configmap", "does-not-exist", check=False)
    assert p.returncode == d.returncode == 1
    assert p.stderr == d.stderr
    assert 'Error from server (NotFound): configmaps "does-not-exist" not found' in p.stderr


def test_missing_namespace_error_identical(k):
    # a namespaced create in a namespace that does not exist: NotFound from the apiserver, forwarded verbatim
    p, d = k.both("create", "-n", "no-such-ns-e2e", "configmap", "x", check=False)
    assert p.returncode == d.returncode == 1
    assert p.stderr == d.stderr and 'namespaces "no-such-ns-e2e" not found' in p.stderr
