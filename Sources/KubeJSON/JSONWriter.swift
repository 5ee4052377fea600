/// Byte-oriented JSON output helpers that match Go's encoding/json (as used by the apiserver).
public enum JSONWriter {
    @usableFromInline static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// Appends `s` as a JSON string literal (with quotes). Like Go's encoding/json:
    /// `\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f`, other control bytes as `\u00XX`,
    /// U+2028/U+2029 as `\u2028`/`\u2029`, and — when `htmlSafe` (Go's default) —
    /// `<`, `>`, `&` as `\u003c`, `\u003e`, `\u0026`.
    public static func appendString(_ s: String, to out: inout [UInt8], htmlSafe: Bool = true) {
        out.append(ASCII.quote)
        var s = s
        s.withUTF8 { u in
            var i = 0
            let n = u.count
            var runStart = 0
            @inline(__always) func flush(_ end: Int) {
                if end > runStart { out.append(contentsOf: UnsafeBufferPointer(rebasing: u[runStart..<end])) }
            }
            while i < n {
                let c = u[i]
                var esc: (UInt8, UInt8)? = nil   // short escape
                var uEsc: UInt16? = nil
                var width = 1
                switch c {
                case ASCII.quote: esc = (ASCII.backslash, ASCII.quote)
                case ASCII.backslash: esc = (ASCII.backslash, ASCII.backslash)
                case ASCII.lf: esc = (ASCII.backslash, 0x6E)
                case ASCII.cr: esc = (ASCII.backslash, 0x72)
                case ASCII.tab: esc = (ASCII.backslash, 0x74)
                case 0x08: esc = (ASCII.backslash, 0x62)
                case 0x0C: esc = (ASCII.backslash, 0x66)
                case 0x3C where htmlSafe, 0x3E where htmlSafe, 0x26 where htmlSafe: uEsc = UInt16(c)
                case 0..<0x20: uEsc = UInt16(c)
                case 0xE2 where i + 2 < n && u[i + 1] == 0x80 && (u[i + 2] == 0xA8 || u[i + 2] == 0xA9):
                    uEsc = u[i + 2] == 0xA8 ? 0x2028 : 0x2029
                    width = 3
                default: break
                }
                if esc == nil && uEsc == nil { i += 1; continue }
                flush(i)
                if let (a, b) = esc {
                    out.append(a); out.append(b)
                } else if let v = uEsc {
                    out.append(ASCII.backslash); out.append(ASCII.u)
                    out.append(hex[Int(v >> 12) & 0xF]); out.append(hex[Int(v >> 8) & 0xF])
                    out.append(hex[Int(v >> 4) & 0xF]); out.append(hex[Int(v) & 0xF])
                }
                i += width
                runStart = i
            }
            flush(n)
        }
        out.append(ASCII.quote)
    }

    /// `s` as a JSON string literal.
    public static func quoted(_ s: String, htmlSafe: Bool = true) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count + 2)
        appendString(s, to: &out, htmlSafe: htmlSafe)
        return String(decoding: out, as: UTF8.self)
    }

    @inlinable public static func appendRaw(_ s: StaticString, to out: inout [UInt8]) {
        out.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    public static func appendInt<I: BinaryInteger>(_ v: I, to out: inout [UInt8]) {
        out.append(contentsOf: String(v).utf8)
    }
}

// MARK: - Status

/// Standard `metav1.StatusReason` values with the HTTP codes the apiserver pairs them with.
public enum StatusReason: String, Sendable, CaseIterable {
    case unknown = ""
    case unauthorized = "Unauthorized"
    case forbidden = "Forbidden"
    case notFound = "NotFound"
    case alreadyExists = "AlreadyExists"
    case conflict = "Conflict"
    case gone = "Gone"
    case invalid = "Invalid"
    case serverTimeout = "ServerTimeout"
    case timeout = "Timeout"
    case tooManyRequests = "TooManyRequests"
    case badRequest = "BadRequest"
    case methodNotAllowed = "MethodNotAllowed"
    case notAcceptable = "NotAcceptable"
    case requestEntityTooLarge = "RequestEntityTooLarge"
    case unsupportedMediaType = "UnsupportedMediaType"
    case internalError = "InternalError"
    case expired = "Expired"
    case serviceUnavailable = "ServiceUnavailable"

