/// A list's `continue` parameter as kube-apiserver 1.20's etcd3 store reads it
/// (`decodeContinue`): unpadded URL-safe base64 of the JSON
/// `{"v":"meta.k8s.io/v1","rv":<revision>,"start":"<key after the prefix>"}`.
///
/// Exists so an answer given in the apiserver's place refuses a broken token with the
/// apiserver's exact 400 message (Go's base64 and encoding/json errors included) and can
/// resume from a valid one when it is allowed to.
public enum APIContinueToken: Sendable, Hashable {
    /// A token minted by the caller (recognised by it, never decoded here).
    case own(String)
    /// A token in the apiserver's format. `resourceVersion` -1 means "go on at the newest
    /// state" (what a 410 for an expired token offers); `startKey` is the storage key after
    /// the list's prefix: `name\0` in a namespace, `namespace/name\0` across namespaces.
    case apiserver(resourceVersion: Int64, startKey: String)

    /// The apiserver's encoding version.
    public static let version = "meta.k8s.io/v1"

    /// Decodes like etcd3's `decodeContinue`; errors carry its wording
    /// ("continue key is not valid: ...").
    public init(decoding text: String) throws(ContinueTokenError) {
        let data: [UInt8]
        switch Base64URL.decode(text) {
        case .success(let bytes): data = bytes
        case .failure(let error):
            throw ContinueTokenError("illegal base64 data at input byte \(error.offset)")
        }
        var fields = TokenFields()
        do {
            var parser = GoJSONTokenParser(data)
            fields = try parser.parse()
        } catch {
            throw ContinueTokenError(error.message)
        }
        guard fields.version == Self.version else {
            throw ContinueTokenError("server does not recognize this encoded version \(goQuote(fields.version))")
        }
        guard fields.resourceVersion != 0 else {
            throw ContinueTokenError("incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
        }
        guard !fields.start.isEmpty else {
            throw ContinueTokenError("encoded start key empty (version meta.k8s.io/v1)")
        }
        // `path.Clean("/" + start)` must change nothing: no empty, `.` or `..` segments and no
        // trailing slash (a client cannot walk out of the list's prefix).
        let segments = fields.start.split(separator: "/", omittingEmptySubsequences: false)
        let leading = fields.start.hasPrefix("/") ? segments.dropFirst() : segments[...]
        if leading.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) {
            throw ContinueTokenError(fields.start)
        }
        self = .apiserver(resourceVersion: fields.resourceVersion, startKey: fields.start)
    }

    /// etcd3's `encodeContinue`: Go's JSON of the token, unpadded URL-safe base64.
    public static func encode(resourceVersion: Int64, startKey: String) -> String {
        var json = "{\"v\":\"" + version + "\",\"rv\":" + String(resourceVersion) + ",\"start\":"
        json += goJSONString(startKey) + "}"
        return Base64URL.encode(Array(json.utf8))
    }
}

/// Why a continue token was refused; `message` is what follows "invalid continue token: ".
public struct ContinueTokenError: Error, Sendable, Hashable {
    public var message: String

    init(_ detail: String) {
        message = "continue key is not valid: " + detail
    }
}

struct TokenFields {
    var version = ""
    var resourceVersion: Int64 = 0
    var start = ""
}

/// Go's `base64.RawURLEncoding` (no padding; `\r` and `\n` are skipped; trailing bits are not
/// checked), with its error offsets.
enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            let n = min(3, bytes.count - i)
            var v = UInt32(bytes[i]) << 16
            if n > 1 { v |= UInt32(bytes[i + 1]) << 8 }
            if n > 2 { v |= UInt32(bytes[i + 2]) }
            for k in 0...n { out.append(alphabet[Int(v >> UInt32(18 - 6 * k)) & 63]) }
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    struct CorruptInput: Error {
        var offset: Int
    }

    /// The bytes, or the offset Go reports as "illegal base64 data at input byte N".
    static func decode(_ text: String) -> Result<[UInt8], CorruptInput> {
        let src = Array(text.utf8)
        var out: [UInt8] = []
        var si = 0
        while si < src.count {
            var quantum: [UInt32] = []
            while quantum.count < 4 {
                guard si < src.count else { break }
                let c = src[si]
                si += 1
                if c == UInt8(ascii: "\n") || c == UInt8(ascii: "\r") { continue }
                guard let v = value(c) else { return .failure(CorruptInput(offset: si - 1)) }
                quantum.append(v)
            }
            switch quantum.count {
            case 0: break
            case 1: return .failure(CorruptInput(offset: si - 1))
            default:
                var v: UInt32 = 0
                for (k, q) in quantum.enumerated() { v |= q << UInt32(18 - 6 * k) }
                out.append(UInt8(v >> 16))
                if quantum.count > 2 { out.append(UInt8((v >> 8) & 0xFF)) }
                if quantum.count > 3 { out.append(UInt8(v & 0xFF)) }
            }
        }
        return .success(out)
    }

    private static func value(_ c: UInt8) -> UInt32? {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return UInt32(c - UInt8(ascii: "A"))
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return UInt32(c - UInt8(ascii: "a") + 26)
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(c - UInt8(ascii: "0") + 52)
        case UInt8(ascii: "-"): return 62
        case UInt8(ascii: "_"): return 63
        default: return nil
        }
    }
}

