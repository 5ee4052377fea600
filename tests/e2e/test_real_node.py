"""A real node through Outpost: kubemark's hollow node (the real kubelet and kube-proxy code over a
fake container runtime, built by scripts/kube-lab/up.sh from the same 1.20 source as the lab's
apiserver) registers through Outpost, runs a dozen pods, then reboots into an outage: kubelet,
kube-proxy and Outpost are killed while the link is cut, start again offline, get every pod back
from the cache and start them, and every informer syncs. The link returns and the node is Ready
with the same pods, not one restarted.

The offline start-to-first-pod time (kubelet process start to the first container its PLEG sees
started) is printed and appended to `real-node-timings.txt` in the session's work directory.

The fake runtime listens on a fixed path (/tmp/kubelet_remote.sock), so each kubelet runs in a
private mount namespace whose /tmp is a directory of this test (`unshare`; root, as the suite).
"""
import datetime
import json
import os
import re
import secrets
import signal
import subprocess
import time
from pathlib import Path

import pytest

from harness import LAB_DIR, REPO, free_port, tail, wait_until

pytestmark = pytest.mark.usefixtures("outpost_only")

KUBEMARK = LAB_DIR / "cache" / "bin" / "kubemark"
PODS = 12

# Reflector failures (client-go 1.20's wording): an informer that cannot list or watch.
INFORMER_FAILURE = re.compile(r"Failed to watch|failed to list|Failed to list")
PLEG_STARTED = re.compile(r'SyncLoop \(PLEG\): "([^"_]+)_([^"(]+)\(([^)]+)\)", event: .*Type:"ContainerStarted"')
KLOG_TIME = re.compile(r"^[IWEF]\d{4} (\d\d):(\d\d):(\d\d)\.(\d{6})")


@pytest.fixture(scope="module")
def kubemark(lab):
    """The hollow-node binary; up.sh builds it (also when the lab is already up)."""
    if not KUBEMARK.exists():
        r = subprocess.run(["bash", str(REPO / "scripts/kube-lab/up.sh")], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=3600)
        assert r.returncode == 0 and KUBEMARK.exists(), f"up.sh did not build {KUBEMARK}:\n{r.stdout[-3000:]}{r.stderr[-3000:]}"
    return KUBEMARK


_private_tmp = None


def private_tmp_works():
    global _private_tmp
    if _private_tmp is None:
        r = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", "mount --bind /tmp /tmp"],
                           stdin=subprocess.DEVNULL, capture_output=True)
        _private_tmp = r.returncode == 0
    return _private_tmp


class Hollow:
    """One kubemark process (`--morph=kubelet` or `proxy`) against an Outpost, its log in `log`."""

    def __init__(self, binary, morph, node, proxy, home):
        self.binary, self.morph, self.node, self.home = binary, morph, node, Path(home)
        self.tmp = self.home / "tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)
        (self.tmp / "kubeconfig").write_text(proxy.kubeconfig.read_text())
        self.log = self.home / f"{morph}.log"
        self.proc = None
        self.started_wall = None

    def start(self):
        args = [str(self.binary), f"--morph={self.morph}", f"--name={self.node}", "--kubeconfig=/tmp/kubeconfig", "--v=2"]
        if self.morph == "kubelet":
            args += [f"--kubelet-port={free_port()}", "--kubelet-read-only-port=0"]
        # /tmp of its own: the fake runtime's socket and the kubelet's root dir live there. Without
        # mount namespaces (no privilege) it shares the machine's /tmp: one hollow kubelet at a time.
        if private_tmp_works():
            cmd = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                   'mount --bind "$0" /tmp && cd /tmp && exec "$@"', str(self.tmp), *args]
        else:
            args[3] = f"--kubeconfig={self.tmp / 'kubeconfig'}"
            cmd = args
        self._logf = open(self.log, "ab")
        self._logf.write(f"### {' '.join(args)}\n".encode())
        self._logf.flush()
        self.started_wall = time.time()
        self.started = time.monotonic()
        self.offset = self.log.stat().st_size
        self.proc = subprocess.Popen(cmd, stdout=self._logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True, cwd=self.tmp,
                                     env={**os.environ, "TMPDIR": "/tmp" if private_tmp_works() else str(self.tmp)})
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        """kill -9: a node that loses power does not shut down cleanly."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        if getattr(self, "_logf", None):
            self._logf.close()
            self._logf = None

    def lines(self):
        """Log lines of the current run."""
        with open(self.log, "rb") as f:
            f.seek(self.offset)
            return f.read().decode(errors="replace").splitlines()

    def klog_seconds_since_start(self, line):
        """Seconds from process start to a klog line's own timestamp (klog writes local time)."""
        m = KLOG_TIME.match(line)
        if not m:
            return None
        start = datetime.datetime.fromtimestamp(self.started_wall)
        at = start.replace(hour=int(m[1]), minute=int(m[2]), second=int(m[3]), microsecond=int(m[4]))
        return (at - start).total_seconds()


