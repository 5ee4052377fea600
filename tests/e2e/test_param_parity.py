"""Offline answers to list/get/watch parameters equal the apiserver's (issue 10, finding 7).

One table of requests, each sent to the apiserver directly and to Outpost with its link cut
(one Outpost, one cut, all cases; watches run concurrently with timeoutSeconds=1). For every
case the code, reason, message and details must be equal; for a 200 the item names (lists),
the object name (gets) or the event types and names (watches) must be equal.

Where the online answer depends on state the cache cannot know (the apiserver's history, a
revision newer than the cache's), the table states the offline answer instead (`OFFLINE`),
with the reason; those are the documented divergences.
"""
import http.client
import json
import re
import ssl
from concurrent.futures import ThreadPoolExecutor

import pytest

from harness import ProxyProcess, RelayProcess, cm_obj, create_objects, wait_until

pytestmark = pytest.mark.usefixtures("outpost_only")

C = "/api/v1/namespaces/{ns}/configmaps"
W = C + "?watch=1&timeoutSeconds=1"
GET = C + "/cm-0"


def b64(s):
    import base64
    return base64.urlsafe_b64encode(s.encode()).decode().rstrip("=")


# An apiserver continue token that goes on at the newest state after cm-0 (what a 410 offers).
TOKEN_LATEST = b64('{"v":"meta.k8s.io/v1","rv":-1,"start":"cm-0\\u0000"}')

