"""Disk faults never change an answer's truth (issue 10, findings 2-5).

A full disk (a 1 MB tmpfs mounted here), a corrupted page in the middle of cache.db, an unusable
cache directory: Outpost keeps forwarding, and offline it answers the truth or a 503 Status,
never an empty list or a 404 for something that exists. Each test counts its wrong answers and
asserts 0. Needs root (mount).
"""
import json
import os
import sqlite3
import stat
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from harness import wait_until

pytestmark = pytest.mark.usefixtures("outpost_only")

REQ_TIMEOUT = 10


def get(p, path, timeout=REQ_TIMEOUT):
    """-> (status, decoded body or None, headers); a cut body is reported as status -1."""
    try:
        st, h, body = p.http.request("GET", path, headers={"Accept": "application/json"}, timeout=timeout)
    except Exception as e:  # a response cut mid-body (IncompleteRead, reset)
        return -1, repr(e), {}
    try:
        return st, json.loads(body), h
    except ValueError:
        return st, body, h


def readyz(p):
    st, _, body = p.admin_http.request("GET", "/readyz", timeout=5)
    return st, body.decode(errors="replace")


def create_configmaps(lab, ns, count, size, prefix="cm"):
    payload = "p" * size

    def worker(idx):
        conn = lab.admin.connect(60)
        try:
            for i in idx:
                st, _, data = lab.admin.request(
                    "POST", f"/api/v1/namespaces/{ns}/configmaps",
                    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"{prefix}-{i:04d}"},
                     "data": {"i": str(i), "payload": payload}}, conn=conn)
                assert st == 201, data[:300]
        finally:
            conn.close()

    with ThreadPoolExecutor(8) as ex:
        list(ex.map(worker, [range(s, count, 8) for s in range(8)]))


def names(lst):
    return sorted(i["metadata"]["name"] for i in lst["items"])


def same(a, b):
    """The same objects at the same resourceVersions (offline items carry kind/apiVersion)."""
    def key(x):
        if "items" in x:
            return sorted((i["metadata"]["name"], i["metadata"]["resourceVersion"], json.dumps(i.get("data"), sort_keys=True))
                          for i in x["items"])
        return (x["metadata"]["name"], x["metadata"]["resourceVersion"], json.dumps(x.get("data"), sort_keys=True))
    return key(a) == key(b)


class Tally:
    """Offline answers judged against the truth: each one is right, or a 503 Status."""

    def __init__(self):
        self.wrong = []

    def truth_or_503(self, what, st, body, truth):
        if st == 503 and isinstance(body, dict) and body.get("kind") == "Status":
            return
        if st == 200 and truth is not None and isinstance(body, dict) and same(body, truth):
            return
        self.wrong.append((what, st, str(body)[:200]))

    def exactly(self, what, ok, detail=""):
        if not ok:
            self.wrong.append((what, detail))


@pytest.fixture
def mounts(workdir):
    """mount(size="1m", ro=False) -> a fresh tmpfs directory, unmounted after the test (after the
    proxies, which the later-requested proxy_factory stops first)."""
    made = []

    def mount(size="1m", ro=False):
        d = Path(workdir) / f"tmpfs-{len(made)}-{os.getpid()}-{int(time.time() * 1000) % 100000}"
        d.mkdir()
        opts = f"size={size},mode=0755" + (",ro" if ro else "")
        subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(d)], check=True)
        made.append(d)
        return d

    yield mount
    for d in reversed(made):
        if subprocess.run(["umount", str(d)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(d)], capture_output=True)


def fill(directory):
    """Fills the filesystem of `directory` to the last byte (it may be full already)."""
    try:
        with open(Path(directory) / "filler", "wb") as f:
            while True:
                f.write(b"\0" * 4096)
                f.flush()
    except OSError:
        pass
    st = os.statvfs(directory)
    assert st.f_bavail == 0, "the disk is full"


