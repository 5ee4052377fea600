import KubeJSON

/// One piece of a protobuf List body, as emitted by `ProtoListSplitter`.
///
/// The buffers are only valid during the callback that receives them. Concatenating every
/// segment's bytes (`frame` for items) in emission order reproduces the input exactly.
/// `prefix` is everything before the first item (magic, envelope header, ListMeta, …) and
/// may arrive in several pieces; `suffix` is every non-item byte after the first item (the
/// envelope's fields 3/4, a ListMeta written after the items, masked items, …). If the
/// list has no items, every byte is `prefix`.
public enum ProtoListSegment {
    case prefix(UnsafeRawBufferPointer)
    /// `frame` is the item's field-2 tag + length + message, so a tee can forward it or
    /// replace it (`ProtoListSplitter.mask(frame:)`); `message` is the object message (no
    /// TypeMeta: list items carry none).
    case item(frame: UnsafeRawBufferPointer, message: UnsafeRawBufferPointer, meta: ObjectMeta)
    case suffix(UnsafeRawBufferPointer)

    /// A copy that outlives the callback.
    public var owned: OwnedProtoListSegment {
        switch self {
        case .prefix(let b): return .prefix(Array(b))
        case .item(let f, let m, let meta): return .item(frame: Array(f), message: Array(m), meta: meta)
        case .suffix(let b): return .suffix(Array(b))
        }
    }
}

/// A `ProtoListSegment` with copied bytes.
public enum OwnedProtoListSegment: Equatable, Sendable {
    case prefix([UInt8])
    case item(frame: [UInt8], message: [UInt8], meta: ObjectMeta)
    case suffix([UInt8])
}

/// List-level facts gathered while splitting. Empty strings on the wire (the apiserver
/// always writes `resourceVersion` and `continue`) are reported as nil, like absent JSON keys.
public struct ProtoListInfo: Equatable, Sendable {
    public var apiVersion: String?
    public var kind: String?
    public var resourceVersion: String?
    public var continueToken: String?
    public var remainingItemCount: Int64?
    /// Number of items emitted so far.
    public var itemCount = 0
    public init() {}

    /// The TypeMeta the items would carry on their own (`v1`/`PodList` → `v1`/`Pod`), for
    /// storing them as gets and watch events. Nil until the envelope's typeMeta was seen
    /// (the apiserver writes it before the items) or if the kind does not end in `List`.
    public var itemTypeMeta: ProtoTypeMeta? {
        guard let kind, kind.hasSuffix("List"), kind.count > 4 else { return nil }
        return ProtoTypeMeta(apiVersion: apiVersion ?? "", kind: String(kind.dropLast(4)))
    }
}

/// Incremental, resumable splitter for a protobuf List body: `k8s\0`, then a
/// `runtime.Unknown` whose `raw` (field 2) is e.g. a `PodList` {1 ListMeta, 2 repeated items}.
///
/// Feed it arbitrary chunks (one byte at a time works); it emits the prefix, each complete
/// item with its `ObjectMeta`, and the suffix. Only one item is buffered at a time, bounded
/// by `maxItemSize`; the list itself is never held. The envelope and list framing are
/// validated (lengths must nest exactly); items are checked by the metadata extraction.
/// `finish()` throws unless the body ended exactly at the end of the envelope (outside any
/// field, after `raw`), so a truncated body can never be mistaken for a complete list.
/// After any error the splitter is poisoned.
///
/// Item bytes are never emitted as prefix/suffix, not even the first bytes of an item's
/// header that arrived in an earlier chunk (they are held until the field number is known),
/// so a tee can drop or replace every item it forwards.
public struct ProtoListSplitter {
    public let maxItemSize: Int
    public let fieldPaths: ProtoFieldPaths
    /// List-level metadata. Authoritative after `finish()` (ListMeta may follow the items).
    public private(set) var info = ProtoListInfo()
    /// Total bytes fed so far.
    public private(set) var bytesConsumed = 0

    enum Level { case envelope, list }
    enum Purpose { case typeMeta, listMeta, item }
    enum State {
        case magic(Int)
        /// At a field boundary, or inside a tag/length header (bytes in `hdr`).
        case header
        case skipVarint(Int)
        case skipFixed(Int)
        case skipBytes(Int)
        /// Buffering the rest of a length-delimited payload.
        case collect(Int, Purpose)
    }

    var state: State = .magic(0)
    var level: Level = .envelope
    /// Absolute offset where the envelope's `raw` (the list message) ends.
    var listEnd = 0
    var sawRaw = false
    var groups: [Int] = []
    var itemsStarted = false
    var poisoned = false