CASES = [
    # --- resourceVersion
    C, C + "?resourceVersion=", C + "?resourceVersion=0", C + "?resourceVersion=1",
    C + "?resourceVersion=abc", C + "?resourceVersion=-1", C + "?resourceVersion=%20", C + "?resourceVersion=%2B5",
    C + "?resourceVersion=01", C + "?resourceVersion=99999999999999999999999", C + "?resourceVersion=%ff",
    C + "?resourceVersion=99999999",
    C + "?resourceVersion=0&resourceVersion=abc", C + "?resourceVersion=abc&resourceVersion=0",
    C + "?resourceVersion=abc&limit=1", C + "?resourceVersion=abc&limit=1&continue=garbage",
    C + "?resourceVersion=0&limit=1",
    C + "?fieldSelector=metadata.name%3Dcm-0&resourceVersion=abc",
    C + "?fieldSelector=metadata.name%3Dcm-0&resourceVersion=99999999",
    # --- resourceVersionMatch
    C + "?resourceVersionMatch=Exact", C + "?resourceVersionMatch=NotOlderThan&resourceVersion=0",
    C + "?resourceVersionMatch=NotOlderThan&resourceVersion=abc", C + "?resourceVersionMatch=NotOlderThan&resourceVersion=1",
    C + "?resourceVersionMatch=NotOlderThan&resourceVersion=99999999",
    C + "?resourceVersionMatch=NotOlderThan&resourceVersion=99999999&limit=1",
    C + "?resourceVersionMatch=Exact&resourceVersion=0", C + "?resourceVersionMatch=Exact&resourceVersion=abc",
    C + "?resourceVersionMatch=garbage&resourceVersion=1", C + "?resourceVersionMatch=&resourceVersion=1",
    C + "?resourceVersionMatch=exact&resourceVersion=1", C + "?resourceVersionMatch=bad&continue=x",
    # --- limit
    C + "?limit=abc", C + "?limit=", C + "?limit=-1", C + "?limit=0", C + "?limit=1", C + "?limit=%2B1",
    C + "?limit=+1", C + "?limit=9223372036854775807", C + "?limit=9223372036854775808", C + "?limit=1&limit=abc",
    C + "?limit=abc&limit=1", C + "?limit=1.5", C + "?limit=0x10", C + "?limit=%ff",
    C + "?timeoutSeconds=x&limit=y", C + "?limit=abc&labelSelector=a%20b",
    # --- continue
    C + "?continue=garbage", C + "?continue=garbage&limit=1", C + "?continue=", C + "?continue=a",
    C + "?continue=ab%3D%3D", C + "?continue=Zm9v", C + "?continue=WzFd", C + "?continue=eyJ2Ijo",
    C + "?continue=" + b64('{"v":"x"}'), C + "?continue=" + b64("{}"), C + "?continue=" + b64("null"),
    C + "?continue=" + b64('{"v":"meta.k8s.io/v1","rv":0,"start":"x"}'),
    C + "?continue=" + b64('{"v":"meta.k8s.io/v1","rv":5,"start":""}'),
    C + "?continue=" + b64('{"v":"meta.k8s.io/v1","rv":5,"start":"a/../b"}'),
    C + "?continue=" + b64('{"v":"meta.k8s.io/v1","rv":"-5","start":"x"}'),
    C + "?continue=" + b64('{"v":"meta.k8s.io/v1","rv":1.5,"start":"x"}'),
    C + "?continue=" + b64('{"v":"meta.k8s.io/v1","rv":5,"start":7}'),
    C + "?continue=" + b64('{"v":"meta.k8s.io/v1","rv":5 "start":"x"}'),
    C + "?continue=" + b64('{"v":tru}'),
    C + "?continue=" + b64('{"v":"a\\qb"}'),
    C + "?continue=" + TOKEN_LATEST, C + "?continue=" + TOKEN_LATEST + "&limit=1",
    C + "?continue=" + TOKEN_LATEST + "&resourceVersion=5", C + "?continue=" + TOKEN_LATEST + "&resourceVersion=0",
    C + "?resourceVersion=0&continue=garbage", C + "?resourceVersion=abc&continue=garbage",
    # --- timeoutSeconds, booleans, unknown parameters
    C + "?timeoutSeconds=abc", C + "?timeoutSeconds=-1", C + "?timeoutSeconds=0", C + "?timeoutSeconds=",
    C + "?timeoutSeconds=99999999999999999999",
    C + "?allowWatchBookmarks=garbage", C + "?allowWatchBookmarks=", C + "?watch=false", C + "?watch=0",
    C + "?watch=FALSE", C + "?sendInitialEvents=true",
    C + "?sendInitialEvents=false&resourceVersionMatch=NotOlderThan&resourceVersion=0",
    C + "?pretty=true", C + "?pretty=garbage", C + "?includeUninitialized=true", C + "?%zz=1", C + "?limit=1&%zz",
    # --- labelSelector
    C + "?labelSelector=%zz", C + "?labelSelector=app%3Da&labelSelector=%zz", C + "?labelSelector=%zz&labelSelector=app%3Da",
    C + "?labelSelector=app%3Da&labelSelector=app%3Db", C + "?labelSelector=", C + "?labelSelector=a%20b",
    C + "?labelSelector=%3D", C + "?labelSelector=app+in+(", C + "?labelSelector=app=a;x=y",
    C + "?labelSelector=app=a&x=y;z", C + "?labelSelector=!app", C + "?labelSelector=app%3Da%2Capp%3Db",
    C + "?labelSelector=a%20b&fieldSelector=abc",
    # --- fieldSelector
    C + "?fieldSelector=abc", C + "?fieldSelector=spec.foo%3Dx", C + "?fieldSelector=metadata.name%3Dcm-0",
    C + "?fieldSelector=metadata.name%3Da%5Cb", C + "?fieldSelector=%zz", C + "?fieldSelector=metadata.name%3Dnope",
    C + "?fieldSelector=metadata.name%3Dcm-0&fieldSelector=abc", C + "?fieldSelector=metadata.name%3D%ff",
    C + "?fieldSelector=abc&resourceVersionMatch=Exact", C + "?fieldSelector=spec.foo%3Dx&resourceVersionMatch=Exact",
    # --- get
    GET, GET + "?resourceVersion=abc", GET + "?resourceVersion=0", GET + "?resourceVersion=1", GET + "?resourceVersion=-1",
    GET + "?resourceVersion=99999999", GET + "?labelSelector=%zz", GET + "?%zz", GET + "?resourceVersion=%zz",
    C + "/nope?resourceVersion=abc", C + "/nope?resourceVersion=0",
    # --- watch
    W, W + "&resourceVersion=", W + "&resourceVersion=0", W + "&resourceVersion=abc", W + "&resourceVersion=-1",
    W + "&resourceVersion=99999999", W + "&resourceVersion=%2B1",
    W + "&resourceVersionMatch=NotOlderThan",
    W + "&resourceVersionMatch=bad&resourceVersion=0&continue=x",
    W + "&continue=garbage", W + "&limit=1", W + "&labelSelector=%zz", W + "&labelSelector=app%3Da",
    W + "&labelSelector=a%20b", W + "&fieldSelector=abc", W + "&fieldSelector=spec.foo%3Dx",
    W + "&fieldSelector=metadata.name%3Dcm-1", W + "&allowWatchBookmarks=garbage",
    C + "?watch=1&timeoutSeconds=abc",
    C + "?watch=garbage&timeoutSeconds=1", C + "?watch=&timeoutSeconds=1", C + "?watch=f&timeoutSeconds=1",
    "/api/v1/watch/namespaces/{ns}/configmaps?timeoutSeconds=1",
    "/api/v1/watch/namespaces/{ns}/configmaps?timeoutSeconds=1&resourceVersion=abc",
    "/api/v1/watch/namespaces/{ns}/configmaps/cm-0?timeoutSeconds=1",
    "/api/v1/watch/namespaces/{ns}/configmaps/cm-0?timeoutSeconds=1&fieldSelector=metadata.name%3Dcm-1",
    "/api/v1/watch/namespaces/{ns}/configmaps/cm-0?timeoutSeconds=1&fieldSelector=metadata.name%3Dcm-0",
    "/api/v1/watch/namespaces/{ns}/configmaps/nope?timeoutSeconds=1",
]

