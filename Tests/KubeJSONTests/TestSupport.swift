@testable import KubeJSON

/// Test-only reference JSON parser (recursive, independent of the module's scanner).
indirect enum JV: Equatable, CustomStringConvertible {
    case null, bool(Bool), number(String), string(String), array([JV]), object([(String, JV)])

    static func == (a: JV, b: JV) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.number(x), .number(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    subscript(_ k: String) -> JV? {
        if case .object(let m) = self { return m.first(where: { $0.0 == k })?.1 }
        return nil
    }
    var string: String? { if case .string(let s) = self { return s }; return nil }
    var array: [JV]? { if case .array(let a) = self { return a }; return nil }

    var description: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return "\(b)"
        case .number(let n): return n
        case .string(let s): return JSONWriter.quoted(s, htmlSafe: false)
        case .array(let a): return "[" + a.map(\.description).joined(separator: ",") + "]"
        case .object(let o): return "{" + o.map { JSONWriter.quoted($0.0, htmlSafe: false) + ":" + $0.1.description }.joined(separator: ",") + "}"
        }
    }
}

struct RefParseError: Error {}

struct RefParser {
    let b: [UInt8]
    var i = 0
    init(_ b: [UInt8]) { self.b = b }

    static func parse(_ bytes: [UInt8]) throws -> JV {
        var p = RefParser(bytes)
        let v = try p.value(depth: 0)
        p.ws()
        guard p.i == bytes.count else { throw RefParseError() }
        return v
    }
    static func parse(_ s: String) throws -> JV { try parse(Array(s.utf8)) }

    mutating func ws() { while i < b.count, [0x20, 0x0A, 0x0D, 0x09].contains(b[i]) { i += 1 } }
    mutating func lit(_ s: String) throws {
        for c in s.utf8 { guard i < b.count, b[i] == c else { throw RefParseError() }; i += 1 }
    }
    mutating func value(depth: Int) throws -> JV {
        guard depth < 500 else { throw RefParseError() }
        ws()
        guard i < b.count else { throw RefParseError() }
        switch b[i] {
        case UInt8(ascii: "{"):
            i += 1; ws()
            var o: [(String, JV)] = []
            if i < b.count, b[i] == UInt8(ascii: "}") { i += 1; return .object(o) }
            while true {
                ws()
                guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw RefParseError() }
                let k = try str()
                ws(); try lit(":")
                o.append((k, try value(depth: depth + 1)))
                ws()
                guard i < b.count else { throw RefParseError() }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "}") { i += 1; return .object(o) }
                throw RefParseError()
            }
        case UInt8(ascii: "["):
            i += 1; ws()
            var a: [JV] = []
            if i < b.count, b[i] == UInt8(ascii: "]") { i += 1; return .array(a) }
            while true {
                a.append(try value(depth: depth + 1))
                ws()
                guard i < b.count else { throw RefParseError() }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "]") { i += 1; return .array(a) }
                throw RefParseError()
            }
        case UInt8(ascii: "\""): return .string(try str())
        case UInt8(ascii: "t"): try lit("true"); return .bool(true)
        case UInt8(ascii: "f"): try lit("false"); return .bool(false)
        case UInt8(ascii: "n"): try lit("null"); return .null
        default:
            let s = i
            if b[i] == UInt8(ascii: "-") { i += 1 }
            func digits() -> Int { let s = i; while i < b.count, (0x30...0x39).contains(b[i]) { i += 1 }; return i - s }
            guard i < b.count else { throw RefParseError() }
            if b[i] == UInt8(ascii: "0") { i += 1 } else { guard digits() > 0 else { throw RefParseError() } }
            if i < b.count, b[i] == UInt8(ascii: ".") { i += 1; guard digits() > 0 else { throw RefParseError() } }
            if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
                i += 1
                if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
                guard digits() > 0 else { throw RefParseError() }
            }
            return .number(String(decoding: b[s..<i], as: UTF8.self))
        }
    }
    mutating func hex4() throws -> UInt32 {
        guard i + 4 <= b.count, let v = UInt32(String(decoding: b[i..<i + 4], as: UTF8.self), radix: 16) else { throw RefParseError() }
        i += 4
        return v
    }
    mutating func str() throws -> String {
        i += 1
        var out: [UInt8] = []
        while true {
            guard i < b.count else { throw RefParseError() }
            let c = b[i]; i += 1
            if c == UInt8(ascii: "\"") { return String(decoding: out, as: UTF8.self) }
            if c < 0x20 { throw RefParseError() }
            if c != UInt8(ascii: "\\") { out.append(c); continue }
            guard i < b.count else { throw RefParseError() }
            let e = b[i]; i += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(8)
            case UInt8(ascii: "f"): out.append(12)
            case UInt8(ascii: "n"): out.append(10)
            case UInt8(ascii: "r"): out.append(13)
            case UInt8(ascii: "t"): out.append(9)
            case UInt8(ascii: "u"):
                var v = try hex4()
                if (0xD800..<0xDC00).contains(v), i + 6 <= b.count, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") {
                    let save = i
                    i += 2
                    let lo = try hex4()
                    if (0xDC00..<0xE000).contains(lo) { v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00) } else { i = save; v = 0xFFFD }
                } else if (0xD800..<0xE000).contains(v) { v = 0xFFFD }
                out.append(contentsOf: Array(String(Character(Unicode.Scalar(v)!)).utf8))
            default: throw RefParseError()
            }
        }
    }
}

/// Deterministic PRNG for fuzz tests.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

struct SplitResult: Equatable {
    var prefix: [UInt8] = []
    var items: [[UInt8]] = []
    var metas: [ObjectMeta] = []
    var suffix: [UInt8] = []
    var info = ListInfo()

    /// Rebuilds the list with the kept items.
    func rebuild(keeping keep: (ObjectMeta) -> Bool = { _ in true }) -> [UInt8] {
        var out = prefix
        var first = true
        for (b, m) in zip(items, metas) where keep(m) {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            out += b
        }
        return out + suffix
    }
}

/// Splits `doc` by feeding the given chunk sizes (cycled), then finish().
func split(_ doc: [UInt8], cuts: [Int], paths: FieldPaths = .none, maxItemSize: Int = JSONLimits.defaultMaxItemSize) throws -> SplitResult {
    var s = JSONListSplitter(maxItemSize: maxItemSize, fieldPaths: paths)
    var r = SplitResult()
    var sawSuffix = false
    func handle(_ seg: ListSegment) {
        switch seg {
        case .prefix(let b):
            precondition(r.items.isEmpty && !sawSuffix, "prefix after items")
            r.prefix += b
        case .item(let b, let m):
            precondition(!sawSuffix)
            r.items.append(Array(b)); r.metas.append(m)
        case .suffix(let b): sawSuffix = true; r.suffix += b
        }
    }
    var start = 0
    for cut in cuts + [doc.count] where cut >= start && cut <= doc.count {
        try doc[start..<cut].withUnsafeBytes { try s.feed($0, handle) }
        start = cut
    }
    r.info = try s.finish()
    return r
}

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }
func str(_ b: [UInt8]) -> String { String(decoding: b, as: UTF8.self) }