def test_full_disk_never_turns_a_list_into_nothing(lab, ns_factory, mounts, proxy_factory):
    small, big = ns_factory("disk-small"), ns_factory("disk-full")
    create_configmaps(lab, small, 5, 100, prefix="s")
    create_configmaps(lab, big, 700, 2000)           # 1.4 MB of bodies: more than the 1 MB disk
    disk = mounts("1m")
    cache_dir = disk / "cache"
    p, relay = proxy_factory(cache_dir=cache_dir)
    small_path, big_path = f"/api/v1/namespaces/{small}/configmaps", f"/api/v1/namespaces/{big}/configmaps"

    st, truth_small, _ = get(p, small_path)
    assert st == 200 and len(truth_small["items"]) == 5
    wait_until(lambda: "outpost_cache_lists_committed_total 1" in p.admin_http.request("GET", "/metrics")[2].decode(),
               10, what="the small list committed")
    for _ in range(2):                                   # the finding listed twice
        st, online, _ = get(p, big_path, timeout=30)
        assert st == 200 and len(online["items"]) == 700, "the client gets the whole list online"
    wait_until(lambda: readyz(p)[0] == 503, 10, what="/readyz degraded after the failed writes")
    st, body = readyz(p)
    assert "full" in body, body
    one = online["items"][350]["metadata"]["name"]

    tally = Tally()
    relay.set_mode("blackhole")
    for _ in range(3):
        st, body, _ = get(p, small_path)
        tally.truth_or_503("small list", st, body, truth_small)
        tally.exactly("small list served", st == 200, st)
        st, body, _ = get(p, big_path)
        tally.truth_or_503("big list", st, body, None)   # never a complete list: 503
        st, body, _ = get(p, f"{big_path}/{one}")
        tally.truth_or_503("get in big", st, body, None)  # never 404 (nor a made-up object)
    assert readyz(p)[0] == 503, "still degraded: no write has succeeded since"

    # Restart on a disk that is still full (to the last byte): it starts, serves what it has.
    p.stop()
    fill(disk)
    p2, _ = proxy_factory(relay=relay, cache_dir=cache_dir, wait_ready=False)
    p2.wait_listening(30)
    for _ in range(3):
        st, body, _ = get(p2, small_path)
        tally.truth_or_503("small list after restart", st, body, truth_small)
        tally.exactly("small list served after restart", st == 200, st)
        st, body, _ = get(p2, big_path)
        tally.truth_or_503("big list after restart", st, body, None)
        st, body, _ = get(p2, f"{big_path}/{one}")
        tally.truth_or_503("get in big after restart", st, body, None)
    st, body = readyz(p2)
    tally.exactly("readyz after restart on a full disk", st == 503 and "could not be written at start" in body, body)
    relay.set_mode("pass")
    wait_until(lambda: get(p2, big_path, timeout=30)[0] == 200, 20, what="forwarding after the restart")
    st, again, _ = get(p2, big_path, timeout=30)
    tally.exactly("forwarded list", st == 200 and names(again) == names(online), st)
    assert tally.wrong == [], tally.wrong


