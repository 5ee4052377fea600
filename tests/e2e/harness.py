"""Machinery for the e2e suite: the lab, the proxy under test, the relay, kubectl and raw HTTP.

Environment knobs
  OUTPOST_BIN=/path/outpost   use this binary (no build)
  E2E_PROXY=kubectl-proxy     use `kubectl proxy` as the proxy under test (harness validation)
  (neither)                   `swift build` and use $(swift build --show-bin-path)/outpost
  E2E_KEEP_LAB=1              never stop the lab, even if this session started it
  E2E_READY_TIMEOUT=60        seconds to wait for the proxy to become ready
  E2E_LOG_LEVEL=debug         --log-level passed to outpost
  KUBE_LAB_DIR                lab state directory (default /var/tmp/kube-lab)
"""
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
E2E_DIR = Path(__file__).resolve().parent
PYTHON = sys.executable or "/usr/bin/python3"
KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"
LAB_DIR = Path(os.environ.get("KUBE_LAB_DIR", "/var/tmp/kube-lab"))
LAB_RUN = LAB_DIR / "run"


def proxy_kind():
    return "kubectl-proxy" if os.environ.get("E2E_PROXY") == "kubectl-proxy" else "outpost"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(pred, timeout, interval=0.1, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            v = pred()
            if v:
                return v
        except Exception as e:  # keep polling; report the last error
            last = e
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}" + (f" (last error: {last!r})" if last else ""))


def tail(path, n=60):
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            lines = f.read().decode(errors="replace").splitlines()
        return "\n".join(lines[-n:])
    except OSError as e:
        return f"(no log: {e})"


# ------------------------------------------------------------------------------------- HTTP
class Http:
    """Minimal HTTP(S) client: one request per call (fresh connection), full control of headers."""

    def __init__(self, base, token=None, cafile=None):
        u = urllib.parse.urlsplit(base)
        self.base = base.rstrip("/")
        self.scheme, self.host, self.port = u.scheme, u.hostname, u.port or (443 if u.scheme == "https" else 80)
        self.token = token
        self.ctx = ssl.create_default_context(cafile=cafile) if self.scheme == "https" else None

    def connect(self, timeout=30):
        if self.scheme == "https":
            return http.client.HTTPSConnection(self.host, self.port, timeout=timeout, context=self.ctx)
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def headers(self, extra=None):
        h = {}
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        h.update(extra or {})
        return h

    def request(self, method, path, body=None, headers=None, timeout=30, conn=None, encode_chunked=False):
        """-> (status, headers(dict, lower-case keys), body bytes)"""
        own = conn is None
        c = conn or self.connect(timeout)
        try:
            if isinstance(body, (dict, list)):
                body = json.dumps(body).encode()
                headers = {"Content-Type": "application/json", **(headers or {})}
            c.request(method, path, body=body, headers=self.headers(headers), encode_chunked=encode_chunked)
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            if own:
                c.close()

    def json(self, method, path, body=None, headers=None, expect=(200, 201), timeout=30):
        st, _, data = self.request(method, path, body=body, headers={"Accept": "application/json", **(headers or {})},
                                   timeout=timeout)
        if expect and st not in expect:
            raise AssertionError(f"{method} {self.base}{path} -> {st}: {data[:500]!r}")
        return json.loads(data) if data else None