    // Header in progress.
    var hdr: [UInt8] = []
    var hdrStart = 0
    var tag: ProtoTag?
    var tagBytes = 0
    var varint = VarintAccumulator()
    /// How many bytes of `hdr` arrived in earlier chunks (not yet emitted anywhere).
    var withheld = 0

    // Payload being buffered (an item's frame, or a TypeMeta/ListMeta message).
    var carry: [UInt8] = []
    var carryStart = 0
    var carryHeader = 0

    public init(maxItemSize: Int = ProtoLimits.defaultMaxItemSize, fieldPaths: ProtoFieldPaths = .none) {
        self.maxItemSize = maxItemSize
        self.fieldPaths = fieldPaths
        hdr.reserveCapacity(20)
    }

    /// Whether the body seen so far is a complete list (more envelope fields may follow).
    public var isComplete: Bool {
        guard !poisoned, sawRaw, case .header = state, hdr.isEmpty, groups.isEmpty else { return false }
        return level == .envelope || bytesConsumed == listEnd
    }

    /// Feeds the next chunk. `emit` receives segments whose buffers are valid only during
    /// the call. Errors from `emit` are rethrown (and poison the splitter).
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, _ emit: (ProtoListSegment) throws -> Void) throws {
        guard !poisoned else { throw ProtoError(.poisoned, offset: bytesConsumed) }
        do {
            try feedImpl(bytes, emit)
        } catch {
            poisoned = true
            throw error
        }
        bytesConsumed += bytes.count
    }

    /// Convenience: feeds a chunk and returns copies of the emitted segments.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) throws -> [OwnedProtoListSegment] {
        var out: [OwnedProtoListSegment] = []
        try feed(bytes) { out.append($0.owned) }
        return out
    }

    public mutating func feed(_ bytes: [UInt8]) throws -> [OwnedProtoListSegment] {
        try bytes.withUnsafeBytes { try feed($0) }
    }

    /// Declares end of input. Throws `.incomplete` (with the stream offset) unless the body
    /// ended exactly at the end of a complete envelope with a `raw` list. Returns the final info.
    @discardableResult
    public mutating func finish() throws(ProtoError) -> ProtoListInfo {
        guard !poisoned else { throw ProtoError(.poisoned, offset: bytesConsumed) }
        guard isComplete else {
            poisoned = true
            throw ProtoError(.incomplete, offset: bytesConsumed)
        }
        return info
    }

    /// The field number masked items are moved to: unused by every Kubernetes List message
    /// (they have only 1 metadata and 2 items), and its wire-type-2 tag `0x7A` is one byte,
    /// like field 2's `0x12`.
    public static let maskField = 15

    /// A same-length replacement for an item `frame`: the same length varint under field 15
    /// (wire type 2) and a zeroed payload, which every protobuf decoder skips as an unknown
    /// field. The envelope's `raw` length was sent before the items, so a dropped item cannot
    /// be removed — only hidden.
    public static func mask(frame: UnsafeRawBufferPointer) throws(ProtoError) -> [UInt8] {
        var r = ProtoReader(frame)
        let t = try r.readTag()
        guard t.field == 2, t.wireType == .lengthDelimited else {
            throw ProtoError(.wrongWireType(field: t.field, wireType: t.wireType.rawValue), offset: 0)
        }
        let tagLen = r.offset
        let payload = try r.readLengthDelimited()
        guard r.isAtEnd else { throw ProtoError(.lengthTooLarge, offset: r.offset) }
        var out = [UInt8](repeating: 0, count: frame.count)
        // Field 15 wire type 2 = 0x7A, padded (non-minimal varint) if field 2's tag was.
        if tagLen == 1 {
            out[0] = 0x7A
        } else {
            out[0] = 0xFA
            for k in 1..<(tagLen - 1) { out[k] = 0x80 }
            out[tagLen - 1] = 0x00
        }
        for k in tagLen..<(frame.count - payload.count) { out[k] = frame[k] }
        return out
    }

    public static func mask(frame: [UInt8]) throws(ProtoError) -> [UInt8] {
        let r: Result<[UInt8], ProtoError> = frame.withUnsafeBytes { b in
            Result { () throws(ProtoError) -> [UInt8] in try mask(frame: b) }
        }
        return try r.get()
    }

    // MARK: implementation

    private mutating func feedImpl(_ buf: UnsafeRawBufferPointer, _ emit: (ProtoListSegment) throws -> Void) throws {
        let n = buf.count
        let base = bytesConsumed
        var i = 0
        var segStart = 0
        /// Index in this chunk where the header in progress began (nil: an earlier chunk).
        var hdrHere: Int? = nil

        func flush(_ end: Int) throws {
            if end > segStart {
                let b = UnsafeRawBufferPointer(rebasing: buf[segStart..<end])
                try emit(itemsStarted ? .suffix(b) : .prefix(b))
            }
            segStart = end
        }

        while i < n {
            switch state {
            case .magic(let k):
                guard buf[i] == ProtoEnvelope.magic[k] else { throw ProtoError(.badMagic, offset: base + i) }
                i += 1
                state = k == 3 ? .header : .magic(k + 1)

            case .header:
                let pos = base + i
                if hdr.isEmpty {
                    if level == .list {
                        if pos == listEnd {
                            guard groups.isEmpty else { throw ProtoError(.truncated, offset: pos) }
                            level = .envelope
                        }
                    }
                    hdrStart = pos
                    hdrHere = i
                    tag = nil
                    varint = VarintAccumulator()
                }
                if level == .list && pos >= listEnd { throw ProtoError(.truncated, offset: hdrStart) }
                let b = buf[i]
                hdr.append(b)
                i += 1
                guard let v = try varint.push(b, offset: hdrStart) else { continue }
                if tag == nil {
                    let t = try ProtoTag.decode(v, offset: hdrStart)
                    tag = t
                    tagBytes = hdr.count
                    if t.wireType == .lengthDelimited {
                        varint = VarintAccumulator()
                        continue
                    }
                    try fixedHeader(t, end: base + i)
                } else {
                    guard v <= UInt64(Int.max / 4) else { throw ProtoError(.lengthTooLarge, offset: hdrStart + tagBytes) }
                    let isItem = try lengthHeader(tag!, length: Int(v), end: base + i)
                    if isItem {
                        // Pass-through ends where the item's header began.
                        try flush(hdrHere ?? segStart)
                        itemsStarted = true
                        let len = Int(v)
                        if let h = hdrHere, n - i >= len {
                            // The whole frame is in this chunk: no copy.
                            let frame = UnsafeRawBufferPointer(rebasing: buf[h..<(i + len)])
                            let msg = UnsafeRawBufferPointer(rebasing: buf[i..<(i + len)])
                            try emitItem(frame: frame, message: msg, messageOffset: base + i, emit)
                            i += len
                            segStart = i
                            endHeader()
                            state = .header
                            continue
                        }
                        carry.removeAll(keepingCapacity: true)
                        carry.reserveCapacity(hdr.count + len)
                        carry.append(contentsOf: hdr)
                        carryStart = hdrStart
                        carryHeader = hdr.count
                        state = .collect(len, .item)
                        endHeader()
                        segStart = i
                        if len == 0 {
                            state = .header
                            try completeCarry(.item, emit)
                        }
                        continue
                    }
                }
                // Not an item: the header is pass-through; emit what earlier chunks held back.
                if withheld > 0 {
                    let held = hdr[0..<withheld]
                    try held.withUnsafeBytes { try emit(itemsStarted ? .suffix($0) : .prefix($0)) }
                }
                endHeader()

            case .skipVarint(let count):
                if level == .list && base + i >= listEnd { throw ProtoError(.truncated, offset: base + i) }
                let b = buf[i]
                i += 1
                if count == 9 && b > 1 { throw ProtoError(.overlongVarint, offset: base + i - 10) }
                if b < 0x80 { state = .header } else { state = .skipVarint(count + 1) }

            case .skipFixed(let k):
                let take = min(k, n - i)
                i += take
                state = k == take ? .header : .skipFixed(k - take)

            case .skipBytes(let k):
                let take = min(k, n - i)
                i += take
                state = k == take ? .header : .skipBytes(k - take)

            case .collect(let k, let purpose):
                let take = min(k, n - i)
                carry.append(contentsOf: UnsafeRawBufferPointer(rebasing: buf[i..<(i + take)]))
                i += take
                if purpose == .item { segStart = i }
                guard take == k else { state = .collect(k - take, purpose); continue }
                state = .header
                try completeCarry(purpose, emit)
            }
        }

        // End of chunk: hold back a header in progress, flush the rest.
        if case .header = state, !hdr.isEmpty {
            try flush(hdrHere ?? segStart)
            withheld = hdr.count
        } else if case .collect(_, .item) = state {
            segStart = n
        } else {
            try flush(n)
        }
    }

    private mutating func endHeader() {
        hdr.removeAll(keepingCapacity: true)
        withheld = 0
        tag = nil
    }

    /// A completed tag without a length (varint, fixed, groups). `end` = stream offset after it.
    private mutating func fixedHeader(_ t: ProtoTag, end: Int) throws(ProtoError) {
        if groups.isEmpty && (t.field == 1 || t.field == 2) {
            throw ProtoError(.wrongWireType(field: t.field, wireType: t.wireType.rawValue), offset: hdrStart)
        }
        switch t.wireType {
        case .varint:
            state = .skipVarint(0)
        case .fixed64, .fixed32:
            let k = t.wireType == .fixed64 ? 8 : 4
            if level == .list && end + k > listEnd { throw ProtoError(.truncated, offset: end) }
            state = .skipFixed(k)
        case .startGroup:
            guard groups.count < ProtoLimits.maxDepth else { throw ProtoError(.tooDeep, offset: hdrStart) }
            groups.append(t.field)
            state = .header
        case .endGroup:
            guard groups.last == t.field else { throw ProtoError(.unmatchedEndGroup, offset: hdrStart) }
            groups.removeLast()
            state = .header
        case .lengthDelimited:
            break
        }
    }

    /// A completed tag + length. Sets the next state; returns true when it starts an item.
    private mutating func lengthHeader(_ t: ProtoTag, length: Int, end: Int) throws(ProtoError) -> Bool {
        if level == .list && end + length > listEnd { throw ProtoError(.lengthTooLarge, offset: hdrStart + tagBytes) }
        guard groups.isEmpty, t.field == 1 || t.field == 2 else {
            state = length == 0 ? .header : .skipBytes(length)
            return false
        }
        switch (level, t.field) {
        case (.envelope, 1), (.list, 1):
            guard length <= maxItemSize else { throw ProtoError(.itemTooLarge(limit: maxItemSize), offset: hdrStart) }
            carry.removeAll(keepingCapacity: true)
            carryStart = end
            carryHeader = 0
            state = .collect(length, level == .envelope ? .typeMeta : .listMeta)
            if length == 0 { state = .header; try completeCarryMeta(level == .envelope ? .typeMeta : .listMeta) }
            return false
        case (.envelope, _):
            guard !sawRaw else { throw ProtoError(.duplicateRaw, offset: hdrStart) }
            sawRaw = true
            level = .list
            listEnd = end + length
            state = .header
            return false
        default:
            guard hdr.count + length <= maxItemSize else {
                throw ProtoError(.itemTooLarge(limit: maxItemSize), offset: hdrStart)
            }
            return true
        }
    }

    private mutating func emitItem(frame: UnsafeRawBufferPointer, message: UnsafeRawBufferPointer, messageOffset: Int,
                                   _ emit: (ProtoListSegment) throws -> Void) throws {
        let meta = try ProtoObjectMeta.parse(message, fields: fieldPaths, base: messageOffset)
        info.itemCount += 1
        try emit(.item(frame: frame, message: message, meta: meta))
    }

    private mutating func completeCarry(_ purpose: Purpose, _ emit: (ProtoListSegment) throws -> Void) throws {
        guard purpose == .item else { return try completeCarryMeta(purpose) }
        var bytes: [UInt8] = []
        swap(&bytes, &carry)
        defer {
            swap(&bytes, &carry)
            // Don't pin a huge buffer after an outsized item.
            if carry.capacity > 1 << 20 { carry = [] } else { carry.removeAll(keepingCapacity: true) }
        }
        let start = carryStart, h = carryHeader
        try bytes.withUnsafeBytes { b in
            try emitItem(frame: b, message: UnsafeRawBufferPointer(rebasing: b[h...]), messageOffset: start + h, emit)
        }
    }

    private mutating func completeCarryMeta(_ purpose: Purpose) throws(ProtoError) {
        var bytes: [UInt8] = []
        swap(&bytes, &carry)
        defer { swap(&bytes, &carry); carry.removeAll(keepingCapacity: true) }
        let start = carryStart
        let r: Result<Void, ProtoError> = bytes.withUnsafeBytes { b in
            Result { () throws(ProtoError) in
                if purpose == .typeMeta {
                    var tm = ProtoTypeMeta(apiVersion: info.apiVersion ?? "", kind: info.kind ?? "")
                    try ProtoEnvelope.parseTypeMeta(b, into: &tm, base: start)
                    info.apiVersion = tm.apiVersion.isEmpty ? nil : tm.apiVersion
                    info.kind = tm.kind.isEmpty ? nil : tm.kind
                } else {
                    try ProtoListMetaCodec.parse(b, base: start, into: &info)
                }
            }
        }
        try r.get()
    }
}

/// Incremental varint decoding for headers that straddle chunks.
struct VarintAccumulator {
    var value: UInt64 = 0
    var count = 0

    /// Adds one byte; returns the value when it was the last byte.
    @inline(__always)
    mutating func push(_ b: UInt8, offset: Int) throws(ProtoError) -> UInt64? {
        if count == 9 {
            guard b <= 1 else { throw ProtoError(.overlongVarint, offset: offset) }
            value |= UInt64(b) << 63
            count += 1
            return value
        }
        value |= UInt64(b & 0x7F) << (7 * UInt64(count))
        count += 1
        return b < 0x80 ? value : nil
    }
}
