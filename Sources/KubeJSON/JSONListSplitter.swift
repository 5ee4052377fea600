/// One piece of a Kubernetes List body, as emitted by `JSONListSplitter`.
///
/// The buffers are only valid during the callback that receives them.
/// Concatenating `prefix` pieces, then the items joined with `,`, then the `suffix`
/// pieces yields an equivalent document (whitespace between items is dropped).
/// `prefix` may arrive in several pieces (one per input chunk) and ends with the `[`
/// of `"items":[`; `suffix` starts at the matching `]` and runs to the end of input.
/// If `items` is `null` or missing, every byte is emitted as `prefix`.
public enum ListSegment {
    case prefix(UnsafeRawBufferPointer)
    case item(UnsafeRawBufferPointer, ObjectMeta)
    case suffix(UnsafeRawBufferPointer)

    /// A copy that outlives the callback.
    public var owned: OwnedListSegment {
        switch self {
        case .prefix(let b): return .prefix(Array(b))
        case .item(let b, let m): return .item(Array(b), m)
        case .suffix(let b): return .suffix(Array(b))
        }
    }
}

/// A `ListSegment` with copied bytes.
public enum OwnedListSegment: Equatable, Sendable {
    case prefix([UInt8])
    case item([UInt8], ObjectMeta)
    case suffix([UInt8])
}

/// List-level facts gathered while splitting.
public struct ListInfo: Equatable, Sendable {
    public enum Items: Equatable, Sendable { case missing, null, array }
    public var kind: String?
    public var apiVersion: String?
    public var resourceVersion: String?
    public var continueToken: String?
    public var remainingItemCount: Int64?
    public var items: Items = .missing
    /// Number of items emitted so far.
    public var itemCount = 0
    public init() {}
}

/// Incremental, resumable splitter for a Kubernetes List JSON body
/// (`{"kind":"PodList","apiVersion":"v1","metadata":{...},"items":[...]}`).
///
/// Feed it arbitrary chunks; it emits the prefix, each complete item (with its
/// `ObjectMeta`), and the suffix. Items that straddle chunks are reassembled in a carry
/// buffer that is bounded by `maxItemSize`. The whole document is validated as JSON.
/// `finish()` throws unless a complete document was seen, so a truncated body can never
/// be mistaken for a complete list. After any error the splitter is poisoned.
public struct JSONListSplitter {
    /// What the body is: a List (`items`, each an object) or a `meta.k8s.io` Table (`rows`, each
    /// `{"cells":[...],"object":{...}}`; the row's metadata is its `object`'s, empty when the
    /// object is `null`, i.e. `includeObject=None`).
    public enum Shape: Sendable, Equatable { case list, table }
    public let maxItemSize: Int
    public let fieldPaths: FieldPaths
    public let shape: Shape
    /// List-level metadata. Authoritative after `finish()` (metadata may follow items).
    public private(set) var info = ListInfo()
    /// Total bytes fed so far.
    public private(set) var bytesConsumed = 0

    enum State: Equatable {
        case start, keyOrEnd, key, colon, value, commaOrEnd
        case itemsNull(Int)
        case itemOrEnd, item, itemCommaOrEnd
        case done
    }
    enum RootKey { case kind, apiVersion, metadata, items, other }
    enum Target { case key, rootValue, item }
    enum Seg { case prefix, none, suffix }

    var state: State = .start
    var currentKey: RootKey = .other
    var carry = CarryBuffer()
    var carryTarget: Target = .item
    var seg: Seg = .prefix
    var sawItems = false
    var poisoned = false

    public init(maxItemSize: Int = JSONLimits.defaultMaxItemSize, fieldPaths: FieldPaths = .none, shape: Shape = .list) {
        self.maxItemSize = maxItemSize
        self.fieldPaths = fieldPaths
        self.shape = shape
    }

    /// Whether a complete document has been seen (trailing whitespace may still follow).
    public var isComplete: Bool { state == .done && !poisoned }

