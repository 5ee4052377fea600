#!/usr/bin/env python3
"""Writes the hand-made seed inputs of each fuzz target into Fuzz/Seeds/<target>/.

Seeds come from the unit tests' literals (request targets, Accept headers, selectors, YAML
documents) plus a few shapes written here (JSON watch streams built from the fixtures). The test
fixtures themselves (Tests/*/Fixtures) are passed to libFuzzer by scripts/fuzz directly, not
copied. Run once when the tests gain interesting literals; scripts/fuzz merges whatever adds
coverage into Fuzz/Corpus/<target>/.
"""
import hashlib, json, pathlib, re

ROOT = pathlib.Path(__file__).resolve().parent.parent
SEEDS = ROOT / "Fuzz" / "Seeds"


def swift_unescape(s):
    def rep(m):
        e = m.group(1)
        if e.startswith("u{"):
            return chr(int(e[2:-1], 16))
        return {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", '"': '"', "'": "'"}.get(e, e)
    return re.sub(r'\\(u\{[0-9a-fA-F]+\}|.)', rep, s)


def string_literals(text):
    return [swift_unescape(m) for m in re.findall(r'(?<![#\\])"((?:[^"\\\n]|\\.)*)"', text)]


def multiline_literals(text):
    out = []
    for m in re.finditer(r'(#?)"""\n(.*?)\n([ \t]*)"""\1', text, re.S):
        raw, body, indent = m.group(1), m.group(2), m.group(3)
        if "\\(" in body:
            continue
        lines = [l[len(indent):] if l.startswith(indent) else l.lstrip() for l in body.split("\n")]
        body = "\n".join(lines) + "\n"
        out.append(body if raw else swift_unescape(body))
    return out


def write(target, items):
    d = SEEDS / target
    d.mkdir(parents=True, exist_ok=True)
    for old in d.iterdir():
        old.unlink()
    seen = set()
    for item in items:
        data = item if isinstance(item, bytes) else item.encode()
        if data in seen or len(data) > 64 * 1024:
            continue
        seen.add(data)
        (d / hashlib.sha1(data).hexdigest()).write_bytes(data)
    print(f"{target}: {len(seen)} seeds")


def tests(*globs):
    for g in globs:
        for p in sorted(ROOT.glob(g)):
            yield p.read_text()


# Request: targets from the KubeRequest tests, with a few methods, and the Accept headers.
targets = sorted({s for t in tests("Tests/KubeRequestTests/*.swift") for s in string_literals(t) if s.startswith("/")})
accepts = [s for t in tests("Tests/KubeRequestTests/MediaTypeTests.swift") for s in string_literals(t)
           if "/" in s or "*" in s]
request = []
for i, target in enumerate(targets):
    method = ["GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "get", "OPTIONS"][i % 8]
    request.append(f"{method} {target}")
    if accepts:
        request.append(f"GET {target}\n{accepts[i % len(accepts)]}")
request += [f"GET /api/v1/pods?watch=1\n{a}" for a in accepts]
write("FuzzRequest", request)

# Selectors: selector literals of the Selectors tests, with the labels of their match cases.
selectors = []
for t in tests("Tests/SelectorsTests/*.swift"):
    for m in re.finditer(r'\.init\("((?:[^"\\]|\\.)*)",\s*\[([^\]]*)\]', t):
        sel = swift_unescape(m.group(1))
        pairs = re.findall(r'"((?:[^"\\]|\\.)*)":\s*"((?:[^"\\]|\\.)*)"', m.group(2))
        selectors.append("\n".join([sel] + [f"{swift_unescape(k)}={swift_unescape(v)}" for k, v in pairs]))
    for m in re.finditer(r'\(\s*"((?:[^"\\]|\\.)*)",', t):
        selectors.append(swift_unescape(m.group(1)))
write("FuzzSelectors", selectors)

# JSON: watch streams built from the fixture objects (the fixtures themselves are passed as is),
# plus the KubeJSON tests' JSON literals.
fixtures = ROOT / "Tests" / "KubeProtoJSONTests" / "Fixtures"
objs = [json.loads(p.read_text()) for p in sorted(fixtures.glob("*.json")) if not p.name.endswith("-list.json")]
events = []
for kind, o in zip(["ADDED", "MODIFIED", "DELETED", "ADDED"] * 8, objs):
    events.append(json.dumps({"type": kind, "object": o}, separators=(",", ":")))
bookmark = {"type": "BOOKMARK", "object": {"kind": "Pod", "apiVersion": "v1", "metadata": {"resourceVersion": "12345"}}}
error = {"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                     "message": "too old resource version: 1 (2)", "reason": "Expired", "code": 410}}
jsonseeds = ["\n".join(events[:3]) + "\n", "\n".join(events) + "\n", json.dumps(bookmark) + "\n" + json.dumps(error) + "\n"]
for t in tests("Tests/KubeJSONTests/*.swift"):
    jsonseeds += [s for s in multiline_literals(t) if s.lstrip().startswith(("{", "["))]
    jsonseeds += [s for s in string_literals(t) if s.startswith("{")]
write("FuzzJSON", jsonseeds)

# YAML: documents from the YAMLLite, KubeConfig and Filters tests and the example config.
yaml = [(ROOT / "docs" / "outpost.example.yaml").read_text()]
for t in tests("Tests/YAMLLiteTests/*.swift", "Tests/KubeConfigTests/*.swift", "Tests/FiltersTests/*.swift"):
    yaml += multiline_literals(t)
write("FuzzYAML", yaml)

# Protobuf targets: hand-made edge shapes (fixtures are passed as is).
magic = b"k8s\x00"
def ld(field, payload):
    n, v = len(payload), b""
    while True:
        b, n = n & 0x7F, n >> 7
        v += bytes([b | (0x80 if n else 0)])
        if not n:
            break
    return bytes([field << 3 | 2]) + v + payload
tm = ld(1, ld(1, b"v1") + ld(2, b"PodList"))
pod = ld(1, ld(1, b"p1") + ld(3, b"default") + ld(6, b"7") + ld(11, ld(1, b"app") + ld(2, b"web")))
pod_list = magic + tm + ld(2, ld(1, ld(2, b"42")) + ld(2, pod) + ld(2, pod)) + b"\x1a\x00\x22\x00"
one_pod = magic + ld(1, ld(1, b"v1") + ld(2, b"Pod")) + ld(2, pod) + b"\x1a\x00\x22\x00"
ev = ld(1, b"ADDED") + ld(2, ld(1, one_pod))
watch = len(ev).to_bytes(4, "big") + ev
write("FuzzProto", [pod_list, one_pod, watch, watch + watch, magic, magic + tm])
write("FuzzProtoJSON", [pod_list, one_pod])
