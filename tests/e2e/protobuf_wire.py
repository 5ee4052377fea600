"""Just enough of the Kubernetes protobuf wire format to check Outpost's protobuf answers (stdlib only).

What the apiserver sends for `Accept: application/vnd.kubernetes.protobuf`:

  body      = b"k8s\\x00" + runtime.Unknown
  Unknown   = 1: typeMeta {1: apiVersion, 2: kind}   2: raw (the object's message)
              3: contentEncoding   4: contentType      (both empty, but written)
  XList     = 1: ListMeta {1: selfLink, 2: resourceVersion, 3: continue, 4: remainingItemCount}
              2: item (repeated, one object message each)
  object    = 1: ObjectMeta {1: name, 3: namespace, 6: resourceVersion, ...}  2: spec  3: status ...
  Status    = 1: ListMeta  2: status  3: message  4: reason  5: details  6: code (varint)

A protobuf watch (`Content-Type: application/vnd.kubernetes.protobuf;stream=watch`) is a sequence
of frames, each a 4-byte big-endian length followed by that many bytes: a bare metav1.WatchEvent
message (no magic, no envelope: the stream serializer is the raw one) {1: type, 2: object
(RawExtension {1: raw})}, and the RawExtension's raw is a full envelope (magic + Unknown) of the
object.

Outpost masks a filtered list item by rewriting its field 2 into an unknown field 15 of the same
length whose payload is all zeros (`MASKED_FIELD`).

Functions work on `bytes`; fields are returned as (field number, wire type, value) where the value
is an int for varints and fixed types, and the raw payload bytes for length-delimited fields.
"""
import struct

MAGIC = b"k8s\x00"
PROTOBUF = "application/vnd.kubernetes.protobuf"
KUBELET_ACCEPT = "application/vnd.kubernetes.protobuf, */*"
MASKED_FIELD = 15

VARINT, FIXED64, LENGTH_DELIMITED, FIXED32 = 0, 1, 2, 5


# ----------------------------------------------------------------------------------- primitives
def read_varint(buf, pos):
    """-> (value, next position)."""
    value, shift = 0, 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def encode_varint(value):
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        if value:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def iter_fields(buf):
    """Yield (field, wire type, value, start, end) for every field of a message; start/end span
    the whole field (tag included) in `buf`."""
    pos = 0
    while pos < len(buf):
        start = pos
        tag, pos = read_varint(buf, pos)
        field, wt = tag >> 3, tag & 7
        if field == 0:
            raise ValueError(f"field number 0 at offset {start}")
        if wt == VARINT:
            value, pos = read_varint(buf, pos)
        elif wt == FIXED64:
            value, pos = struct.unpack_from("<Q", buf, pos)[0], pos + 8
        elif wt == FIXED32:
            value, pos = struct.unpack_from("<I", buf, pos)[0], pos + 4
        elif wt == LENGTH_DELIMITED:
            n, pos = read_varint(buf, pos)
            if pos + n > len(buf):
                raise ValueError(f"field {field} at offset {start}: length {n} runs past the end ({len(buf)})")
            value, pos = bytes(buf[pos:pos + n]), pos + n
        else:
            raise ValueError(f"unsupported wire type {wt} (field {field}) at offset {start}")
        yield field, wt, value, start, pos


def fields(buf):
    """-> [(field, wire type, value)] in order."""
    return [(f, wt, v) for f, wt, v, _, _ in iter_fields(buf)]


def first(buf, field, default=None):
    for f, _, v in fields(buf):
        if f == field:
            return v
    return default


def string(buf, field, default=""):
    v = first(buf, field)
    return default if v is None else v.decode()


def encode_field(field, payload):
    """A length-delimited field."""
    return encode_varint(field << 3 | LENGTH_DELIMITED) + encode_varint(len(payload)) + payload


# ----------------------------------------------------------------------------------- envelope
class Envelope:
    """magic + runtime.Unknown, decoded."""

    def __init__(self, body):
        if body[:4] != MAGIC:
            raise ValueError(f"no protobuf magic: {bytes(body[:16])!r}")
        unknown = bytes(body[4:])
        tm = first(unknown, 1, b"")
        self.api_version = string(tm, 1)
        self.kind = string(tm, 2)
        self.raw = first(unknown, 2, b"")
        self.content_encoding = string(unknown, 3)
        self.content_type = string(unknown, 4)
        self.field_numbers = [f for f, _, _ in fields(unknown)]

    def __repr__(self):
        return f"Envelope({self.api_version}/{self.kind}, raw={len(self.raw)} bytes)"


def envelope(api_version, kind, raw):
    """The bytes the apiserver writes around one object message."""
    tm = encode_field(1, api_version.encode()) + encode_field(2, kind.encode())
    return MAGIC + encode_field(1, tm) + encode_field(2, raw) + encode_field(3, b"") + encode_field(4, b"")