    /// Feeds the next chunk. `emit` receives segments whose buffers are valid only during
    /// the call. Errors from `emit` are rethrown (and poison the splitter).
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, _ emit: (ListSegment) throws -> Void) throws {
        guard !poisoned else { throw JSONError(.poisoned, offset: bytesConsumed) }
        do {
            try feedImpl(bytes, emit)
        } catch {
            poisoned = true
            throw error
        }
        bytesConsumed += bytes.count
    }

    /// Convenience: feeds a chunk and returns copies of the emitted segments.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) throws -> [OwnedListSegment] {
        var out: [OwnedListSegment] = []
        try feed(bytes) { out.append($0.owned) }
        return out
    }

    public mutating func feed(_ bytes: [UInt8]) throws -> [OwnedListSegment] {
        try bytes.withUnsafeBytes { try feed($0) }
    }

    /// Declares end of input. Throws `.incomplete` (with the stream offset) unless a complete
    /// list document was received. Returns the final list info.
    @discardableResult
    public mutating func finish() throws(JSONError) -> ListInfo {
        guard !poisoned else { throw JSONError(.poisoned, offset: bytesConsumed) }
        guard state == .done && !carry.active else {
            poisoned = true
            throw JSONError(.incomplete, offset: bytesConsumed)
        }
        return info
    }

    // MARK: implementation

    private mutating func feedImpl(_ buf: UnsafeRawBufferPointer, _ emit: (ListSegment) throws -> Void) throws {
        let n = buf.count
        guard n > 0 else { return }
        var i = 0
        var segStart = 0

        if carry.active {
            if let end = carry.scan.scan(buf, from: 0) {
                try carry.append(buf, 0..<end, limit: maxItemSize)
                try completeCarry(emit)
                i = end
            } else {
                try carry.append(buf, 0..<n, limit: maxItemSize)
                i = n
            }
        }

        while i < n {
            let c = buf[i]
            if ASCII.isWS(c) { i += 1; continue }
            switch state {
            case .start:
                guard c == ASCII.lbrace else { throw JSONError(.rootNotObject, offset: bytesConsumed + i) }
                state = .keyOrEnd
                i += 1
            case .keyOrEnd, .key:
                if c == ASCII.rbrace && state == .keyOrEnd {
                    state = .done
                    i += 1
                } else if c == ASCII.quote {
                    i = try value(buf, at: i, .key, emit)
                } else {
                    throw JSONError(.unexpectedByte(c), offset: bytesConsumed + i)
                }
            case .colon:
                guard c == ASCII.colon else { throw JSONError(.unexpectedByte(c), offset: bytesConsumed + i) }
                state = .value
                i += 1
            case .value:
                if currentKey == .items {
                    if sawItems { throw JSONError(.duplicateItems, offset: bytesConsumed + i) }
                    sawItems = true
                    if c == ASCII.lbracket {
                        i += 1
                        if seg == .prefix && i > segStart {
                            try emit(.prefix(UnsafeRawBufferPointer(rebasing: buf[segStart..<i])))
                        }
                        seg = .none
                        info.items = .array
                        state = .itemOrEnd
                    } else if c == ASCII.n {
                        state = .itemsNull(1)
                        i += 1
                    } else {
                        throw JSONError(.unexpectedByte(c), offset: bytesConsumed + i)
                    }
                } else {
                    i = try value(buf, at: i, .rootValue, emit)
                }
            case .itemsNull(let k):
                let expected: UInt8 = k == 1 ? 0x75 : 0x6C  // "u", "l", "l"
                guard c == expected else { throw JSONError(.unexpectedByte(c), offset: bytesConsumed + i) }
                i += 1
                if k == 3 {
                    info.items = .null
                    state = .commaOrEnd
                } else {
                    state = .itemsNull(k + 1)
                }
            case .commaOrEnd:
                if c == ASCII.comma {
                    state = .key
                } else if c == ASCII.rbrace {
                    state = .done
                } else {
                    throw JSONError(.unexpectedByte(c), offset: bytesConsumed + i)
                }
                i += 1
            case .itemOrEnd, .item:
                if c == ASCII.lbrace {
                    i = try value(buf, at: i, .item, emit)
                } else if c == ASCII.rbracket && state == .itemOrEnd {
                    seg = .suffix
                    segStart = i
                    state = .commaOrEnd
                    i += 1
                } else if c == ASCII.rbracket || c == ASCII.comma {
                    throw JSONError(.unexpectedByte(c), offset: bytesConsumed + i)
                } else {
                    throw JSONError(.itemNotObject, offset: bytesConsumed + i)
                }
            case .itemCommaOrEnd:
                if c == ASCII.comma {
                    state = .item
                } else if c == ASCII.rbracket {
                    seg = .suffix
                    segStart = i
                    state = .commaOrEnd
                } else {
                    throw JSONError(.unexpectedByte(c), offset: bytesConsumed + i)
                }
                i += 1
            case .done:
                throw JSONError(.trailingData, offset: bytesConsumed + i)
            }
        }
        if seg == .prefix && segStart < n {
            try emit(.prefix(UnsafeRawBufferPointer(rebasing: buf[segStart..<n])))
        } else if seg == .suffix && segStart < n {
            try emit(.suffix(UnsafeRawBufferPointer(rebasing: buf[segStart..<n])))
        }
    }

    /// Handles a value starting at `buf[i]`: parses it in place if it is complete in this
    /// chunk, otherwise starts carrying it. Returns the index after what was consumed.
    private mutating func value(_ buf: UnsafeRawBufferPointer, at i: Int, _ target: Target,
                                _ emit: (ListSegment) throws -> Void) throws -> Int {
        var cur = Cursor(buf, pos: i, base: bytesConsumed, isFinal: false)
        let meta: ObjectMeta?
        switch consumeResult(&cur, target) {
        case .success(let m):
            meta = m
        case .failure(let error):
            guard error.kind == .unexpectedEnd else { throw error }
            if buf.count - i > maxItemSize {
                throw JSONError(.valueTooLarge(limit: maxItemSize), offset: bytesConsumed + i)
            }
            carry.begin(at: bytesConsumed + i)
            carryTarget = target
            if let end = carry.scan.scan(buf, from: i) {
                // Not expected (the strict parser saw a truncated value), but stay correct.
                try carry.append(buf, i..<end, limit: maxItemSize)
                try completeCarry(emit)
                return end
            }
            try carry.append(buf, i..<buf.count, limit: maxItemSize)
            return buf.count
        }
        if let meta {
            if cur.pos - i > maxItemSize {
                throw JSONError(.valueTooLarge(limit: maxItemSize), offset: bytesConsumed + i)
            }
            try emit(.item(UnsafeRawBufferPointer(rebasing: buf[i..<cur.pos]), meta))
        }
        return cur.pos
    }

    private mutating func completeCarry(_ emit: (ListSegment) throws -> Void) throws {
        let target = carryTarget
        let base = carry.startOffset
        // Move the bytes out so `consume` may mutate self while we read them.
        var bytes: [UInt8] = []
        swap(&bytes, &carry.bytes)
        defer {
            swap(&bytes, &carry.bytes)
            carry.end()
        }
        try bytes.withUnsafeBytes { b in
            var cur = Cursor(b, pos: 0, base: base, isFinal: true)
            let meta = try consume(&cur, target)
            guard cur.pos == b.count else {
                throw JSONError(.unexpectedByte(b[cur.pos]), offset: base + cur.pos)
            }
            if let meta { try emit(.item(b, meta)) }
        }
    }

    private mutating func consumeResult(_ cur: inout Cursor, _ target: Target) -> Result<ObjectMeta?, JSONError> {
        do {
            return .success(try consume(&cur, target))
        } catch {
            return .failure(error)
        }
    }

    /// Parses one complete value for `target` and advances the state machine.
    /// Returns the ObjectMeta for items, nil otherwise.
    private mutating func consume(_ cur: inout Cursor, _ target: Target) throws(JSONError) -> ObjectMeta? {
        switch target {
        case .key:
            let b = try cur.peek()
            guard b == ASCII.quote else { throw cur.error(.unexpectedByte(b)) }
            let k = try cur.scanString()
            if shape == .list ? cur.keyEquals(k, "items") : cur.keyEquals(k, "rows") { currentKey = .items }
            else if cur.keyEquals(k, "metadata") { currentKey = .metadata }
            else if cur.keyEquals(k, "kind") { currentKey = .kind }
            else if cur.keyEquals(k, "apiVersion") { currentKey = .apiVersion }
            else { currentKey = .other }
            state = .colon
            return nil
        case .rootValue:
            switch currentKey {
            case .kind: info.kind = try ObjectMeta.readOptionalString(&cur)
            case .apiVersion: info.apiVersion = try ObjectMeta.readOptionalString(&cur)
            case .metadata: try parseListMeta(&cur)
            case .items, .other: try cur.skipValue()
            }
            state = .commaOrEnd
            return nil
        case .item:
            let m = shape == .list ? try ObjectMeta.parseObject(&cur, fieldPaths) : try parseRow(&cur)
            info.itemCount += 1
            state = .itemCommaOrEnd
            return m
        }
    }

    /// A Table row: the metadata of its `object` (validating the rest).
    private func parseRow(_ c: inout Cursor) throws(JSONError) -> ObjectMeta {
        guard try c.peek() == ASCII.lbrace else { throw c.error(.itemNotObject) }
        var m = ObjectMeta()
        if fieldPaths.count > 0 { m.fields = Array(repeating: nil, count: fieldPaths.count) }
        guard try c.beginObject() else { return m }
        repeat {
            let k = try c.key()
            if c.keyEquals(k, "object"), try c.peek() == ASCII.lbrace {
                m = try ObjectMeta.parseObject(&c, fieldPaths)
            } else {
                try c.skipValue()
            }
        } while try c.commaOrClose(ASCII.rbrace)
        return m
    }

    private mutating func parseListMeta(_ c: inout Cursor) throws(JSONError) {
        guard try c.peek() == ASCII.lbrace else { try c.skipValue(); return }
        guard try c.beginObject() else { return }
        repeat {
            let k = try c.key()
            if c.keyEquals(k, "resourceVersion") {
                info.resourceVersion = try ObjectMeta.readOptionalString(&c)
            } else if c.keyEquals(k, "continue") {
                info.continueToken = try ObjectMeta.readOptionalString(&c)
            } else if c.keyEquals(k, "remainingItemCount") {
                let b = try c.peek()
                if b == ASCII.minus || ASCII.isDigit(b) { info.remainingItemCount = try c.readInt64() } else { try c.skipValue() }
            } else {
                try c.skipValue()
            }
        } while try c.commaOrClose(ASCII.rbrace)
    }
}