def started_pods(kubelet):
    """Pods (namespace, name) whose containers kubelet's PLEG saw start in this run -> seconds from
    the process start to the first such event of each (klog's own timestamps)."""
    seen = {}
    for line in kubelet.lines():
        m = PLEG_STARTED.search(line)
        if m and (m[2], m[1]) not in seen:
            seen[(m[2], m[1])] = kubelet.klog_seconds_since_start(line)
    return seen


def informer_failures(h):
    return [l for l in h.lines() if INFORMER_FAILURE.search(l)]


def node_ready(node_obj):
    for c in node_obj.get("status", {}).get("conditions", []):
        if c["type"] == "Ready":
            return c["status"] == "True", c.get("lastHeartbeatTime", "")
    return False, ""


def pod_states(lab, ns):
    items = lab.admin.json("GET", f"/api/v1/namespaces/{ns}/pods")["items"]
    out = {}
    for p in items:
        cs = (p.get("status", {}).get("containerStatuses") or [{}])[0]
        out[p["metadata"]["name"]] = {
            "uid": p["metadata"]["uid"], "phase": p.get("status", {}).get("phase"),
            "running": "running" in cs.get("state", {}), "ready": cs.get("ready", False),
            "restarts": cs.get("restartCount"), "containerID": cs.get("containerID"),
        }
    return out


def all_running(states):
    return len(states) == PODS and all(s["phase"] == "Running" and s["running"] and s["ready"] for s in states.values())


