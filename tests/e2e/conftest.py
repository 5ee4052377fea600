"""Session fixtures for the Outpost e2e suite (see harness.py for the environment knobs).

  lab          the real kube-apiserver from scripts/kube-lab (started only if not up; stopped at the
               end only if this session started it)
  relay        tests/e2e/relay.py between the proxy and the apiserver (mode `pass`)
  proxy        the proxy under test, in front of the relay, on free loopback ports, own cache dir
  proxy_factory  start extra proxies (own relay optional, reusable cache dir) that die with the test
  ns           a fresh namespace per test module (created directly on the apiserver)
  ns_factory   fresh namespaces for one test
  k            kubectl through the proxy (k.proxy_run) or directly (k.direct)
"""
import os
import secrets

import pytest

import harness
from harness import Kubectl, Lab, ProxyProcess, RelayProcess, proxy_kind


def pytest_report_header(config):
    kind = proxy_kind()
    src = os.environ.get("OUTPOST_BIN") or ("swift build" if kind == "outpost" else "kubectl proxy")
    return f"e2e proxy under test: {kind} ({src}); lab dir {harness.LAB_DIR}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for p in list(harness.ACTIVE_PROXIES):
            rep.sections.append((f"{p.kind} log tail ({p.log})", harness.tail(p.log, 50)))


@pytest.fixture(scope="session")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="session")
def lab(workdir):
    lab = Lab().ensure_up(workdir / "kube-lab-up.log")
    yield lab
    lab.stop_if_ours()


@pytest.fixture(scope="session")
def relay(lab, workdir):
    r = RelayProcess(f"{lab.host}:{lab.port}", workdir).start()
    yield r
    r.stop()


@pytest.fixture(scope="session")
def proxy(lab, relay, workdir):
    p = ProxyProcess(lab, workdir, server_addr=relay.url, name="proxy").start()
    yield p
    p.stop()


@pytest.fixture
def proxy_factory(lab, workdir):
    """start(with_relay=True, relay_mode="pass", wait_ready=True, relay=None, cache_dir=None, extra_args=None)
    -> (ProxyProcess, RelayProcess|None); everything started is stopped after the test.
    relay=: put the new proxy behind this (already running) relay instead of a new one.
    cache_dir=: reuse a cache directory (restart on another instance's cache: `cache_dir=p.cache_dir`).
    extra_args=: more `outpost serve` arguments, e.g. ["--config", path]."""
    started = []

    def start(with_relay=True, relay_mode="pass", wait_ready=True, relay=None, cache_dir=None, extra_args=None):
        r = relay
        if r is None and with_relay:
            r = RelayProcess(f"{lab.host}:{lab.port}", workdir, mode=relay_mode).start()
            started.append(r)
        p = ProxyProcess(lab, workdir, server_addr=r.url if r else None, name="proxy-extra", cache_dir=cache_dir,
                         extra_args=extra_args)
        started.append(p)
        p.start(wait_ready=wait_ready)
        return p, r

    yield start
    # relays first: a proxy whose upstream is blackholed may spend seconds draining on SIGTERM,
    # while one whose upstream connections were just reset stops at once
    for obj in reversed(started):
        if isinstance(obj, RelayProcess):
            obj.stop()
    for obj in reversed(started):
        if not isinstance(obj, RelayProcess):
            obj.stop()


@pytest.fixture(scope="module")
def ns(lab, request):
    mod = request.module.__name__.rsplit(".", 1)[-1].replace("test_", "").replace("_", "-")[:30]
    name = f"e2e-{mod}-{secrets.token_hex(3)}"
    lab.create_namespace(name)
    yield name
    lab.delete_namespace(name)


@pytest.fixture
def ns_factory(lab):
    """make(prefix="x") -> a fresh namespace (created directly on the apiserver), removed after the test."""
    made = []

    def make(prefix="x"):
        name = f"e2e-{prefix}-{secrets.token_hex(3)}"
        lab.create_namespace(name)
        made.append(name)
        return name

    yield make
    for name in made:
        lab.delete_namespace(name)


@pytest.fixture(scope="session")
def k(lab, proxy, workdir):
    return Kubectl(lab, proxy, workdir)


@pytest.fixture(scope="session")
def outpost_only():
    if proxy_kind() == "kubectl-proxy":
        pytest.skip("Outpost-specific (admin port / lifecycle); E2E_PROXY=kubectl-proxy has no equivalent")


# ---------------------------------------------------------------------------- shared bulk data
BULK_COUNT = 500


@pytest.fixture(scope="session")
def bulk_ns(lab):
    """A namespace with BULK_COUNT ConfigMaps (~1 KiB each, so the list is well over the apiserver's
    gzip threshold), created concurrently with raw HTTP to keep the setup to a few seconds."""
    from concurrent.futures import ThreadPoolExecutor

    name = f"e2e-bulk-{secrets.token_hex(3)}"
    lab.create_namespace(name)
    payload = "x" * 900

    def worker(idx_range):
        conn = lab.admin.connect(60)
        try:
            for i in idx_range:
                st, _, data = lab.admin.request(
                    "POST", f"/api/v1/namespaces/{name}/configmaps",
                    {"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": f"bulk-{i:04d}", "labels": {"bulk": "true", "shard": str(i % 5)}},
                     "data": {"index": str(i), "payload": payload}}, conn=conn)
                assert st == 201, data[:300]
        finally:
            conn.close()

    shards = [range(s, BULK_COUNT, 8) for s in range(8)]
    with ThreadPoolExecutor(8) as ex:
        list(ex.map(worker, shards))
    yield name
    lab.delete_namespace(name)