# Where the apiserver's answer depends on state the cache cannot know, the offline answer is
# stated here: (code, a check of its digest). The cache holds current state at its list's
# resourceVersion, and no history.
TOO_OLD = (410, lambda d: d[:4] == ("status", 410, "Expired", "The resourceVersion for the provided list is too old."))
OFFLINE = {
    # A paged list from a non-zero version reads exactly that etcd revision (online: the state
    # at revision 1, i.e. empty); the cache has no history: etcd's answer for a compacted one.
    C + "?resourceVersion=1&limit=1": TOO_OLD,
    # A watch from an old version: the apiserver's watch cache may still hold events since it;
    # the cache never does (test_offline checks the 410 ERROR event).
    W + "&resourceVersion=1": (200, lambda d: d[0] == "watch" and len(d[1]) == 1 and d[1][0][0] == "ERROR"
                               and d[1][0][1].startswith("too old resource version: 1 (")),
    # A watch whose timeout has passed before it starts: the apiserver races its expired context
    # against sending the initial ADDED events (either may win); offline it ends at once.
    C + "?watch=1&timeoutSeconds=-1": (200, lambda d: d == ("empty",)),
    # Not state: Go holds a selector's invalid UTF-8 as raw bytes and quotes them as \xff; the
    # cache decodes it lossily. Same 400 and reason, the message quotes the byte differently.
    # WatchList is Outpost's own (its watch cache serves it; the 1.20 apiserver ignores
    # sendInitialEvents and forbids resourceVersionMatch on every watch): an apiserver with
    # WatchList's validation and answer — ADDED per object, then the initial-events-end BOOKMARK.
    W + "&sendInitialEvents=true": (422, lambda d: d[:3] == ("status", 422, "Invalid")
                                    and "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan" in d[3]),
    W + "&sendInitialEvents=true&resourceVersionMatch=NotOlderThan": (
        200, lambda d: d[0] == "watch" and sorted(t for t, _ in d[1]) == ["ADDED"] * 3 + ["BOOKMARK"]),
    W + "&resourceVersionMatch=NotOlderThan&resourceVersion=0&sendInitialEvents=true": (
        200, lambda d: d[0] == "watch" and sorted(t for t, _ in d[1]) == ["ADDED"] * 3 + ["BOOKMARK"]),
    C + "?labelSelector=%ff": (400, lambda d: d[:3] == ("status", 400, "BadRequest")
                               and d[3].startswith("unable to parse requirement: invalid label key")),
}
CASES += list(OFFLINE)