# ------------------------------------------------------------------------------------- lab
class Lab:
    """The kube-lab apiserver (scripts/kube-lab). Started here only if it is not up already."""

    def __init__(self):
        self.kubeconfig = LAB_RUN / "kubeconfig"
        self.viewer_kubeconfig = LAB_RUN / "kubeconfig-viewer"
        self.ca = LAB_RUN / "pki" / "ca.crt"
        self.started_by_us = False
        self.log = None

    @staticmethod
    def _kubeconfig_field(path, key):
        for line in Path(path).read_text().splitlines():
            s = line.strip()
            if s.startswith(key + ":"):
                return s.split(":", 1)[1].strip()
        raise KeyError(f"{key} not in {path}")

    def load(self):
        self.server = self._kubeconfig_field(self.kubeconfig, "server")
        self.admin_token = self._kubeconfig_field(self.kubeconfig, "token")
        self.viewer_token = self._kubeconfig_field(self.viewer_kubeconfig, "token")
        u = urllib.parse.urlsplit(self.server)
        self.host, self.port = u.hostname, u.port
        self.admin = Http(self.server, self.admin_token, str(self.ca))
        self.viewer = Http(self.server, self.viewer_token, str(self.ca))
        return self

    def healthy(self):
        try:
            self.load()
            st, _, body = self.admin.request("GET", "/readyz", timeout=3)
            return st == 200 and body.strip() == b"ok"
        except Exception:
            return False

    def ensure_up(self, log_path):
        if self.healthy():
            return self
        self.log = log_path
        with open(log_path, "wb") as f:
            r = subprocess.run(["bash", str(REPO / "scripts/kube-lab/up.sh")], stdout=f, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, timeout=3600)
        if r.returncode != 0:
            raise RuntimeError(f"scripts/kube-lab/up.sh failed (rc={r.returncode}):\n{tail(log_path, 40)}")
        self.started_by_us = True
        wait_until(self.healthy, 60, what="kube-lab apiserver /readyz")
        return self

    def stop_if_ours(self):
        if self.started_by_us and os.environ.get("E2E_KEEP_LAB") != "1":
            subprocess.run(["bash", str(REPO / "scripts/kube-lab/down.sh")], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)

    # --- namespaces (created/removed directly on the apiserver) ---
    def create_namespace(self, name, labels=None):
        self.admin.json("POST", "/api/v1/namespaces",
                        {"apiVersion": "v1", "kind": "Namespace",
                         "metadata": {"name": name, "labels": {"e2e.outpost/test": "true", **(labels or {})}}})

    def delete_namespace(self, name):
        """Empty the namespace and remove it for real. Without kube-controller-manager a deleted
        namespace stays Terminating forever, so its `kubernetes` finalizer is cleared by hand."""
        a = self.admin
        base = f"/api/v1/namespaces/{name}"
        a.request("DELETE", f"{base}/pods?gracePeriodSeconds=0", timeout=60)
        for res in ("configmaps", "secrets", "services", "serviceaccounts", "endpoints", "events"):
            a.request("DELETE", f"{base}/{res}", timeout=60)
        a.request("DELETE", base)
        st, _, data = a.request("GET", base)
        if st == 200:
            obj = json.loads(data)
            obj.setdefault("spec", {})["finalizers"] = []
            a.request("PUT", f"{base}/finalize", body=obj)
            a.request("DELETE", base)


