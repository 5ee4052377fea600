/// The `type` of a watch event.
public enum WatchEventType: Hashable, Sendable, CustomStringConvertible {
    case added, modified, deleted, bookmark, error
    case unknown(String)

    public init(_ s: String) {
        switch s {
        case "ADDED": self = .added
        case "MODIFIED": self = .modified
        case "DELETED": self = .deleted
        case "BOOKMARK": self = .bookmark
        case "ERROR": self = .error
        default: self = .unknown(s)
        }
    }

    public var rawValue: String {
        switch self {
        case .added: return "ADDED"
        case .modified: return "MODIFIED"
        case .deleted: return "DELETED"
        case .bookmark: return "BOOKMARK"
        case .error: return "ERROR"
        case .unknown(let s): return s
        }
    }

    public var description: String { rawValue }
}

/// One watch event. The buffers are only valid during the callback that receives it.
public struct WatchEvent {
    public var type: WatchEventType
    /// Exact bytes of the `"object"` value.
    public var objectBytes: UnsafeRawBufferPointer
    /// Exact bytes of the whole event object (without surrounding whitespace/newline).
    public var eventBytes: UnsafeRawBufferPointer
    public var meta: ObjectMeta

    public var owned: OwnedWatchEvent {
        OwnedWatchEvent(type: type, objectBytes: Array(objectBytes), eventBytes: Array(eventBytes), meta: meta)
    }
}

/// A `WatchEvent` with copied bytes.
public struct OwnedWatchEvent: Equatable, Sendable {
    public var type: WatchEventType
    public var objectBytes: [UInt8]
    public var eventBytes: [UInt8]
    public var meta: ObjectMeta
}

/// Incremental splitter for the apiserver's JSON watch stream: a sequence of
/// `{"type":"ADDED","object":{...}}` objects separated by optional whitespace.
/// Events straddling chunks are reassembled in a carry buffer bounded by `maxEventSize`.
/// After an error the splitter is poisoned.
public struct WatchEventSplitter {
    public let maxEventSize: Int
    public let fieldPaths: FieldPaths
    public private(set) var bytesConsumed = 0
    public private(set) var eventCount = 0
    var carry = CarryBuffer()
    var poisoned = false

    public init(maxEventSize: Int = JSONLimits.defaultMaxItemSize, fieldPaths: FieldPaths = .none) {
        self.maxEventSize = maxEventSize
        self.fieldPaths = fieldPaths
    }

    /// True when no partial event is buffered (a clean place for the stream to end).
    public var isAtEventBoundary: Bool { !carry.active && !poisoned }

    public mutating func feed(_ bytes: UnsafeRawBufferPointer, _ emit: (WatchEvent) throws -> Void) throws {
        guard !poisoned else { throw JSONError(.poisoned, offset: bytesConsumed) }
        do {
            try feedImpl(bytes, emit)
        } catch {
            poisoned = true
            throw error
        }
        bytesConsumed += bytes.count
    }

    public mutating func feed(_ bytes: UnsafeRawBufferPointer) throws -> [OwnedWatchEvent] {
        var out: [OwnedWatchEvent] = []
        try feed(bytes) { out.append($0.owned) }
        return out
    }

    public mutating func feed(_ bytes: [UInt8]) throws -> [OwnedWatchEvent] {
        try bytes.withUnsafeBytes { try feed($0) }
    }

    /// Declares end of stream; throws `.incomplete` if a partial event is buffered.
    public mutating func finish() throws(JSONError) {
        guard !poisoned else { throw JSONError(.poisoned, offset: bytesConsumed) }
        if carry.active {
            poisoned = true
            throw JSONError(.incomplete, offset: bytesConsumed)
        }
    }

    private mutating func feedImpl(_ buf: UnsafeRawBufferPointer, _ emit: (WatchEvent) throws -> Void) throws {
        let n = buf.count
        var i = 0
        if carry.active {
            guard let end = carry.scan.scan(buf, from: 0) else {
                try carry.append(buf, 0..<n, limit: maxEventSize)
                return
            }
            try carry.append(buf, 0..<end, limit: maxEventSize)
            let base = carry.startOffset
            let paths = fieldPaths
            eventCount += 1
            try carry.bytes.withUnsafeBytes { b in
                var cur = Cursor(b, pos: 0, base: base, isFinal: true)
                let ev = try Self.parseEvent(&cur, paths)
                guard cur.pos == b.count else { throw cur.error(.trailingData) }
                try emit(WatchEvent(type: ev.type, objectBytes: UnsafeRawBufferPointer(rebasing: b[ev.object]),
                                    eventBytes: b, meta: ev.meta))
            }
            carry.end()
            i = end
        }
        while i < n {
            let c = buf[i]
            if ASCII.isWS(c) { i += 1; continue }
            guard c == ASCII.lbrace else { throw JSONError(.unexpectedByte(c), offset: bytesConsumed + i) }
            var cur = Cursor(buf, pos: i, base: bytesConsumed, isFinal: false)
            let ev: ParsedEvent
            switch Self.parseEventResult(&cur, fieldPaths) {
            case .success(let e):
                ev = e
            case .failure(let error):
                guard error.kind == .unexpectedEnd else { throw error }
                if n - i > maxEventSize {
                    throw JSONError(.valueTooLarge(limit: maxEventSize), offset: bytesConsumed + i)
                }
                carry.begin(at: bytesConsumed + i)
                if let end = carry.scan.scan(buf, from: i) {
                    // Truncated per the strict parser yet structurally closed: report it.
                    throw JSONError(.unexpectedEnd, offset: bytesConsumed + end)
                }
                try carry.append(buf, i..<n, limit: maxEventSize)
                return
            }
            if cur.pos - i > maxEventSize {
                throw JSONError(.valueTooLarge(limit: maxEventSize), offset: bytesConsumed + i)
            }
            eventCount += 1
            try emit(WatchEvent(type: ev.type, objectBytes: UnsafeRawBufferPointer(rebasing: buf[ev.object]),
                                eventBytes: UnsafeRawBufferPointer(rebasing: buf[i..<cur.pos]), meta: ev.meta))
            i = cur.pos
        }
    }

    struct ParsedEvent {
        var type: WatchEventType
        /// Range relative to the event's buffer.
        var object: Range<Int>
        var meta: ObjectMeta
    }

    static func parseEventResult(_ c: inout Cursor, _ paths: FieldPaths) -> Result<ParsedEvent, JSONError> {
        do { return .success(try parseEvent(&c, paths)) } catch { return .failure(error) }
    }

    static func parseEvent(_ c: inout Cursor, _ paths: FieldPaths) throws(JSONError) -> ParsedEvent {
        let start = c.pos
        var type: String?
        var object: Range<Int>?
        var meta = ObjectMeta()
        if try c.beginObject() {
            repeat {
                let k = try c.key()
                if c.keyEquals(k, "type") {
                    type = try ObjectMeta.readOptionalString(&c)
                } else if c.keyEquals(k, "object") {
                    let b = try c.peek()
                    guard b == ASCII.lbrace else { throw c.error(.invalidWatchEvent) }
                    let s = c.pos
                    meta = try ObjectMeta.parseObject(&c, paths)
                    object = s..<c.pos
                } else {
                    try c.skipValue()
                }
            } while try c.commaOrClose(ASCII.rbrace)
        }
        guard let type, let object else { throw c.error(.invalidWatchEvent, at: start) }
        return ParsedEvent(type: WatchEventType(type), object: object, meta: meta)
    }
}