def cleanup_node(lab, node):
    a = lab.admin
    a.request("DELETE", f"/api/v1/nodes/{node}")
    a.request("DELETE", f"/apis/storage.k8s.io/v1/csinodes/{node}")
    a.request("DELETE", f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{node}")
    a.request("DELETE", f"/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3D{node}")


def test_hollow_node_reboots_into_an_outage(lab, kubemark, proxy_factory, ns_factory, workdir, capsys, record_property):
    node = f"e2e-hollow-{secrets.token_hex(3)}"
    ns = ns_factory("real-node")
    home = Path(workdir) / node
    hollows = []
    try:
        # ------------------------------------------------------------------ online: register, run pods
        p, relay = proxy_factory()
        kubelet = Hollow(kubemark, "kubelet", node, p, home).start()
        proxy = Hollow(kubemark, "proxy", node, p, home).start()
        hollows += [kubelet, proxy]

        def registered_ready():
            assert kubelet.alive(), f"kubelet exited:\n{tail(kubelet.log, 30)}"
            st, _, body = lab.admin.request("GET", f"/api/v1/nodes/{node}")
            return st == 200 and node_ready(json.loads(body))[0]
        wait_until(registered_ready, 60, interval=0.5, what=f"node {node} to register and turn Ready through Outpost")

        for i in range(PODS):
            lab.admin.json("POST", f"/api/v1/namespaces/{ns}/pods", {
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": f"hollow-{i:02d}", "labels": {"app": "hollow"}},
                "spec": {"nodeName": node, "containers": [{"name": "c", "image": "k8s.gcr.io/pause:3.2"}]}})
        wait_until(lambda: all_running(pod_states(lab, ns)), 60, interval=0.5,
                   what=f"{PODS} pods on {node} to run and their status to reach the apiserver")
        before = pod_states(lab, ns)
        assert all(s["restarts"] == 0 for s in before.values()), before
        # kube-proxy synced its informers online too
        wait_until(lambda: any("Caches are synced for service config" in l for l in proxy.lines()), 30,
                   what="kube-proxy's service informer to sync")
        assert not informer_failures(kubelet) and not informer_failures(proxy), \
            (informer_failures(kubelet) + informer_failures(proxy))[:10]
        # the pods' Running status as the kubelet's own watch delivered it (through Outpost) is cached
        time.sleep(2)

        # ------------------------------------------------------------------ the node reboots into an outage
        relay.set_mode("blackhole")
        kubelet.kill()
        proxy.kill()
        p.stop()
        p2, _ = proxy_factory(relay=relay, cache_dir=p.cache_dir, wait_ready=False)
        # kubelet and kube-proxy start as soon as Outpost listens, before it has judged the
        # apiserver unreachable (its probes take a second or two): reads are answered from the
        # cache at once, kubelet's create of its Node waits for the verdict and then gets its 409.
        p2.wait_listening()
        kubelet = Hollow(kubemark, "kubelet", node, p2, home).start()
        proxy = Hollow(kubemark, "proxy", node, p2, home).start()
        hollows += [kubelet, proxy]

        def every_pod_started():
            assert kubelet.alive(), f"kubelet exited offline:\n{tail(kubelet.log, 30)}"
            return len(started_pods(kubelet)) == PODS
        wait_until(every_pod_started, 45, interval=0.05, what=f"the restarted kubelet to start all {PODS} pods offline")
        started = started_pods(kubelet)
        assert set(started) == {(ns, name) for name in before}, started
        assert all(t is not None and t > 0 for t in started.values()), started
        first, last = min(started.values()), max(started.values())
        # kubelet re-registered offline: its create of the Node got 409 from the cache, the node came from it
        registered = wait_until(lambda: next((l for l in kubelet.lines() if f"Node {node} was previously registered" in l), None),
                                20, what="kubelet to re-register its node offline (409 AlreadyExists, then the cached node)")
        reregistered = kubelet.klog_seconds_since_start(registered)
        wait_until(lambda: any("Caches are synced for service config" in l for l in proxy.lines())
                   and any("Caches are synced for endpoint slice config" in l or "Caches are synced for endpoints config" in l
                           for l in proxy.lines()), 20, what="kube-proxy's informers to sync offline")
        time.sleep(3)   # informers that fail would have logged by now (reflectors retry within a second)
        assert relay.ctl("status")["mode"] == "blackhole"
        failures = informer_failures(kubelet) + informer_failures(proxy)
        assert not failures, "informers failed offline:\n" + "\n".join(failures[:10])
        assert kubelet.alive() and proxy.alive()
        with capsys.disabled():
            print(f"\n[real node] offline, kubelet start -> first pod running: {first:.2f} s, all {PODS}: {last:.2f} s; "
                  f"node re-registered (409 from the cache) at {reregistered:.2f} s")
        record_property("offline_kubelet_start_to_first_pod_s", round(first, 3))
        record_property("offline_kubelet_start_to_all_pods_s", round(last, 3))
        record_property("offline_kubelet_start_to_node_reregistered_s", round(reregistered, 3))
        with open(Path(workdir) / "real-node-timings.txt", "a") as f:
            f.write(f"{datetime.datetime.now(datetime.timezone.utc).isoformat()} offline kubelet start -> first pod running "
                    f"{first:.3f} s, all {PODS} {last:.3f} s, node re-registered {reregistered:.3f} s\n")

        # ------------------------------------------------------------------ the link returns
        relay.set_mode("pass")
        back = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)

        def ready_since_back():
            st, _, body = lab.admin.request("GET", f"/api/v1/nodes/{node}")
            if st != 200:
                return False
            ready, beat = node_ready(json.loads(body))
            return ready and beat and datetime.datetime.fromisoformat(beat.replace("Z", "+00:00")) >= back
        wait_until(ready_since_back, 40, interval=0.5, what="the node to report Ready after the link returned")
        wait_until(lambda: all_running(pod_states(lab, ns)), 30, interval=0.5, what="every pod Running after the link returned")
        after = pod_states(lab, ns)
        # The fake runtime names a container after its pod, UID and attempt
        # (fakeRuntime://NAME_NS_UID_ATTEMPT_c_0): a restarted container would show a new ID.
        assert {n: (s["uid"], s["containerID"], s["restarts"]) for n, s in after.items()} == \
               {n: (s["uid"], s["containerID"], s["restarts"]) for n, s in before.items()}
        assert all(s["restarts"] == 0 for s in after.values()), after
        # No pod restarts once the node is back: the containers the offline kubelet started keep running.
        time.sleep(3)
        settled = pod_states(lab, ns)
        assert {n: (s["containerID"], s["restarts"]) for n, s in settled.items()} == \
               {n: (s["containerID"], s["restarts"]) for n, s in after.items()}
        assert kubelet.alive() and proxy.alive()
    finally:
        for h in hollows:
            h.kill()
        cleanup_node(lab, node)
