import KubeJSON

/// One protobuf watch event. The buffers are only valid during the callback that receives it.
public struct ProtoWatchEvent {
    public var type: WatchEventType
    /// The whole frame, 4-byte length prefix included, for pass-through.
    public var frame: UnsafeRawBufferPointer
    /// The inner envelope's TypeMeta (e.g. `v1` / `Pod`; `v1` / `Status` for ERROR).
    public var typeMeta: ProtoTypeMeta
    /// The object's message (the inner envelope's `raw`): what the cache stores.
    public var object: UnsafeRawBufferPointer
    /// The object's metadata (kind/apiVersion from `typeMeta`). For ERROR events the object
    /// is a `metav1.Status`, whose field 1 is a ListMeta, not an ObjectMeta: `meta` then
    /// holds only kind/apiVersion; read `object` for the Status.
    public var meta: ObjectMeta

    public var owned: OwnedProtoWatchEvent {
        OwnedProtoWatchEvent(type: type, frame: Array(frame), typeMeta: typeMeta, object: Array(object), meta: meta)
    }
}

/// A `ProtoWatchEvent` with copied bytes.
public struct OwnedProtoWatchEvent: Equatable, Sendable {
    public var type: WatchEventType
    public var frame: [UInt8]
    public var typeMeta: ProtoTypeMeta
    public var object: [UInt8]
    public var meta: ObjectMeta
}

/// Incremental splitter for the apiserver's protobuf watch stream
/// (`application/vnd.kubernetes.protobuf;stream=watch`): frames of a 4-byte big-endian
/// length then a `metav1.WatchEvent` {1 type, 2 object RawExtension {1 raw}}, where `raw` is
/// itself `k8s\0` + `runtime.Unknown` around the object's message. (The outer event has no
/// magic of its own: the apiserver encodes it with the raw protobuf serializer.)
///
/// Frames straddling chunks are reassembled in a carry buffer bounded by `maxEventSize`
/// (checked against the length prefix before anything is buffered). A frame that does not
/// parse is a thrown error; no event is emitted for it. After an error the splitter is poisoned.
public struct ProtoWatchSplitter {
    public let maxEventSize: Int
    public let fieldPaths: ProtoFieldPaths
    public private(set) var bytesConsumed = 0
    public private(set) var eventCount = 0

    var header: [UInt8] = []
    var frameLength = 0
    var carry: [UInt8] = []
    var carryStart = 0
    var inBody = false
    var poisoned = false

    public init(maxEventSize: Int = ProtoLimits.defaultMaxItemSize, fieldPaths: ProtoFieldPaths = .none) {
        self.maxEventSize = maxEventSize
        self.fieldPaths = fieldPaths
        header.reserveCapacity(4)
    }

    /// True when no partial frame is buffered (a clean place for the stream to end).
    public var isAtEventBoundary: Bool { !inBody && header.isEmpty && !poisoned }

    public mutating func feed(_ bytes: UnsafeRawBufferPointer, _ emit: (ProtoWatchEvent) throws -> Void) throws {
        guard !poisoned else { throw ProtoError(.poisoned, offset: bytesConsumed) }
        do {
            try feedImpl(bytes, emit)
        } catch {
            poisoned = true
            throw error
        }
        bytesConsumed += bytes.count
    }

    public mutating func feed(_ bytes: UnsafeRawBufferPointer) throws -> [OwnedProtoWatchEvent] {
        var out: [OwnedProtoWatchEvent] = []
        try feed(bytes) { out.append($0.owned) }
        return out
    }

    public mutating func feed(_ bytes: [UInt8]) throws -> [OwnedProtoWatchEvent] {
        try bytes.withUnsafeBytes { try feed($0) }
    }

    /// Declares end of stream; throws `.incomplete` if a partial frame is buffered.
    public mutating func finish() throws(ProtoError) {
        guard !poisoned else { throw ProtoError(.poisoned, offset: bytesConsumed) }
        guard isAtEventBoundary else {
            poisoned = true
            throw ProtoError(.incomplete, offset: bytesConsumed)
        }
    }

    private mutating func feedImpl(_ buf: UnsafeRawBufferPointer, _ emit: (ProtoWatchEvent) throws -> Void) throws {
        let n = buf.count
        let base = bytesConsumed
        var i = 0
        while i < n {
            if inBody {
                let take = min(frameLength + 4 - carry.count, n - i)
                carry.append(contentsOf: UnsafeRawBufferPointer(rebasing: buf[i..<(i + take)]))
                i += take
                guard carry.count == frameLength + 4 else { continue }
                inBody = false
                var bytes: [UInt8] = []
                swap(&bytes, &carry)
                defer {
                    swap(&bytes, &carry)
                    if carry.capacity > 1 << 20 { carry = [] } else { carry.removeAll(keepingCapacity: true) }
                }
                let start = carryStart
                try bytes.withUnsafeBytes { b in try emitFrame(b, base: start, emit) }
                continue
            }
            if header.isEmpty && n - i >= 4 {
                // Fast path: header in this chunk.
                let len = Self.length(buf, i)
                try check(len, offset: base + i)
                if n - i - 4 >= len {
                    try emitFrame(UnsafeRawBufferPointer(rebasing: buf[i..<(i + 4 + len)]), base: base + i, emit)
                    i += 4 + len
                    continue
                }
                startCarry(buf[i..<(i + 4)], length: len, at: base + i)
                i += 4
                continue
            }
            if header.isEmpty { carryStart = base + i }
            header.append(buf[i])
            i += 1
            if header.count == 4 {
                let len = header.withUnsafeBytes { Self.length($0, 0) }
                try check(len, offset: carryStart)
                let h = header
                header.removeAll(keepingCapacity: true)
                startCarry(h[...], length: len, at: carryStart)
                if len == 0 {
                    // Nothing more to read: parse (and reject) the empty frame now.
                    inBody = false
                    let bytes = carry
                    carry.removeAll(keepingCapacity: true)
                    let start = carryStart
                    try bytes.withUnsafeBytes { b in try emitFrame(b, base: start, emit) }
                }
            }
        }
    }