/// Go's `json.Marshal` of a string (HTML characters escaped, as Go does by default).
func goJSONString(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case "<", ">", "&", "\u{2028}", "\u{2029}":
            let hex = String(scalar.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default:
            if scalar.value < 0x20 {
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}

/// `json.Unmarshal(data, &continueToken{})` with Go's error messages: the syntax check of the
/// whole input first (encoding/json's scanner: "invalid character 'x' looking for beginning of
/// value", "unexpected end of JSON input", ...), then the typed decode of the three fields
/// (keys matched case-insensitively, the last duplicate wins, the first type error is kept).
struct GoJSONTokenParser {
    struct Failure: Error {
        var message: String
    }

    /// A parsed JSON value, as far as typing needs it.
    indirect enum Value {
        case object([(String, Value)])
        case array
        case string(String)
        case number(String)
        case bool
        case null

        var goKind: String {
            switch self {
            case .object: return "object"
            case .array: return "array"
            case .string: return "string"
            case .number: return "number"
            case .bool: return "bool"
            case .null: return "null"
            }
        }
    }

    private let b: [UInt8]
    private var i = 0

    init(_ bytes: [UInt8]) {
        b = bytes
    }

    mutating func parse() throws(Failure) -> TokenFields {
        let value = try value(context: "looking for beginning of value")
        skipSpace()
        if i < b.count { throw invalid("after top-level value") }
        var fields = TokenFields()
        var typeError: String? = nil
        func mismatch(_ what: String, _ field: String, _ type: String) {
            if typeError == nil {
                typeError = "json: cannot unmarshal \(what) into Go struct field continueToken.\(field) of type \(type)"
            }
        }
        switch value {
        case .null:
            break
        case .object(let members):
            for (key, v) in members {
                switch key.lowercased() {
                case "v", "start":
                    let field = key.lowercased()
                    switch v {
                    case .string(let s): if field == "v" { fields.version = s } else { fields.start = s }
                    case .null: break
                    default: mismatch(v.goKind, field, "string")
                    }
                case "rv":
                    switch v {
                    case .number(let literal):
                        if case .success(let n) = goParseInt64(literal) { fields.resourceVersion = n } else { mismatch("number " + literal, "rv", "int64") }
                    case .null: break
                    default: mismatch(v.goKind, "rv", "int64")
                    }
                default:
                    break
                }
            }
        default:
            throw Failure(message: "json: cannot unmarshal \(value.goKind) into Go value of type etcd3.continueToken")
        }
        if let typeError { throw Failure(message: typeError) }
        return fields
    }

    private func invalid(_ context: String) -> Failure {
        Failure(message: "invalid character \(goQuoteChar(b[i])) \(context)")
    }

    private static let endOfInput = Failure(message: "unexpected end of JSON input")

    private mutating func skipSpace() {
        while i < b.count, b[i] == 0x20 || b[i] == 0x09 || b[i] == 0x0A || b[i] == 0x0D { i += 1 }
    }

    private mutating func value(context: String) throws(Failure) -> Value {
        skipSpace()
        guard i < b.count else { throw Self.endOfInput }
        switch b[i] {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        case UInt8(ascii: "t"): try literal("true"); return .bool
        case UInt8(ascii: "f"): try literal("false"); return .bool
        case UInt8(ascii: "n"): try literal("null"); return .null
        default: throw invalid(context)
        }
    }

    private mutating func object() throws(Failure) -> Value {
        i += 1
        var members: [(String, Value)] = []
        skipSpace()
        guard i < b.count else { throw Self.endOfInput }
        if b[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
        while true {
            skipSpace()
            guard i < b.count else { throw Self.endOfInput }
            guard b[i] == UInt8(ascii: "\"") else { throw invalid("looking for beginning of object key string") }
            let key = try string()
            skipSpace()
            guard i < b.count else { throw Self.endOfInput }
            guard b[i] == UInt8(ascii: ":") else { throw invalid("after object key") }
            i += 1
            members.append((key, try value(context: "looking for beginning of value")))
            skipSpace()
            guard i < b.count else { throw Self.endOfInput }
            if b[i] == UInt8(ascii: ",") { i += 1; continue }
            if b[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
            throw invalid("after object key:value pair")
        }
    }

    private mutating func array() throws(Failure) -> Value {
        i += 1
        skipSpace()
        guard i < b.count else { throw Self.endOfInput }
        if b[i] == UInt8(ascii: "]") { i += 1; return .array }
        while true {
            _ = try value(context: "looking for beginning of value")
            skipSpace()
            guard i < b.count else { throw Self.endOfInput }
            if b[i] == UInt8(ascii: ",") { i += 1; continue }
            if b[i] == UInt8(ascii: "]") { i += 1; return .array }
            throw invalid("after array element")
        }
    }

    private mutating func string() throws(Failure) -> String {
        i += 1
        var out: [UInt8] = []
        var pendingHigh: UInt32? = nil
        func appendScalar(_ v: UInt32, into out: inout [UInt8]) {
            out += Array(String(Unicode.Scalar(v).map(Character.init) ?? "\u{FFFD}").utf8)
        }
        while true {
            guard i < b.count else { throw Self.endOfInput }
            let c = b[i]
            if c == UInt8(ascii: "\"") {
                i += 1
                if pendingHigh != nil { appendScalar(0xFFFD, into: &out) }
                return String(decoding: out, as: UTF8.self)
            }
            if c < 0x20 { throw invalid("in string literal") }
            if c != UInt8(ascii: "\\") {
                if pendingHigh != nil { appendScalar(0xFFFD, into: &out); pendingHigh = nil }
                out.append(c)
                i += 1
                continue
            }
            i += 1
            guard i < b.count else { throw Self.endOfInput }
            let e = b[i]
            i += 1
            let simple: UInt8?
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): simple = e
            case UInt8(ascii: "b"): simple = 0x08
            case UInt8(ascii: "f"): simple = 0x0C
            case UInt8(ascii: "n"): simple = 0x0A
            case UInt8(ascii: "r"): simple = 0x0D
            case UInt8(ascii: "t"): simple = 0x09
            case UInt8(ascii: "u"): simple = nil
            default:
                i -= 1
                throw invalid("in string escape code")
            }
            if let simple {
                if pendingHigh != nil { appendScalar(0xFFFD, into: &out); pendingHigh = nil }
                out.append(simple)
                continue
            }
            var v: UInt32 = 0
            for _ in 0..<4 {
                guard i < b.count else { throw Self.endOfInput }
                guard let h = Self.hex(b[i]) else { throw invalid("in \\u hexadecimal character escape") }
                v = v << 4 | h
                i += 1
            }
            if let high = pendingHigh {
                pendingHigh = nil
                if (0xDC00...0xDFFF).contains(v) {
                    appendScalar(0x10000 + ((high - 0xD800) << 10) + (v - 0xDC00), into: &out)
                    continue
                }
                appendScalar(0xFFFD, into: &out)
            }
            if (0xD800...0xDBFF).contains(v) { pendingHigh = v } else { appendScalar(v, into: &out) }
        }
    }

    private static func hex(_ c: UInt8) -> UInt32? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(c - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(c - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(c - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }

    private mutating func number() throws(Failure) -> String {
        let start = i
        func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
        if b[i] == UInt8(ascii: "-") {
            i += 1
            guard i < b.count else { throw Self.endOfInput }
            guard isDigit(b[i]) else { throw invalid("in numeric literal") }
        }
        if b[i] == UInt8(ascii: "0") {
            i += 1
        } else {
            while i < b.count, isDigit(b[i]) { i += 1 }
        }
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            guard i < b.count else { throw Self.endOfInput }
            guard isDigit(b[i]) else { throw invalid("after decimal point in numeric literal") }
            while i < b.count, isDigit(b[i]) { i += 1 }
        }
        if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            i += 1
            if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
            guard i < b.count else { throw Self.endOfInput }
            guard isDigit(b[i]) else { throw invalid("in exponent of numeric literal") }
            while i < b.count, isDigit(b[i]) { i += 1 }
        }
        return String(decoding: b[start..<i], as: UTF8.self)
    }

    private mutating func literal(_ word: StaticString) throws(Failure) {
        let letters = Array(String(describing: word).utf8)
        let name = String(describing: word)
        i += 1
        for expected in letters.dropFirst() {
            guard i < b.count else { throw Self.endOfInput }
            guard b[i] == expected else {
                throw invalid("in literal \(name) (expecting \(goQuoteChar(expected)))")
            }
            i += 1
        }
    }
}
