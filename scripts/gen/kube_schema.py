#!/usr/bin/env python3
"""Generate Sources/KubeProtoJSON/KubeSchema+Generated.swift from the Kubernetes sources.

Run once by a developer (not in CI); the output is committed. Python 3 stdlib only.

    python3 scripts/gen/kube_schema.py [--src /var/tmp/kube-lab/cache/src/k8s] [--out PATH]

Why both inputs: `generated.proto` gives the wire facts (field numbers, proto types, repeated,
map), but the JSON the apiserver writes is produced by Go's encoding/json from the Go structs, so
the JSON facts come from `types.go`: field order (Go struct order, not field-number order), json
names, `omitempty`, pointer vs value (a nil pointer is omitted/null, a value struct is never
omitted), `json:",inline"` embedding, and which Go named types are really slices.

Table format (one line per record, parsed once at runtime by KubeSchema.swift):

    M<name>|<message flags>|<field>;<field>;...
    R<apiVersion>|<kind>|<message index>

A field is `number,jsonName,type,flags[,kind@apiVersion]`; the optional fifth column is a
TypeMeta the apiserver writes into each element (see EMBEDDED_TYPEMETA). `number` is 0 for TypeMeta (`K`) and for Go-only fields.
`type` is a message index (decimal) or one of: s string, i int32, l int64, b bool, y bytes,
T metav1.Time, U metav1.MicroTime, D metav1.Duration, Q resource.Quantity, I intstr.IntOrString,
R runtime.RawExtension, F metav1.FieldsV1, K metav1.TypeMeta (inline kind/apiVersion).
Field flags: o omitempty, p Go pointer, r repeated, m map (string keys; type is the value type),
n inline (`json:",inline"`). Message flags: w = Go named slice wrapped in a message (JSON is the
array in field 1, e.g. authentication's ExtraValue).
"""
import argparse
import os
import re
import sys

SPECIALS = {
    "k8s.io.apimachinery.pkg.apis.meta.v1.Time": "T",
    "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime": "U",
    "k8s.io.apimachinery.pkg.apis.meta.v1.Duration": "D",
    "k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1": "F",
    "k8s.io.apimachinery.pkg.api.resource.Quantity": "Q",
    "k8s.io.apimachinery.pkg.util.intstr.IntOrString": "I",
    "k8s.io.apimachinery.pkg.runtime.RawExtension": "R",
}
SCALARS = {"string": "s", "int32": "i", "int64": "l", "bool": "b", "bytes": "y"}

META = "apimachinery/pkg/apis/meta/v1"

# Fields whose elements the apiserver's JSON shows with a TypeMeta that protobuf cannot carry
# (TypeMeta is not in the messages): the apps conversions set it on every volumeClaimTemplate
# "to behave the same as reflective conversion < 1.17" (pkg/apis/apps/*/conversion.go,
# http://issue.k8s.io/87583). (message, json name) -> (kind, apiVersion).
EMBEDDED_TYPEMETA = {
    (f"k8s.io.api.apps.{v}.StatefulSetSpec", "volumeClaimTemplates"): ("PersistentVolumeClaim", "v1")
    for v in ("v1", "v1beta1", "v1beta2")
}


def proto_package_dir(pkg):
    """k8s.io.api.core.v1 -> api/core/v1 (relative to staging/src/k8s.io)."""
    assert pkg.startswith("k8s.io."), pkg
    return pkg[len("k8s.io."):].replace(".", "/")


def parse_proto(path):
    text = open(path, encoding="utf-8").read()
    text = re.sub(r"//[^\n]*", "", text)
    pkg = re.search(r"^package\s+([\w.]+);", text, re.M).group(1)
    messages = {}
    for m in re.finditer(r"^message\s+(\w+)\s*\{(.*?)^\}", text, re.M | re.S):
        name, body = m.group(1), m.group(2)
        if re.search(r"^\s*message\s", body, re.M):
            sys.exit(f"nested message in {pkg}.{name}: unsupported")
        fields = {}
        for f in re.finditer(r"^\s*(optional|repeated)?\s*(map<\s*([\w.]+)\s*,\s*([\w.]+)\s*>|[\w.]+)\s+(\w+)\s*=\s*(\d+)\s*;", body, re.M):
            label, typ, mk, mv, fname, num = f.groups()
            fields[int(num)] = {
                "label": label or "optional",
                "map": (mk, mv) if mk else None,
                "type": None if mk else typ,
                "name": fname,
            }
        messages[name] = fields
    return pkg, messages


FIELD_RE = re.compile(r"^\t(\w+)\s+([^\s`]+)\s*(?:`([^`]*)`)?\s*$")
EMBED_RE = re.compile(r"^\t(\*?[\w.]+)\s*(?:`([^`]*)`)?\s*$")


