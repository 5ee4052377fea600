"""The deployment files (deploy/): the systemd unit passes `systemd-analyze verify`, the static-pod
manifest passes the apiserver's server-side dry run, and the command lines both ship actually start
the binary under test and serve (the unit's with its key file handed over read-only, the way
systemd's LoadCredential= does). Seconds in all.
(Skipped with E2E_PROXY=kubectl-proxy.)"""
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from harness import KUBECTL, REPO, Http, free_port, outpost_binary, tail, wait_until

pytestmark = pytest.mark.usefixtures("outpost_only")

DEPLOY = REPO / "deploy"
UNIT = DEPLOY / "outpost.service"
MANIFEST = DEPLOY / "outpost-static-pod.yaml"
EXAMPLE_CONFIG = REPO / "docs" / "outpost.example.yaml"
SYSTEMD_ANALYZE = shutil.which("systemd-analyze") or "/usr/bin/systemd-analyze"


def unit_with_binary(tmp_path, text=None):
    """The unit as shipped, but naming the binary under test (verify checks ExecStart exists)."""
    text = (text or UNIT.read_text()).replace("/usr/local/bin/outpost", str(Path(outpost_binary()).resolve()))
    path = tmp_path / "outpost.service"
    path.write_text(text)
    return path


def verify(path):
    r = subprocess.run([SYSTEMD_ANALYZE, "verify", "--man=no", str(path)], capture_output=True, text=True,
                       cwd=path.parent, timeout=60)
    return r.returncode, (r.stdout + r.stderr).strip()


def test_unit_verifies_without_warnings(tmp_path):
    rc, out = verify(unit_with_binary(tmp_path))
    assert rc == 0 and out == "", out


def test_verify_catches_a_mistake(tmp_path):
    # systemd-analyze exits 0 on unknown keys and bad values, printing a warning: the test above
    # demands silence, and this shows a slip in the unit would break it.
    bad = UNIT.read_text().replace("ProtectSystem=strict", "ProtectSystem=strickt")
    rc, out = verify(unit_with_binary(tmp_path, bad))
    assert "ProtectSystem" in out or "protect system" in out.lower(), out


def test_unit_exposure_is_low(tmp_path):
    r = subprocess.run([SYSTEMD_ANALYZE, "security", "--offline=yes", "--no-pager", str(unit_with_binary(tmp_path))],
                       capture_output=True, text=True, timeout=60)
    m = re.search(r"Overall exposure level for outpost\.service: ([0-9.]+)", r.stdout)
    assert m, r.stdout[-2000:] + r.stderr
    assert float(m.group(1)) <= 2.5, r.stdout[-3000:]


