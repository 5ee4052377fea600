/// A parsed JSON value, for building Table rows from one cached object at a time.
///
/// Exists because the printers read nested fields (`status.containerStatuses[i].state.waiting.reason`)
/// that the streaming scanner of KubeJSON does not keep; an object is small, so a tree is fine here.
/// Object members keep their byte range in the source, so `metadata` can be copied verbatim into a
/// PartialObjectMetadata (the apiserver writes the same bytes for it).
public indirect enum JSONNode: Sendable, Equatable {
    case null
    case bool(Bool)
    /// The number's text as written (Go prints int64 and float64 differently; we only read integers).
    case number(String)
    case string(String)
    case array([JSONNode])
    case object([Member])

    public struct Member: Sendable, Equatable {
        public var key: String
        public var value: JSONNode
        /// The value's bytes in the parsed source.
        public var range: Range<Int>
    }

    public subscript(_ key: String) -> JSONNode {
        if case .object(let members) = self {
            for m in members where m.key == key { return m.value }
        }
        return .null
    }

    /// Follows a path of member names (`node["status", "phase"]`); `.null` when any step is missing.
    public subscript(_ first: String, _ rest: String...) -> JSONNode {
        var node = self[first]
        for key in rest { node = node[key] }
        return node
    }

    /// The member's value range in the source, if present.
    public func range(of key: String) -> Range<Int>? {
        if case .object(let members) = self {
            for m in members where m.key == key { return m.range }
        }
        return nil
    }

    public var isNull: Bool { self == .null }
    /// The string, or "" (Go's zero value) for anything else.
    public var string: String { if case .string(let s) = self { return s }; return "" }
    public var array: [JSONNode] { if case .array(let a) = self { return a }; return [] }
    public var members: [Member] { if case .object(let m) = self { return m }; return [] }
    public var bool: Bool { if case .bool(let b) = self { return b }; return false }
    /// The integer value, or 0 (Go's zero value) for anything that is not an integer.
    public var int: Int64 { if case .number(let n) = self { return Int64(n) ?? 0 }; return 0 }

    /// `skipping`: member names whose values are checked for balance but not built (left `.null`):
    /// the printers never read `managedFields`, often the largest part of an object.
    /// `shallow`: the root's member values are all passed over (only their ranges are kept).
    public static func parse(_ bytes: [UInt8], skipping: Set<String> = [], shallow: Bool = false) throws(TableError) -> JSONNode {
        let result: Result<JSONNode, TableError> = bytes.withUnsafeBytes { raw in
            Result { () throws(TableError) -> JSONNode in
                var p = Parser(bytes: raw, skipping: skipping)
                p.shallow = shallow
                let node = try p.value(depth: 0)
                p.skipWS()
                guard p.pos == raw.count else { throw TableError.malformedJSON(offset: p.pos) }
                return node
            }
        }
        return try result.get()
    }
}

public enum TableError: Error, Equatable, CustomStringConvertible {
    case malformedJSON(offset: Int)
    case notAnObject

    public var description: String {
        switch self {
        case .malformedJSON(let offset): return "malformed JSON at byte \(offset)"
        case .notAnObject: return "the body is not a JSON object"
        }
    }
}

/// Recursive descent over the bytes; depth is bounded (Kubernetes objects are shallow).
private struct Parser {
    let bytes: UnsafeRawBufferPointer
    let skipping: Set<String>
    var shallow = false
    var pos = 0
    static let maxDepth = 200

    init(bytes: UnsafeRawBufferPointer, skipping: Set<String>) {
        self.bytes = bytes
        self.skipping = skipping
    }

    /// Passes over one value without building it: strings (with escapes) and nesting are
    /// followed, so the value's end is found; its content is not validated further.
    mutating func skipValue() throws(TableError) {
        skipWS()
        guard pos < bytes.count else { throw fail() }
        var depth = 0
        repeat {
            guard pos < bytes.count else { throw fail() }
            let c = bytes[pos]
            switch c {
            case UInt8(ascii: "\""):
                pos += 1
                while true {
                    guard pos < bytes.count else { throw fail() }
                    if bytes[pos] == UInt8(ascii: "\\") { pos += 2; continue }
                    if bytes[pos] == UInt8(ascii: "\"") { pos += 1; break }
                    pos += 1
                }
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                pos += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                guard depth > 0 else { throw fail() }
                depth -= 1
                pos += 1
            default:
                if depth == 0 {
                    // A scalar at the top: up to the next delimiter.
                    let start = pos
                    while pos < bytes.count, !",}] \n\r\t".utf8.contains(bytes[pos]) { pos += 1 }
                    guard pos > start else { throw fail() }
                } else {
                    pos += 1
                }
            }
        } while depth > 0
    }