    private static func length(_ b: UnsafeRawBufferPointer, _ i: Int) -> Int {
        Int(b[i]) << 24 | Int(b[i + 1]) << 16 | Int(b[i + 2]) << 8 | Int(b[i + 3])
    }

    private func check(_ len: Int, offset: Int) throws(ProtoError) {
        guard len + 4 <= maxEventSize else { throw ProtoError(.itemTooLarge(limit: maxEventSize), offset: offset) }
    }

    private mutating func startCarry(_ h: ArraySlice<UInt8>, length: Int, at offset: Int) {
        carry.removeAll(keepingCapacity: true)
        carry.reserveCapacity(length + 4)
        carry.append(contentsOf: h)
        frameLength = length
        carryStart = offset
        inBody = true
    }

    private mutating func startCarry(_ h: Slice<UnsafeRawBufferPointer>, length: Int, at offset: Int) {
        carry.removeAll(keepingCapacity: true)
        carry.reserveCapacity(length + 4)
        carry.append(contentsOf: h)
        frameLength = length
        carryStart = offset
        inBody = true
    }

    private mutating func emitFrame(_ frame: UnsafeRawBufferPointer, base: Int,
                                    _ emit: (ProtoWatchEvent) throws -> Void) throws {
        let ev = try Self.parseFrame(frame, base: base, fieldPaths)
        eventCount += 1
        try emit(ProtoWatchEvent(type: ev.type, frame: frame, typeMeta: ev.typeMeta,
                                 object: UnsafeRawBufferPointer(rebasing: frame[ev.object]), meta: ev.meta))
    }

    struct ParsedEvent {
        var type: WatchEventType
        var typeMeta: ProtoTypeMeta
        /// Range of the object message inside the frame.
        var object: Range<Int>
        var meta: ObjectMeta
    }

    /// Parses one complete frame (length prefix included).
    static func parseFrame(_ frame: UnsafeRawBufferPointer, base: Int, _ paths: ProtoFieldPaths) throws(ProtoError) -> ParsedEvent {
        var r = ProtoReader(UnsafeRawBufferPointer(rebasing: frame[4...]), base: base + 4)
        var type: String?
        var raw: Range<Int>?  // relative to frame
        while !r.isAtEnd {
            let at = r.offset
            let tag = try r.readTag()
            switch tag.field {
            case 1:
                type = try r.readString(tag, tagOffset: at)
            case 2:
                try r.expect(tag, .lengthDelimited, tagOffset: at)
                let ext = try r.readLengthDelimited()
                let extStart = 4 + r.offset - ext.count
                // RawExtension {1 raw}; the last raw wins.
                var e = ProtoReader(ext, base: base + extStart)
                while !e.isAtEnd {
                    let eat = e.offset
                    let t = try e.readTag()
                    if t.field == 1 {
                        try e.expect(t, .lengthDelimited, tagOffset: eat)
                        let p = try e.readLengthDelimited()
                        let s = extStart + e.offset - p.count
                        raw = s..<(s + p.count)
                    } else {
                        try e.skip(t, tagOffset: eat)
                    }
                }
            default:
                try r.skip(tag, tagOffset: at)
            }
        }
        guard let type, let raw else { throw ProtoError(.invalidWatchEvent, offset: base) }
        let rawBytes = UnsafeRawBufferPointer(rebasing: frame[raw])
        let env = try ProtoEnvelope.parse(rawBytes, base: base + raw.lowerBound)
        let object = (raw.lowerBound + env.raw.lowerBound)..<(raw.lowerBound + env.raw.upperBound)
        let eventType = WatchEventType(type)
        let meta: ObjectMeta
        if eventType == .error {
            var m = ObjectMeta()
            m.kind = env.typeMeta.kind.isEmpty ? nil : env.typeMeta.kind
            m.apiVersion = env.typeMeta.apiVersion.isEmpty ? nil : env.typeMeta.apiVersion
            // Framing check only: a Status is not an object with ObjectMeta.
            var s = ProtoReader(UnsafeRawBufferPointer(rebasing: frame[object]), base: base + object.lowerBound)
            try s.validateToEnd()
            meta = m
        } else {
            meta = try ProtoObjectMeta.parse(UnsafeRawBufferPointer(rebasing: frame[object]), fields: paths,
                                             typeMeta: env.typeMeta, base: base + object.lowerBound)
        }
        return ParsedEvent(type: eventType, typeMeta: env.typeMeta, object: object, meta: meta)
    }
}