def objects_leaf_page(db):
    """A leaf page of the `objects` table from the middle of the file (dbstat)."""
    c = sqlite3.connect(str(db))
    try:
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")    # every page in the main file
        pages = [r[0] for r in c.execute("SELECT pageno FROM dbstat WHERE name='objects' AND pagetype='leaf' ORDER BY pageno")]
        size = c.execute("PRAGMA page_size").fetchone()[0]
    finally:
        c.close()
    assert len(pages) > 20, pages
    return pages[len(pages) // 2], size


def test_corrupt_page_is_quarantined_and_never_served(lab, ns_factory, proxy_factory):
    ns = ns_factory("disk-corrupt")
    create_configmaps(lab, ns, 300, 1000)
    path = f"/api/v1/namespaces/{ns}/configmaps"
    p, relay = proxy_factory()
    st, online, _ = get(p, path)
    assert st == 200 and len(online["items"]) == 300
    wait_until(lambda: "outpost_cache_lists_committed_total 1" in p.admin_http.request("GET", "/metrics")[2].decode(),
               10, what="the list committed")
    cache_dir = p.cache_dir
    assert p.stop() == 0
    db = cache_dir / "cache.db"
    page, size = objects_leaf_page(db)
    with open(db, "r+b") as f:                          # Outpost is stopped: overwrite one page
        f.seek((page - 1) * size)
        f.write(os.urandom(size))

    relay.set_mode("blackhole")
    p2, _ = proxy_factory(relay=relay, cache_dir=cache_dir, wait_ready=False)
    p2.wait_listening(30)
    tally = Tally()
    one = online["items"][150]["metadata"]["name"]
    for _ in range(3):
        st, body, _ = get(p2, path)
        tally.truth_or_503("list", st, body, None)       # the cache was rebuilt empty: 503, never a torn 200
        st, body, _ = get(p2, f"{path}/{one}")
        tally.truth_or_503("get", st, body, None)
    log = Path(p2.log).read_text(errors="replace")
    tally.exactly("logged", "corrupt" in log, log[-2000:])
    moved = [f for f in os.listdir(cache_dir) if f.startswith("cache.db.corrupt-") and not f.endswith("-wal")]
    tally.exactly("moved aside", len(moved) == 1, os.listdir(cache_dir))
    for f in moved:
        tally.exactly("quarantined file 0600", stat.S_IMODE(os.stat(cache_dir / f).st_mode) == 0o600)

    relay.set_mode("pass")                               # rebuilt from the apiserver as it passes
    wait_until(lambda: get(p2, path)[0] == 200, 20, what="forwarding")
    wait_until(lambda: "outpost_cache_lists_committed_total 1" in p2.admin_http.request("GET", "/metrics")[2].decode(),
               10, what="the fresh cache committed the list")
    relay.set_mode("blackhole")
    st, body, _ = get(p2, path)
    tally.exactly("rebuilt", st == 200 and names(body) == names(online), st)
    assert tally.wrong == [], tally.wrong


@pytest.mark.parametrize("kind", ["file", "read-only"])
def test_unusable_cache_dir_forwards_without_a_cache(lab, workdir, ns_factory, mounts, proxy_factory, kind):
    ns = ns_factory("disk-unusable")
    create_configmaps(lab, ns, 3, 10)
    if kind == "file":
        bad = Path(workdir) / f"not-a-dir-{os.getpid()}-{time.time_ns()}"
        bad.write_text("x")
    else:
        bad = mounts("1m", ro=True) / "cache"
    p, relay = proxy_factory(wait_ready=False, extra_args=["--cache-dir", str(bad)])
    p.wait_listening(30)
    path = f"/api/v1/namespaces/{ns}/configmaps"
    tally = Tally()
    st, online, _ = get(p, path)
    tally.exactly("forwarded", st == 200 and names(online) == [f"cm-{i:04d}" for i in range(3)], st)
    st, body = readyz(p)
    tally.exactly("readyz 503 with the reason", st == 503 and "unusable" in body, (st, body))
    log = Path(p.log).read_text(errors="replace")
    tally.exactly("one log line says why", log.count("no cache: cache directory") == 1, log[-1500:])
    relay.set_mode("refuse")
    relay.cut()                                          # and reset the pooled connections
    st, body, h = get(p, path, timeout=15)
    tally.exactly("no local answer", st in (502, 503, 504) and "x-outpost-cache" not in h, (st, h, str(body)[:300]))
    assert p.alive()
    assert tally.wrong == [], tally.wrong


def test_cache_files_are_private(lab, proxy_factory, ns_factory):
    ns = ns_factory("disk-perm")
    create_configmaps(lab, ns, 2, 10)
    p, _ = proxy_factory()
    assert get(p, f"/api/v1/namespaces/{ns}/configmaps")[0] == 200
    d = p.cache_dir
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700
    files = [f for f in os.listdir(d) if f.startswith("cache.db")]
    assert "cache.db" in files
    for f in files:
        assert stat.S_IMODE(os.stat(d / f).st_mode) == 0o600, f