def test_static_pod_passes_server_dry_run(lab):
    r = subprocess.run([KUBECTL, "--kubeconfig", str(lab.kubeconfig), "apply", "--dry-run=server", "-o", "json",
                        "-f", str(MANIFEST)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    pod = json.loads(r.stdout)
    spec = pod["spec"]
    assert pod["metadata"]["namespace"] == "kube-system"
    assert spec["hostNetwork"] is True
    assert spec["priorityClassName"] == "system-node-critical" and spec["priority"] > 0
    paths = {v["name"]: v["hostPath"]["path"] for v in spec["volumes"]}
    assert paths["cache"] == "/var/lib/outpost"
    assert paths["kubeconfig"] == "/etc/kubernetes/outpost.conf"


# ------------------------------------------------------------------------ the shipped command lines
def unit_exec_start():
    text = UNIT.read_text().replace("\\\n", " ")
    line = next(l for l in text.splitlines() if l.startswith("ExecStart="))
    return shlex.split(line.removeprefix("ExecStart="))


def manifest_args():
    args, inside = [], False
    for line in MANIFEST.read_text().splitlines():
        if re.match(r"^\s+args:\s*$", line):
            inside = True
            continue
        if inside:
            m = re.match(r"^\s+- (.*)$", line)
            if not m:
                break
            args.append(m.group(1).strip())
    return args


def run_shipped(lab, argv, host_paths, tmp_path, wrapper=(), exercise=None):
    """Starts the binary under test with a shipped command line whose host paths are mapped into
    tmp_path; checks /readyz and a forwarded request (and `exercise(port, admin)`), then SIGTERM:
    exit 0. wrapper: a command prefix (strace) whose child is Outpost."""
    port, admin = free_port(), free_port()
    mapped = []
    for a in argv:
        for src, dst in host_paths.items():
            a = a.replace(src, str(dst))
        a = a.replace("127.0.0.1:10261", f"127.0.0.1:{port}").replace("127.0.0.1:10267", f"127.0.0.1:{admin}")
        mapped.append(a)
    if not any(a.startswith("--listen") for a in argv):   # the unit keeps the default ports
        mapped += ["--listen", f"127.0.0.1:{port}", "--admin-listen", f"127.0.0.1:{admin}"]
    log = tmp_path / "outpost.log"
    with open(log, "wb") as lf:
        proc = subprocess.Popen(list(wrapper) + [outpost_binary()] + mapped, stdout=lf, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_until(lambda: Http(f"http://127.0.0.1:{admin}").request("GET", "/readyz", timeout=2)[0] == 200, 30,
                   what=f"readyz of {mapped}")
        st, _, body = Http(f"http://127.0.0.1:{port}").request("GET", "/api/v1/namespaces/default")
        assert st == 200, body[:500]
        if exercise:
            exercise(port, admin)
        target = proc.pid
        if wrapper:   # signal Outpost itself, not the tracer
            target = int(Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()[0])
        os.kill(target, signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    except BaseException:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        print(tail(log))
        raise
    return mapped


def test_unit_command_line_serves_with_a_read_only_credential(lab, tmp_path):
    # What LoadCredential= gives the service: a 0400 file in a directory it cannot write.
    creds = tmp_path / "credentials"
    creds.mkdir()
    r = subprocess.run([outpost_binary(), "rotate-key", "--encryption-key-file", str(tmp_path / "cache.key")],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    shutil.copy(tmp_path / "cache.key", creds / "outpost.key")
    os.chmod(creds / "outpost.key", 0o400)
    os.chmod(creds, 0o500)
    argv = unit_exec_start()
    assert argv[0] == "/usr/local/bin/outpost"
    cache = tmp_path / "state"
    cache.mkdir(mode=0o700)
    mapped = run_shipped(lab, argv[1:], {
        "%d": creds,
        "/etc/kubernetes/outpost.conf": lab.kubeconfig,
        "/var/lib/outpost": cache,
        "/etc/outpost/outpost.yaml": EXAMPLE_CONFIG,
    }, tmp_path)
    assert f"{creds}/outpost.key" in mapped
    assert sorted(os.listdir(creds)) == ["outpost.key"]   # nothing written next to the credential
    assert (cache / "cache.db").exists()
    assert not (cache / "cache.key").exists()             # the key stayed off the cache disk


def test_static_pod_command_line_serves(lab, tmp_path):
    args = manifest_args()
    assert args[0] == "serve" and "--kubeconfig=/etc/kubernetes/outpost.conf" in args
    # /etc/outpost is mounted read-only: the key is made beforehand on the host (INSTALL.md)
    etc = tmp_path / "etc-outpost"
    etc.mkdir()
    shutil.copy(EXAMPLE_CONFIG, etc / "outpost.yaml")
    r = subprocess.run([outpost_binary(), "rotate-key", "--encryption-key-file", str(etc / "cache.key")],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    before = sorted(os.listdir(etc))
    cache = tmp_path / "var-lib-outpost"
    run_shipped(lab, args, {
        "/etc/kubernetes/outpost.conf": lab.kubeconfig,
        "/var/lib/outpost": cache,
        "/etc/outpost": etc,
    }, tmp_path)
    assert (cache / "cache.db").exists()
    assert sorted(os.listdir(etc)) == before == ["cache.key", "outpost.yaml"]


# ------------------------------------------------------------------------ the unit's sandbox, traced
def syscall_groups():
    out = subprocess.run([SYSTEMD_ANALYZE, "syscall-filter"], capture_output=True, text=True, timeout=30).stdout
    groups, cur = {}, None
    for line in out.splitlines():
        t = line.strip()
        if not t or t.startswith("#"):
            continue
        if not line.startswith(" ") and t.startswith("@"):
            cur = groups.setdefault(t, [])
        elif cur is not None:
            cur.append(t)
    return groups


def expand(names, groups):
    out = set()
    for n in names:
        out |= expand(groups.get(n, []), groups) if n.startswith("@") else {n}
    return out


def unit_settings(key):
    return [l.split("=", 1)[1] for l in UNIT.read_text().splitlines() if l.startswith(key + "=")]


def test_traced_outpost_stays_inside_the_units_sandbox(lab, ns, tmp_path):
    """Outpost under strace while it serves, caches (Secrets sealed), watches and stops: every system
    call is in the unit's SystemCallFilter, every socket family in RestrictAddressFamilies, and no
    mapping is writable and executable at once (MemoryDenyWriteExecute)."""
    strace = shutil.which("strace")
    if not strace:
        pytest.fail("strace missing (apt-get install strace; scripts/test installs it)")
    groups = syscall_groups()
    allowed = set()
    for value in unit_settings("SystemCallFilter"):
        if value.startswith("~"):
            allowed -= expand(value[1:].split(), groups)
        else:
            allowed |= expand(value.split(), groups)
    assert len(allowed) > 100
    families = set(" ".join(unit_settings("RestrictAddressFamilies")).split())
    trace = tmp_path / "strace.txt"
    creds = tmp_path / "credentials"
    creds.mkdir()
    assert subprocess.run([outpost_binary(), "rotate-key", "--encryption-key-file", str(creds / "outpost.key")],
                          capture_output=True, timeout=30).returncode == 0
    cache = tmp_path / "state"

    def exercise(port, admin):
        k = [KUBECTL, "--server", f"http://127.0.0.1:{port}"]
        subprocess.run(k + ["-n", ns, "create", "secret", "generic", "traced", "--from-literal=a=b"],
                       check=True, capture_output=True, timeout=30)
        for args in (["get", "pods", "-A"], ["-n", ns, "get", "secrets"], ["get", "nodes"]):
            subprocess.run(k + args, check=True, capture_output=True, timeout=30)
        subprocess.run(k + ["-n", ns, "get", "secrets", "-w", "--request-timeout=2s"], capture_output=True, timeout=30)
        assert Http(f"http://127.0.0.1:{admin}").request("GET", "/metrics")[0] == 200

    run_shipped(lab, unit_exec_start()[1:], {
        "%d": creds,
        "/etc/kubernetes/outpost.conf": lab.kubeconfig,
        "/var/lib/outpost": cache,
        "/etc/outpost/outpost.yaml": EXAMPLE_CONFIG,
    }, tmp_path, wrapper=(strace, "-f", "-qq", "-o", str(trace)), exercise=exercise)
    used, socket_families, wx = set(), set(), []
    for line in trace.read_text().splitlines():
        m = re.match(r"^\d+\s+(?:<\.\.\. )?([a-z_0-9]+)[( ]", line)
        if not m:
            continue
        name = m.group(1)
        used.add(name)
        f = re.match(r"^\d+\s+socket\((AF_[A-Z0-9]+)", line)
        if f:
            socket_families.add(f.group(1))
        if name in ("mmap", "mprotect", "pkey_mprotect") and "PROT_WRITE" in line and "PROT_EXEC" in line:
            wx.append(line)
    assert {"epoll_wait", "openat", "fsync"} & used, sorted(used)
    assert "socket" in used and "AF_INET" in socket_families
    assert not (used - allowed), f"system calls outside SystemCallFilter: {sorted(used - allowed)}"
    assert socket_families <= families, f"socket families outside RestrictAddressFamilies: {socket_families - families}"
    assert not wx, wx[:5]