    mutating func skipWS() {
        while pos < bytes.count, bytes[pos] == 0x20 || bytes[pos] == 0x0A || bytes[pos] == 0x0D || bytes[pos] == 0x09 { pos += 1 }
    }

    func fail() -> TableError { .malformedJSON(offset: pos) }

    mutating func value(depth: Int) throws(TableError) -> JSONNode {
        guard depth < Self.maxDepth else { throw fail() }
        skipWS()
        guard pos < bytes.count else { throw fail() }
        switch bytes[pos] {
        case UInt8(ascii: "{"):
            pos += 1
            var members: [JSONNode.Member] = []
            skipWS()
            if pos < bytes.count && bytes[pos] == UInt8(ascii: "}") { pos += 1; return .object(members) }
            while true {
                skipWS()
                guard pos < bytes.count, bytes[pos] == UInt8(ascii: "\"") else { throw fail() }
                let key = try string()
                skipWS()
                guard pos < bytes.count, bytes[pos] == UInt8(ascii: ":") else { throw fail() }
                pos += 1
                skipWS()
                let start = pos
                let v: JSONNode
                if (shallow && depth == 0) || (!skipping.isEmpty && skipping.contains(key)) {
                    try skipValue()
                    v = .null
                } else {
                    v = try value(depth: depth + 1)
                }
                members.append(.init(key: key, value: v, range: start..<pos))
                skipWS()
                guard pos < bytes.count else { throw fail() }
                if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
                if bytes[pos] == UInt8(ascii: "}") { pos += 1; return .object(members) }
                throw fail()
            }
        case UInt8(ascii: "["):
            pos += 1
            var items: [JSONNode] = []
            skipWS()
            if pos < bytes.count && bytes[pos] == UInt8(ascii: "]") { pos += 1; return .array(items) }
            while true {
                items.append(try value(depth: depth + 1))
                skipWS()
                guard pos < bytes.count else { throw fail() }
                if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
                if bytes[pos] == UInt8(ascii: "]") { pos += 1; return .array(items) }
                throw fail()
            }
        case UInt8(ascii: "\""):
            return .string(try string())
        case UInt8(ascii: "t"):
            try literal("true"); return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false"); return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null"); return .null
        default:
            let start = pos
            while pos < bytes.count, Self.isNumberByte(bytes[pos]) { pos += 1 }
            guard pos > start else { throw fail() }
            return .number(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<pos]), as: UTF8.self))
        }
    }

    static func isNumberByte(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "-") || b == UInt8(ascii: "+")
            || b == UInt8(ascii: ".") || b == UInt8(ascii: "e") || b == UInt8(ascii: "E")
    }

    mutating func literal(_ text: StaticString) throws(TableError) {
        let n = text.utf8CodeUnitCount
        guard pos + n <= bytes.count else { throw fail() }
        for i in 0..<n where bytes[pos + i] != text.utf8Start[i] { throw fail() }
        pos += n
    }

    mutating func hex4() throws(TableError) -> UInt32 {
        guard pos + 4 <= bytes.count else { throw fail() }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[pos]
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw fail()
            }
            v = v << 4 | d
            pos += 1
        }
        return v
    }

    /// A string at `pos` (on its opening quote); escapes decoded, lone surrogates become U+FFFD as in Go.
    mutating func string() throws(TableError) -> String {
        pos += 1
        // Most strings have no escapes: one pass to the closing quote, one copy.
        var end = pos
        while end < bytes.count, bytes[end] != UInt8(ascii: "\""), bytes[end] != UInt8(ascii: "\\") { end += 1 }
        if end < bytes.count, bytes[end] == UInt8(ascii: "\"") {
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[pos..<end]), as: UTF8.self)
            pos = end + 1
            return text
        }
        var out: [UInt8] = []
        while true {
            guard pos < bytes.count else { throw fail() }
            let c = bytes[pos]
            if c == UInt8(ascii: "\"") { pos += 1; break }
            if c != UInt8(ascii: "\\") { out.append(c); pos += 1; continue }
            pos += 1
            guard pos < bytes.count else { throw fail() }
            let e = bytes[pos]
            pos += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "u"):
                var v = try hex4()
                if v >= 0xD800 && v < 0xDC00, pos + 6 <= bytes.count, bytes[pos] == UInt8(ascii: "\\"), bytes[pos + 1] == UInt8(ascii: "u") {
                    let save = pos
                    pos += 2
                    let low = try hex4()
                    if low >= 0xDC00 && low < 0xE000 {
                        v = 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00)
                    } else {
                        pos = save
                    }
                }
                let scalar = Unicode.Scalar(v) ?? "\u{FFFD}"
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
            default: throw fail()
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