    /// The HTTP status code documented for this reason in apimachinery's metav1 types
    /// (ServerTimeout is 500 there; Timeout is 504).
    public var httpCode: Int {
        switch self {
        case .unknown: return 500
        case .unauthorized: return 401
        case .forbidden: return 403
        case .notFound: return 404
        case .alreadyExists, .conflict: return 409
        case .gone, .expired: return 410
        case .invalid: return 422
        case .serverTimeout: return 500
        case .timeout: return 504
        case .tooManyRequests: return 429
        case .badRequest: return 400
        case .methodNotAllowed: return 405
        case .notAcceptable: return 406
        case .requestEntityTooLarge: return 413
        case .unsupportedMediaType: return 415
        case .internalError: return 500
        case .serviceUnavailable: return 503
        }
    }
}

/// `metav1.StatusCause`. Serialized as `{"reason":..,"message":..,"field":..}`, empty fields omitted.
public struct StatusCause: Sendable, Equatable {
    public var reason: String
    public var message: String
    public var field: String
    public init(reason: String = "", message: String = "", field: String = "") {
        self.reason = reason; self.message = message; self.field = field
    }
}

/// `metav1.StatusDetails`. Field order and omission follow the Go struct.
public struct StatusDetails: Sendable, Equatable {
    public var name: String
    public var group: String
    public var kind: String
    public var uid: String
    public var causes: [StatusCause]
    public var retryAfterSeconds: Int
    public init(name: String = "", group: String = "", kind: String = "", uid: String = "",
                causes: [StatusCause] = [], retryAfterSeconds: Int = 0) {
        self.name = name; self.group = group; self.kind = kind; self.uid = uid
        self.causes = causes; self.retryAfterSeconds = retryAfterSeconds
    }
}

/// A `metav1.Status` body.
public struct StatusBody: Sendable, Equatable {
    public var status: String
    public var message: String
    public var reason: String
    public var details: StatusDetails?
    public var code: Int

    public init(status: String = "Failure", message: String, reason: StatusReason,
                details: StatusDetails? = nil, code: Int? = nil) {
        self.status = status
        self.message = message
        self.reason = reason.rawValue
        self.details = details
        self.code = code ?? reason.httpCode
    }