# ------------------------------------------------------------------------------------- relay
class RelayProcess:
    """tests/e2e/relay.py in its own process, controlled over its unix socket."""

    def __init__(self, target, workdir, mode="pass"):
        self.port = free_port()
        self.listen = f"127.0.0.1:{self.port}"
        self.target = target
        self.ctl_path = str(Path(workdir) / f"relay-{self.port}.ctl")
        self.log = Path(workdir) / f"relay-{self.port}.log"
        self.mode = mode
        self.proc = None

    @property
    def url(self):
        return f"https://{self.listen}"

    def start(self):
        self._logf = open(self.log, "wb")
        self.proc = subprocess.Popen([PYTHON, str(E2E_DIR / "relay.py"), "--listen", self.listen, "--target", self.target,
                                      "--control", self.ctl_path, "--mode", self.mode],
                                     stdout=self._logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        wait_until(lambda: self.proc.poll() is None and os.path.exists(self.ctl_path) and self.ctl("status"), 10,
                   what=f"relay on {self.listen}")
        return self

    def ctl(self, cmd):
        import relay
        return relay.control(self.ctl_path, cmd)

    def set_mode(self, mode):
        return self.ctl(mode)

    def cut(self):
        return self.ctl("cut")

    def cut_after(self, nbytes, mode="blackhole"):
        """Arm a mid-response cut: after `nbytes` more bytes towards the proxy, switch to `mode` and RST all."""
        return self.ctl(f"cutafter {int(nbytes)} {mode}")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        if getattr(self, "_logf", None):
            self._logf.close()


# ------------------------------------------------------------------------------------- proxy
_outpost_bin_cache = None


def outpost_binary():
    """OUTPOST_BIN, or `swift build` once per session and use the debug binary."""
    global _outpost_bin_cache
    if os.environ.get("OUTPOST_BIN"):
        return os.environ["OUTPOST_BIN"]
    if _outpost_bin_cache:
        return _outpost_bin_cache
    env = dict(os.environ)
    if not shutil.which("swift", path=env.get("PATH")):
        env["PATH"] = "/opt/swift/usr/bin:" + env.get("PATH", "")
    r = subprocess.run(["swift", "build", "--product", "outpost"], cwd=REPO, env=env, capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=3600)
    if r.returncode != 0:
        raise RuntimeError(f"swift build failed:\n{(r.stdout + r.stderr)[-4000:]}")
    binpath = subprocess.run(["swift", "build", "--show-bin-path"], cwd=REPO, env=env, capture_output=True, text=True,
                             check=True).stdout.strip()
    _outpost_bin_cache = str(Path(binpath) / "outpost")
    return _outpost_bin_cache


ACTIVE_PROXIES = []   # for the failure report hook in conftest.py


class ProxyProcess:
    """The proxy under test: `outpost serve` or `kubectl proxy`, in its own process group."""

    def __init__(self, lab, workdir, server_addr=None, kind=None, name="proxy", cache_dir=None, extra_args=None):
        """cache_dir: reuse this --cache-dir (e.g. another instance's, to restart on its cache); default a
        fresh one. extra_args: more `outpost serve` arguments (e.g. ["--config", path]); not passed
        to kubectl proxy."""
        self.lab = lab
        self.kind = kind or proxy_kind()
        self.workdir = Path(workdir)
        self.name = name
        self.port = free_port()
        self.admin_port = free_port() if self.kind == "outpost" else None
        self.server_addr = server_addr
        if cache_dir is None:
            self.cache_dir = Path(tempfile.mkdtemp(prefix=f"{name}-cache-", dir=workdir))
        else:
            self.cache_dir = Path(cache_dir)
            self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.extra_args = [str(a) for a in (extra_args or [])]
        self.log = self.workdir / f"{name}-{self.port}.log"
        self.kubeconfig = self.workdir / f"{name}-{self.port}.kubeconfig"
        self.proc = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def admin_url(self):
        return f"http://127.0.0.1:{self.admin_port}" if self.admin_port else None

    @property
    def http(self):
        return Http(self.url)

    @property
    def admin_http(self):
        return Http(self.admin_url)

    def command(self):
        if self.kind == "kubectl-proxy":
            cmd = [KUBECTL, "proxy", f"--port={self.port}", "--address=127.0.0.1", f"--kubeconfig={self.lab.kubeconfig}"]
            if self.server_addr:
                cmd.append(f"--server={self.server_addr}")
            return cmd
        cmd = [outpost_binary(), "serve", "--kubeconfig", str(self.lab.kubeconfig),
               "--listen", f"127.0.0.1:{self.port}", "--admin-listen", f"127.0.0.1:{self.admin_port}",
               "--cache-dir", str(self.cache_dir), "--log-level", os.environ.get("E2E_LOG_LEVEL", "debug")]
        if self.server_addr:
            cmd += ["--server-addr", self.server_addr]
        return cmd + self.extra_args

    def write_kubeconfig(self):
        self.kubeconfig.write_text(f"""apiVersion: v1
kind: Config
clusters:
- name: outpost
  cluster:
    server: {self.url}
users:
- name: local
  user: {{}}
contexts:
- name: outpost
  context:
    cluster: outpost
    user: local
    namespace: default
current-context: outpost
""")

    def start(self, timeout=None, wait_ready=True):
        timeout = timeout or float(os.environ.get("E2E_READY_TIMEOUT", "60"))
        cmd = self.command()
        self._logf = open(self.log, "ab")
        self._logf.write(f"### {' '.join(cmd)}\n".encode())
        self._logf.flush()
        self.proc = subprocess.Popen(cmd, stdout=self._logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True, cwd=self.workdir)
        ACTIVE_PROXIES.append(self)
        self.write_kubeconfig()
        if not wait_ready:
            return self
        try:
            self.wait_ready(timeout)
        except Exception:
            self.stop()
            raise
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def wait_ready(self, timeout):
        def ready():
            if not self.alive():
                raise RuntimeError(f"{self.kind} exited with rc={self.proc.returncode}:\n{tail(self.log, 30)}")
            if self.kind == "outpost":
                st, _, _ = self.admin_http.request("GET", "/readyz", timeout=2)
                if st != 200:
                    return False
            st, _, _ = self.http.request("GET", "/version", timeout=5)
            return st == 200

        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                if ready():
                    return
            except RuntimeError:
                raise
            except Exception as e:
                last = e
            time.sleep(0.1)
        raise TimeoutError(f"{self.kind} not ready within {timeout}s (last: {last!r}); log tail:\n{tail(self.log, 40)}")

    def wait_listening(self, timeout=30):
        """Wait until the client port accepts TCP connections (for a start without readiness, e.g.
        while the upstream is cut and /readyz may say 503)."""
        def listening():
            if not self.alive():
                raise RuntimeError(f"{self.kind} exited with rc={self.proc.returncode}:\n{tail(self.log, 30)}")
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True

        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                return listening()
            except RuntimeError:
                raise
            except OSError as e:
                last = e
            time.sleep(0.05)
        raise TimeoutError(f"{self.kind} not listening within {timeout}s (last: {last!r}); log tail:\n"
                           f"{tail(self.log, 40)}")

    def signal(self, sig):
        os.kill(self.proc.pid, sig)

    def stop(self, timeout=10):
        """SIGTERM the process group, SIGKILL after `timeout`. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
            except ProcessLookupError:
                pass
        # anything the proxy left behind in its group
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self in ACTIVE_PROXIES:
            ACTIVE_PROXIES.remove(self)
        self._logf.close()
        return self.proc.returncode


# ------------------------------------------------------------------------------------- kubectl
class Kubectl:
    """Runs kubectl through the proxy or directly against the apiserver with identical arguments."""

    def __init__(self, lab, proxy, workdir):
        self.lab, self.proxy = lab, proxy
        self.cache = {"proxy": Path(workdir) / "kcache-proxy", "direct": Path(workdir) / "kcache-direct"}

    def argv(self, via, args):
        kc = self.proxy.kubeconfig if via == "proxy" else self.lab.kubeconfig
        return [KUBECTL, f"--kubeconfig={kc}", f"--cache-dir={self.cache[via]}", *args]

    def run(self, via, *args, input=None, check=True, timeout=60):
        r = subprocess.run(self.argv(via, args), input=input, capture_output=True, text=True, timeout=timeout,
                           stdin=None if input is not None else subprocess.DEVNULL)
        if check and r.returncode != 0:
            raise AssertionError(f"kubectl ({via}) {' '.join(args)} -> rc={r.returncode}\nstdout: {r.stdout[-2000:]}\n"
                                 f"stderr: {r.stderr[-2000:]}")
        return r

    def proxy_run(self, *args, **kw):
        return self.run("proxy", *args, **kw)

    def direct(self, *args, **kw):
        return self.run("direct", *args, **kw)

    def both(self, *args, **kw):
        return self.run("proxy", *args, **kw), self.run("direct", *args, **kw)

    def popen(self, via, *args):
        return subprocess.Popen(self.argv(via, args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                stdin=subprocess.DEVNULL, start_new_session=True, bufsize=1)


def names_rvs(items):
    return sorted((i["metadata"].get("namespace", ""), i["metadata"]["name"], i["metadata"]["resourceVersion"])
                  for i in items)


# ------------------------------------------------------------------------------------- cache / offline helpers
def cm_obj(name, labels=None, data=None):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels or {}},
            "data": data if data is not None else {"k": name}}


def pod_obj(name, labels=None, node=None):
    spec = {"containers": [{"name": "c", "image": "busybox"}]}
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels or {}}, "spec": spec}


def parallel_requests(http, reqs, threads=8, expect=(200, 201)):
    """Send [(method, path, body)] over `threads` keep-alive connections; -> decoded answers in order."""
    from concurrent.futures import ThreadPoolExecutor

    out = [None] * len(reqs)

    def worker(shard):
        conn = http.connect(60)
        try:
            for i in shard:
                method, path, body = reqs[i]
                hdr = {"Accept": "application/json"}
                if method == "PATCH":
                    hdr["Content-Type"] = "application/merge-patch+json"
                    body = json.dumps(body).encode()
                st, _, data = http.request(method, path, body, headers=hdr, conn=conn)
                if expect and st not in expect:
                    raise AssertionError(f"{method} {path} -> {st}: {data[:300]!r}")
                out[i] = json.loads(data) if data else None
        finally:
            conn.close()

    n = max(1, min(threads, len(reqs)))
    with ThreadPoolExecutor(n) as ex:
        list(ex.map(worker, [range(s, len(reqs), n) for s in range(n)]))
    return out


def create_objects(http, ns, resource, objs, threads=8):
    return parallel_requests(http, [("POST", f"/api/v1/namespaces/{ns}/{resource}", o) for o in objs], threads)


def timed_request(http, method, path, body=None, headers=None, timeout=10):
    """-> (status, headers, body, seconds). Exceptions propagate."""
    t0 = time.monotonic()
    st, h, data = http.request(method, path, body=body, headers={"Accept": "application/json", **(headers or {})},
                               timeout=timeout)
    return st, h, data, time.monotonic() - t0


class WatchStream:
    """A raw HTTP watch read by a background thread: events (decoded JSON lines) in order, the time
    the stream ended and how (EOF / error). Subclasses read other framings by overriding
    `_read_item`, `_record` and `_describe` (see test_protobuf.ProtoWatch)."""

    def __init__(self, http, path, timeout=60, headers=None):
        import queue
        import threading

        self.path = path
        self.events = []
        self.q = queue.Queue()
        self.error = None
        self.ended = threading.Event()
        self.ended_at = None
        self.started_at = time.monotonic()
        self.conn = http.connect(timeout)
        self.conn.request("GET", path, headers=http.headers(headers or {"Accept": "application/json"}))
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.headers = {k.lower(): v for k, v in self.resp.getheaders()}
        if self.status != 200:
            self.body = self.resp.read()
            self.ended_at = time.monotonic()
            self.ended.set()
            return
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _read_item(self):
        """The next event, or None at the end of the stream."""
        while True:
            line = self.resp.readline()
            if not line:
                return None
            if line.strip():
                return json.loads(line)

    def _record(self, ev):
        ev["_t"] = time.monotonic()
        self.events.append(ev)

    def _describe(self):
        return [summarize_event(e) for e in self.events][-20:]

    def _run(self):
        try:
            while (item := self._read_item()) is not None:
                self._record(item)
                self.q.put(item)
        except Exception as e:  # reported through .error
            self.error = e
        finally:
            self.ended_at = time.monotonic()
            self.ended.set()
            self.q.put(None)

    def wait_for(self, pred, timeout, what="watch event"):
        """Consume events until pred(event) is true; -> that event."""
        import queue

        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                ev = self.q.get(timeout=left)
            except queue.Empty:
                break
            if ev is None:
                raise AssertionError(f"watch ended (error={self.error!r}) before {what}; events: {self._describe()}")
            if pred(ev):
                return ev
        raise AssertionError(f"no {what} within {timeout}s; events: {self._describe()}")

    def duration(self):
        return (self.ended_at or time.monotonic()) - self.started_at

    def close(self):
        try:
            if self.conn.sock is not None:
                self.conn.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.conn.close()


def summarize_event(ev):
    o = ev.get("object") or {}
    md = o.get("metadata") or {}
    return (ev.get("type"), md.get("name") or o.get("message"), md.get("resourceVersion"))