def parse_go_dir(d):
    """Structs (ordered fields) and named non-struct types of one Go package directory."""
    structs, named = {}, {}
    for fn in sorted(os.listdir(d)):
        if not fn.endswith(".go") or fn.endswith("_test.go"):
            continue
        text = open(os.path.join(d, fn), encoding="utf-8").read()
        text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)  # block comments (never inside tags)
        lines = text.split("\n")
        i = 0
        while i < len(lines):
            line = lines[i]
            m = re.match(r"^type (\w+) struct ?\{\}\s*$", line)
            if m:
                structs[m.group(1)] = []
                i += 1
                continue
            m = re.match(r"^type (\w+) struct \{\s*$", line)
            if m:
                fields = []
                i += 1
                while not lines[i].startswith("}"):
                    raw = re.sub(r"\s*//.*$", "", lines[i]) if "`" not in lines[i] else lines[i]
                    if raw.strip() and not raw.strip().startswith("//"):
                        fm = FIELD_RE.match(raw)
                        em = EMBED_RE.match(raw)
                        if fm:
                            fields.append({"go": fm.group(1), "type": fm.group(2), "tag": fm.group(3) or "", "embedded": False})
                        elif em:
                            t = em.group(1)
                            fields.append({"go": t.lstrip("*").split(".")[-1], "type": t, "tag": em.group(2) or "", "embedded": True})
                        else:
                            sys.exit(f"{d}/{fn}:{i + 1}: cannot parse struct field: {lines[i]!r}")
                    i += 1
                structs[m.group(1)] = fields
            else:
                m = re.match(r"^type (\w+) (\S.*)$", line)
                if m and not m.group(2).startswith(("struct", "interface", "(")):
                    named[m.group(1)] = m.group(2).strip()
            i += 1
    return structs, named


def tag_value(tag, key):
    m = re.search(key + r':"([^"]*)"', tag)
    return m.group(1) if m else None


class Gen:
    def __init__(self, root):
        self.root = root  # staging/src/k8s.io
        self.protos = {}  # package -> messages
        self.go = {}  # package -> (structs, named)
        self.index = {}  # fq message -> index
        self.order = []  # fq names in index order
        self.lines = []
        self.warnings = []

    def proto(self, pkg):
        if pkg not in self.protos:
            path = os.path.join(self.root, proto_package_dir(pkg), "generated.proto")
            p, msgs = parse_proto(path)
            assert p == pkg, (p, pkg)
            self.protos[pkg] = msgs
        return self.protos[pkg]

    def gopkg(self, pkg):
        if pkg not in self.go:
            self.go[pkg] = parse_go_dir(os.path.join(self.root, proto_package_dir(pkg)))
        return self.go[pkg]

    def resolve(self, pkg, typ):
        if "." in typ:
            p, _, n = typ.rpartition(".")
            return p, n
        return pkg, typ

    def message_index(self, fq):
        if fq not in self.index:
            self.index[fq] = len(self.order)
            self.order.append(fq)
            self.lines.append(None)
            self.lines[self.index[fq]] = self.describe(fq)
        return self.index[fq]

    def type_code(self, pkg, typ):
        if typ in SCALARS:
            return SCALARS[typ]
        p, n = self.resolve(pkg, typ)
        fq = f"{p}.{n}"
        if fq in SPECIALS:
            return SPECIALS[fq]
        return str(self.message_index(fq))

    def describe(self, fq):
        pkg, _, name = fq.rpartition(".")
        msgs = self.proto(pkg)
        if name not in msgs:
            sys.exit(f"message {fq} not in {pkg} generated.proto")
        pfields = msgs[name]
        structs, named = self.gopkg(pkg)
        if name not in structs:
            under = named.get(name)
            if under and under.startswith("[]"):
                # A Go named slice carried as a message with one repeated field (ExtraValue).
                f1 = pfields.get(1)
                if not f1 or f1["label"] != "repeated" or len(pfields) != 1:
                    sys.exit(f"{fq}: named slice without a single repeated field 1")
                return f"M{name}|w|1,items,{self.type_code(pkg, f1['type'])},r"
            sys.exit(f"no Go struct for {fq}")
        out = []
        seen_numbers = set()
        for gf in structs[name]:
            js = tag_value(gf["tag"], "json")
            pb = tag_value(gf["tag"], "protobuf")
            gotype = gf["type"]
            base = gotype.lstrip("*").split(".")[-1]
            if js == "-":
                continue
            jname, _, jopts = (js or "").partition(",")
            omitempty = "omitempty" in jopts.split(",")
            inline = "inline" in jopts.split(",") or (gf["embedded"] and js is None)
            if base == "TypeMeta" and inline:
                out.append("0,,K,n")
                continue
            if not jname and not inline:
                jname = gf["go"]
            flags = ""
            if omitempty:
                flags += "o"
            if gotype.startswith("*"):
                flags += "p"
            if inline:
                flags += "n"
            if not pb or pb == "-":
                self.warnings.append(f"{fq}.{gf['go']}: Go-only field (no protobuf tag); written as its zero value")
                code = {"string": "s", "int32": "i", "int64": "l", "bool": "b"}.get(gotype.lstrip("*"))
                if code is None:
                    sys.exit(f"{fq}.{gf['go']}: Go-only field of unsupported type {gotype}")
                out.append(f"0,{jname},{code},{flags}")
                continue
            num = int(pb.split(",")[1])
            seen_numbers.add(num)
            pf = pfields.get(num)
            if pf is None:
                sys.exit(f"{fq}.{gf['go']}: protobuf number {num} not in generated.proto")
            if pf["map"]:
                mk, mv = pf["map"]
                if mk != "string":
                    sys.exit(f"{fq}.{gf['go']}: map key {mk} unsupported")
                code = self.type_code(pkg, mv)
                flags += "m"
            else:
                code = self.type_code(pkg, pf["type"])
                if pf["label"] == "repeated":
                    flags += "r"
                    if not (gotype.startswith("[]") or gotype.lstrip("*") in named or "." in gotype):
                        self.warnings.append(f"{fq}.{gf['go']}: repeated in proto but Go type {gotype}")
                elif pf["type"] == "bytes" and gotype != "[]byte":
                    self.warnings.append(f"{fq}.{gf['go']}: bytes in proto but Go type {gotype}")
            if inline and not code.isdigit():
                sys.exit(f"{fq}.{gf['go']}: inline of non-message")
            extra = ""
            if (fq, jname) in EMBEDDED_TYPEMETA:
                extra = ",%s@%s" % EMBEDDED_TYPEMETA[(fq, jname)]
            out.append(f"{num},{jname},{code},{flags}{extra}")
        for num in pfields:
            if num not in seen_numbers:
                self.warnings.append(f"{fq}: proto field {num} ({pfields[num]['name']}) has no Go field; skipped")
        return f"M{name}||" + ";".join(out)