    /// Serializes exactly like the apiserver: `{"kind":"Status","apiVersion":"v1","metadata":{},
    /// "status":..,"message":..,"reason":..,"details":{..},"code":N}` with empty fields omitted,
    /// followed by `\n` (Go's json.Encoder) unless `trailingNewline` is false.
    public func serialized(trailingNewline: Bool = true) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(128 + message.utf8.count)
        write(to: &out, trailingNewline: trailingNewline)
        return out
    }

    public func write(to out: inout [UInt8], trailingNewline: Bool = true) {
        JSONWriter.appendRaw(#"{"kind":"Status","apiVersion":"v1","metadata":{}"#, to: &out)
        func field(_ name: StaticString, _ v: String) {
            guard !v.isEmpty else { return }
            out.append(ASCII.comma); out.append(ASCII.quote)
            JSONWriter.appendRaw(name, to: &out)
            out.append(ASCII.quote); out.append(ASCII.colon)
            JSONWriter.appendString(v, to: &out)
        }
        field("status", status)
        field("message", message)
        field("reason", reason)
        if let d = details {
            JSONWriter.appendRaw(#","details":{"#, to: &out)
            var first = true
            func dfield(_ name: StaticString, _ v: String) {
                guard !v.isEmpty else { return }
                if !first { out.append(ASCII.comma) }
                first = false
                out.append(ASCII.quote); JSONWriter.appendRaw(name, to: &out); out.append(ASCII.quote); out.append(ASCII.colon)
                JSONWriter.appendString(v, to: &out)
            }
            dfield("name", d.name)
            dfield("group", d.group)
            dfield("kind", d.kind)
            dfield("uid", d.uid)
            if !d.causes.isEmpty {
                if !first { out.append(ASCII.comma) }
                first = false
                JSONWriter.appendRaw(#""causes":["#, to: &out)
                for (ci, c) in d.causes.enumerated() {
                    if ci > 0 { out.append(ASCII.comma) }
                    out.append(ASCII.lbrace)
                    var cfirst = true
                    for (name, v) in [("reason", c.reason), ("message", c.message), ("field", c.field)] where !v.isEmpty {
                        if !cfirst { out.append(ASCII.comma) }
                        cfirst = false
                        JSONWriter.appendString(name, to: &out); out.append(ASCII.colon)
                        JSONWriter.appendString(v, to: &out)
                    }
                    out.append(ASCII.rbrace)
                }
                out.append(ASCII.rbracket)
            }
            if d.retryAfterSeconds != 0 {
                if !first { out.append(ASCII.comma) }
                JSONWriter.appendRaw(#""retryAfterSeconds":"#, to: &out)
                JSONWriter.appendInt(d.retryAfterSeconds, to: &out)
            }
            out.append(ASCII.rbrace)
        }
        if code != 0 {
            JSONWriter.appendRaw(#","code":"#, to: &out)
            JSONWriter.appendInt(code, to: &out)
        }
        out.append(ASCII.rbrace)
        if trailingNewline { out.append(ASCII.lf) }
    }
}

// MARK: - List building

/// Streams a List body: `{"kind":K,"apiVersion":V,"metadata":{"resourceVersion":..,"continue":..,
/// "remainingItemCount":N},"items":[...]}\n` in the apiserver's field order (ListMeta fields
/// omitted when empty). Use `begin`, `append(item:)` per item, then `end`, flushing `out`
/// whenever convenient; or the one-shot `build`.
public struct ListBuilder: Sendable {
    public var kind: String
    public var apiVersion: String
    public var resourceVersion: String
    public var continueToken: String
    public var remainingItemCount: Int64?
    public private(set) var itemCount = 0

    public init(kind: String, apiVersion: String, resourceVersion: String = "", continueToken: String = "",
                remainingItemCount: Int64? = nil) {
        self.kind = kind
        self.apiVersion = apiVersion
        self.resourceVersion = resourceVersion
        self.continueToken = continueToken
        self.remainingItemCount = remainingItemCount
    }

    /// Writes everything up to and including `"items":[`.
    public func begin(into out: inout [UInt8]) {
        JSONWriter.appendRaw(#"{"kind":"#, to: &out)
        JSONWriter.appendString(kind, to: &out)
        JSONWriter.appendRaw(#","apiVersion":"#, to: &out)
        JSONWriter.appendString(apiVersion, to: &out)
        JSONWriter.appendRaw(#","metadata":{"#, to: &out)
        var first = true
        if !resourceVersion.isEmpty {
            JSONWriter.appendRaw(#""resourceVersion":"#, to: &out)
            JSONWriter.appendString(resourceVersion, to: &out)
            first = false
        }
        if !continueToken.isEmpty {
            if !first { out.append(ASCII.comma) }
            JSONWriter.appendRaw(#""continue":"#, to: &out)
            JSONWriter.appendString(continueToken, to: &out)
            first = false
        }
        if let r = remainingItemCount {
            if !first { out.append(ASCII.comma) }
            JSONWriter.appendRaw(#""remainingItemCount":"#, to: &out)
            JSONWriter.appendInt(r, to: &out)
        }
        JSONWriter.appendRaw(#"},"items":["#, to: &out)
    }

    /// Appends one item's exact JSON bytes (must be a complete object).
    public mutating func append(item: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        if itemCount > 0 { out.append(ASCII.comma) }
        out.append(contentsOf: item)
        itemCount += 1
    }

    public mutating func append(item: [UInt8], into out: inout [UInt8]) {
        item.withUnsafeBytes { append(item: $0, into: &out) }
    }

    /// Writes `]}` and the trailing newline.
    public func end(into out: inout [UInt8], trailingNewline: Bool = true) {
        out.append(ASCII.rbracket)
        out.append(ASCII.rbrace)
        if trailingNewline { out.append(ASCII.lf) }
    }

    /// One-shot list body.
    public static func build<S: Sequence>(kind: String, apiVersion: String, resourceVersion: String = "",
                                          continueToken: String = "", remainingItemCount: Int64? = nil,
                                          items: S, trailingNewline: Bool = true) -> [UInt8] where S.Element == [UInt8] {
        var b = ListBuilder(kind: kind, apiVersion: apiVersion, resourceVersion: resourceVersion,
                            continueToken: continueToken, remainingItemCount: remainingItemCount)
        var out: [UInt8] = []
        b.begin(into: &out)
        for item in items { b.append(item: item, into: &out) }
        b.end(into: &out, trailingNewline: trailingNewline)
        return out
    }
}

// MARK: - Watch events

/// Frames watch events the way the apiserver's JSON watch encoder does:
/// `{"type":"ADDED","object":{...}}\n`.
public enum WatchEventWriter {
    public static func write(type: WatchEventType, object: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        JSONWriter.appendRaw(#"{"type":"#, to: &out)
        JSONWriter.appendString(type.rawValue, to: &out)
        JSONWriter.appendRaw(#","object":"#, to: &out)
        out.append(contentsOf: object)
        out.append(ASCII.rbrace)
        out.append(ASCII.lf)
    }

    public static func event(type: WatchEventType, object: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(object.count + 32)
        object.withUnsafeBytes { write(type: type, object: $0, into: &out) }
        return out
    }

    /// The object a BOOKMARK event carries: an empty object of `kind` with only
    /// `metadata.resourceVersion` set, serialized like the apiserver serializes an empty
    /// typed object. For `Pod` (apiVersion `v1`) that includes `"spec":{"containers":null},"status":{}`;
    /// for other kinds only kind, apiVersion and metadata are written (what clients read),
    /// unless `bodyTail` supplies the raw remaining members (e.g. `"spec":{},"status":{}`).
    /// `annotations` (e.g. `["k8s.io/initial-events-end": "true"]`) go after creationTimestamp,
    /// in the order given.
    public static func bookmarkObject(kind: String, apiVersion: String, resourceVersion: String,
                                      annotations: [(String, String)] = [], bodyTail: String? = nil,
                                      nullCreationTimestamp: Bool = true) -> [UInt8] {
        var out: [UInt8] = []
        JSONWriter.appendRaw(#"{"kind":"#, to: &out)
        JSONWriter.appendString(kind, to: &out)
        JSONWriter.appendRaw(#","apiVersion":"#, to: &out)
        JSONWriter.appendString(apiVersion, to: &out)
        JSONWriter.appendRaw(#","metadata":{"resourceVersion":"#, to: &out)
        JSONWriter.appendString(resourceVersion, to: &out)
        if nullCreationTimestamp { JSONWriter.appendRaw(#","creationTimestamp":null"#, to: &out) }
        if !annotations.isEmpty {
            JSONWriter.appendRaw(#","annotations":{"#, to: &out)
            for (i, (k, v)) in annotations.enumerated() {
                if i > 0 { out.append(ASCII.comma) }
                JSONWriter.appendString(k, to: &out)
                out.append(ASCII.colon)
                JSONWriter.appendString(v, to: &out)
            }
            out.append(ASCII.rbrace)
        }
        out.append(ASCII.rbrace)
        let tail = bodyTail ?? defaultBookmarkTail(kind: kind, apiVersion: apiVersion)
        if !tail.isEmpty {
            out.append(ASCII.comma)
            out.append(contentsOf: tail.utf8)
        }
        out.append(ASCII.rbrace)
        return out
    }

    static func defaultBookmarkTail(kind: String, apiVersion: String) -> String {
        switch (apiVersion, kind) {
        case ("v1", "Pod"): return #""spec":{"containers":null},"status":{}"#
        default: return ""
        }
    }

    /// A complete BOOKMARK event line.
    public static func bookmark(kind: String, apiVersion: String, resourceVersion: String,
                                annotations: [(String, String)] = [], bodyTail: String? = nil,
                                nullCreationTimestamp: Bool = true) -> [UInt8] {
        event(type: .bookmark, object: bookmarkObject(kind: kind, apiVersion: apiVersion,
                                                       resourceVersion: resourceVersion, annotations: annotations,
                                                       bodyTail: bodyTail, nullCreationTimestamp: nullCreationTimestamp))
    }
}