# ----------------------------------------------------------------------------------- lists
class ProtoList:
    """A protobuf List body split into its parts (no schema needed)."""

    def __init__(self, body):
        self.envelope = Envelope(body)
        self.kind = self.envelope.kind
        self.list_meta = b""
        self.items = []          # item messages (field 2), in order
        self.masked = []         # payloads of field-15 entries, in order
        self.entries = []        # (field, payload) of every repeated entry, in order
        self.other = []          # any other field
        for f, wt, v in fields(self.envelope.raw):
            if f == 1:
                self.list_meta = v
            elif f == 2:
                self.items.append(v)
                self.entries.append((2, v))
            elif f == MASKED_FIELD:
                self.masked.append(v)
                self.entries.append((MASKED_FIELD, v))
            else:
                self.other.append((f, wt, v))

    @property
    def resource_version(self):
        return string(self.list_meta, 2)

    @property
    def continue_token(self):
        return string(self.list_meta, 3)

    def names(self):
        return [object_meta(i)["name"] for i in self.items]

    def items_without_list_meta(self):
        """The raw message minus field 1 (ListMeta): the items as they appear on the wire."""
        return b"".join(self.envelope.raw[s:e] for f, _, _, s, e in iter_fields(self.envelope.raw) if f != 1)


def with_list_meta(body, list_meta):
    """The same list body with its ListMeta replaced (e.g. another resourceVersion)."""
    lst = ProtoList(body)
    raw = encode_field(1, list_meta) + lst.items_without_list_meta()
    return envelope(lst.envelope.api_version, lst.kind, raw)


def mask_items(body, predicate):
    """The bytes Outpost should send for `body` (a protobuf list) when the items for which
    predicate(item message) holds are filtered: each such field 2 becomes field 15 of the same
    length (tag 0x12 -> 0x7A, length kept), payload zeroed. Assumes one-byte tags, as the
    apiserver writes them."""
    unknown = body[4:]
    for f, _, v, _, e in iter_fields(unknown):
        if f == 2:
            raw_off = 4 + e - len(v)
            break
    else:
        raise ValueError("envelope without raw")
    out = bytearray(body)
    for f, _, item, s, e in iter_fields(v):
        if f == 2 and predicate(item):
            assert out[raw_off + s] == 2 << 3 | LENGTH_DELIMITED
            out[raw_off + s] = MASKED_FIELD << 3 | LENGTH_DELIMITED
            out[raw_off + e - len(item):raw_off + e] = bytes(len(item))
    return bytes(out)


# ----------------------------------------------------------------------------------- objects
def object_meta(obj_msg):
    """A few ObjectMeta fields of an object message (field 1)."""
    md = first(obj_msg, 1, b"")
    return {"name": string(md, 1), "namespace": string(md, 3), "uid": string(md, 5),
            "resourceVersion": string(md, 6)}


def status(msg):
    """metav1.Status message -> dict."""
    return {"status": string(msg, 2), "message": string(msg, 3), "reason": string(msg, 4),
            "code": first(msg, 6, 0)}


# ----------------------------------------------------------------------------------- watch
class WatchFrame:
    def __init__(self, frame):
        self.bytes = frame
        ev = frame
        self.type = string(ev, 1)
        raw_ext = first(ev, 2, b"")
        self.object_bytes = first(raw_ext, 1, b"")
        self.object = Envelope(self.object_bytes) if self.object_bytes else None

    @property
    def kind(self):
        return self.object.kind if self.object else None

    def meta(self):
        return object_meta(self.object.raw)

    def __repr__(self):
        if self.object and self.kind == "Status":
            return f"WatchFrame({self.type}, Status {status(self.object.raw)})"
        return f"WatchFrame({self.type}, {self.kind} {self.meta() if self.object else None})"


def split_frames(data):
    """Length-prefixed watch frames -> (list of frame bytes, leftover bytes)."""
    out, pos = [], 0
    while len(data) - pos >= 4:
        n = struct.unpack_from(">I", data, pos)[0]
        if len(data) - pos - 4 < n:
            break
        out.append(bytes(data[pos + 4:pos + 4 + n]))
        pos += 4 + n
    return out, bytes(data[pos:])


def read_frame(resp):
    """One frame from a file-like HTTP response, or None at a clean end of stream."""
    head = resp.read(4)
    if not head:
        return None
    if len(head) < 4:
        raise ValueError(f"truncated frame length ({len(head)} bytes)")
    n = struct.unpack(">I", head)[0]
    frame = resp.read(n)
    if len(frame) < n:
        raise ValueError(f"truncated frame: {len(frame)} of {n} bytes")
    return frame