STATE_NUMBERS = re.compile(r"current: \d+")


def send(host, port, path, tls_ctx=None, token=None, timeout=10):
    """-> (code, parsed answer) for a raw path (sent as is); (None, error) when none came."""
    try:
        return _send(host, port, path, tls_ctx, token, timeout)
    except OSError as e:
        return None, ("no answer", repr(e))


def _send(host, port, path, tls_ctx, token, timeout):
    if tls_ctx:
        c = http.client.HTTPSConnection(host, port, context=tls_ctx, timeout=timeout)
    else:
        c = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        c.putrequest("GET", path, skip_accept_encoding=True)
        c.putheader("Accept", "application/json")
        if token:
            c.putheader("Authorization", f"Bearer {token}")
        c.endheaders()
        r = c.getresponse()
        return r.status, summarize(r.read())
    finally:
        c.close()


def summarize(body):
    """A comparable digest of an answer: a Status, a list, an object or a watch stream."""
    lines = [l for l in body.split(b"\n") if l.strip()]
    if not lines:
        return ("empty",)
    try:
        first = json.loads(body)       # one document (pretty=true spans lines)
    except ValueError:
        try:
            first = json.loads(lines[0])
        except ValueError:
            return ("raw", body[:200])
    if first.get("kind") == "Status":
        details = first.get("details")
        if details:
            details = json.loads(STATE_NUMBERS.sub("current: N", json.dumps(details, sort_keys=True)))
        cont = (first.get("metadata") or {}).get("continue", "")
        return ("status", first.get("code"), first.get("reason", ""), STATE_NUMBERS.sub("current: N", first.get("message", "")),
                details, bool(cont))
    if "items" in first:
        # sorted: the watch cache (resourceVersion set) lists in no particular order
        return ("list", first.get("kind"), sorted(i["metadata"]["name"] for i in first["items"]),
                bool(first["metadata"].get("continue")))
    if "type" in first and "object" in first:
        events = [json.loads(l) for l in lines]
        return ("watch", sorted((e["type"], e["object"].get("metadata", {}).get("name") or e["object"].get("message"))
                                for e in events))
    return ("object", first.get("kind"), first.get("metadata", {}).get("name"))


@pytest.fixture(scope="module")
def parity(lab, ns, workdir):
    """The table's namespace (3 ConfigMaps), an Outpost warmed with a list of them, and the
    apiserver's own answers; then the link is cut."""
    create_objects(lab.admin, ns, "configmaps", [cm_obj("cm-0", {"app": "a"}), cm_obj("cm-1", {"app": "b"}),
                                                  cm_obj("cm-2", {})])
    relay = RelayProcess(f"{lab.host}:{lab.port}", workdir).start()
    p = ProxyProcess(lab, workdir, server_addr=relay.url, name="proxy-parity")
    try:
        p.start()
        st, _, _ = p.http.request("GET", C.format(ns=ns), headers={"Accept": "application/json"})
        assert st == 200
        tls = ssl.create_default_context(cafile=str(lab.ca))
        paths = [c.format(ns=ns) for c in CASES]
        with ThreadPoolExecutor(8) as ex:
            online = list(ex.map(lambda path: send(lab.host, lab.port, path, tls, lab.admin_token), paths))
        relay.set_mode("blackhole")
        wait_until(lambda: p.http.request("GET", C.format(ns=ns), timeout=5)[0] == 200, 15,
                   what="an offline answer from the cache")
        with ThreadPoolExecutor(8) as ex:
            offline = list(ex.map(lambda path: send("127.0.0.1", p.port, path), paths))
        yield dict(zip(CASES, zip(online, offline)))
    finally:
        relay.stop()
        p.stop()


@pytest.mark.parametrize("case", CASES)
def test_offline_answer_equals_apiserver(parity, case):
    (on_code, on), (off_code, off) = parity[case]
    if case in OFFLINE:
        code, check = OFFLINE[case]
        assert off_code == code and check(off), (off_code, off)
        return
    assert (off_code, off) == (on_code, on)