def group_name(d):
    reg = os.path.join(d, "register.go")
    if os.path.exists(reg):
        m = re.search(r'const GroupName = "([^"]*)"', open(reg, encoding="utf-8").read())
        if m:
            return m.group(1)
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", default="/var/tmp/kube-lab/cache/src/k8s")
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "../../Sources/KubeProtoJSON/KubeSchema+Generated.swift"))
    args = ap.parse_args()
    root = os.path.join(args.src, "staging/src/k8s.io")
    g = Gen(root)
    roots = []
    # Every group-version under k8s.io/api, plus meta/v1. Roots are the structs that embed
    # TypeMeta inline (kinds, their Lists, and option types).
    gvs = []
    for grp in sorted(os.listdir(os.path.join(root, "api"))):
        gd = os.path.join(root, "api", grp)
        if not os.path.isdir(gd):
            continue
        for ver in sorted(os.listdir(gd)):
            vd = os.path.join(gd, ver)
            if os.path.exists(os.path.join(vd, "generated.proto")):
                gvs.append((f"k8s.io.api.{grp}.{ver}", group_name(vd), ver))
    gvs.append(("k8s.io.apimachinery.pkg.apis.meta.v1", "meta.k8s.io", "v1"))
    for pkg, grp, ver in gvs:
        if grp is None:
            g.warnings.append(f"{pkg}: no GroupName; skipped")
            continue
        api_version = f"{grp}/{ver}" if grp else ver
        structs, _ = g.gopkg(pkg)
        msgs = g.proto(pkg)
        for name in sorted(structs):
            fields = structs[name]
            if name in msgs and any(f["type"].lstrip("*").split(".")[-1] == "TypeMeta" and f["embedded"] for f in fields):
                roots.append((api_version, name, g.message_index(f"{pkg}.{name}")))
    # The apiserver sends metav1.Status as apiVersion "v1".
    roots.append(("v1", "Status", g.message_index("k8s.io.apimachinery.pkg.apis.meta.v1.Status")))
    roots.sort()

    table = "\n".join(g.lines + [f"R{a}|{k}|{i}" for a, k, i in roots])
    for line in table.split("\n"):
        assert "\"#" not in line and "\\" not in line, line
    swift = f'''// GENERATED by scripts/gen/kube_schema.py from Kubernetes v1.20 sources. Do not edit.
// {len(g.lines)} messages, {len(roots)} root kinds. Format: see the script's docstring.
// One string literal (not struct literals) because it compiles in milliseconds; KubeSchema
// decodes it once, lazily.

extension KubeSchema {{
    static let table: StaticString = #"""
{table}
"""#
}}
'''
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(swift)
    for w in g.warnings:
        print("warning:", w, file=sys.stderr)
    print(f"wrote {args.out}: {len(g.lines)} messages, {len(roots)} roots, {len(swift)} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
