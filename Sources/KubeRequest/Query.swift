/// The decoded query string of a request, in the order the client sent it.
///
/// Exists so every part of the proxy reads query parameters exactly the way
/// the apiserver (Go's `url.ParseQuery`, through `req.URL.Query()`) does:
/// pairs split on `&`, key and value split on the first `=`, `+` means
/// space, `%XX` is a byte, repeated keys keep every value and lookups use
/// the first one.
///
/// Like Go, a pair that cannot be decoded (a bad `%` escape in its key or
/// value, or a `;` anywhere in it: Go 1.17+ no longer splits on `;`) is
/// dropped and the rest of the query is kept: the apiserver then acts as if
/// the pair was never sent (`labelSelector=%zz` lists everything), and so
/// must an answer given in its place. Dropped pairs are listed in
/// ``dropped``. Go keeps escapes that decode to invalid UTF-8 as raw bytes;
/// here the value is decoded lossily and the bytes are kept
/// (``Item/invalidUTF8Bytes``) so error messages can quote them as Go does.
public struct QueryItems: Sendable, Hashable, Sequence {
    /// One `name=value` pair after decoding.
    public struct Item: Sendable, Hashable {
        public var name: String
        /// The decoded value; decoded lossily when ``invalidUTF8Bytes`` is set.
        public var value: String
        /// The value's bytes when they are not valid UTF-8 (Go keeps them as they are).
        public var invalidUTF8Bytes: [UInt8]?

        public init(name: String, value: String, invalidUTF8Bytes: [UInt8]? = nil) {
            self.name = name
            self.value = value
            self.invalidUTF8Bytes = invalidUTF8Bytes
        }

        /// The value quoted as Go's `%q` quotes the string the apiserver holds.
        public var goQuotedValue: String {
            invalidUTF8Bytes.map(goQuote(bytes:)) ?? goQuote(value)
        }
    }

    /// Every pair, in client order, repeated names included.
    public private(set) var items: [Item]
    /// The pairs Go's parser drops, in client order (they are not in ``items``).
    public private(set) var dropped: [QueryError]

    /// An empty query.
    public init() {
        self.items = []
        self.dropped = []
    }

    /// Builds a query from already decoded pairs.
    public init(_ items: [Item]) {
        self.items = items
        self.dropped = []
    }

    /// Parses a raw query string (the part after `?`, without the `?`).
    public init(parsing rawQuery: some StringProtocol) {
        let bytes = Array(rawQuery.utf8)
        var items: [Item] = []
        var dropped: [QueryError] = []
        var pairStart = 0
        while pairStart <= bytes.count {
            var pairEnd = pairStart
            while pairEnd < bytes.count && bytes[pairEnd] != UInt8(ascii: "&") {
                pairEnd += 1
            }
            if pairEnd > pairStart {
                do {
                    items.append(try Self.parsePair(bytes[pairStart..<pairEnd]))
                } catch {
                    dropped.append(error)
                }
            }
            pairStart = pairEnd + 1
        }
        self.items = items
        self.dropped = dropped
    }

    private static func parsePair(_ pair: ArraySlice<UInt8>) throws(QueryError) -> Item {
        if let semicolon = pair.firstIndex(of: UInt8(ascii: ";")) {
            throw QueryError(kind: .semicolonSeparator, offset: semicolon)
        }
        let equals = pair.firstIndex(of: UInt8(ascii: "="))
        let nameBytes = pair[pair.startIndex..<(equals ?? pair.endIndex)]
        let valueBytes = equals.map { pair[($0 + 1)..<pair.endIndex] } ?? []
        do {
            let name = try PercentDecoding.decodeBytes(nameBytes, plusAsSpace: true)
            let value = try PercentDecoding.decodeBytes(valueBytes, plusAsSpace: true)
            let valueText = PercentDecoding.validUTF8String(value)
            return Item(name: String(decoding: name, as: UTF8.self),
                        value: valueText ?? String(decoding: value, as: UTF8.self),
                        invalidUTF8Bytes: valueText == nil ? value : nil)
        } catch {
            switch error {
            case .invalidEscape(let offset):
                // Slices keep the indices of the whole query, so `offset` already points into it.
                let end = Swift.min(offset + 3, pair.endIndex)
                let escape = String(decoding: pair[offset..<end], as: UTF8.self)
                throw QueryError(kind: .invalidPercentEscape(escape), offset: offset)
            case .invalidUTF8:
                preconditionFailure("decodeBytes does not validate UTF-8")
            }
        }
    }

    /// The first value for `name`, as the apiserver reads single-valued parameters.
    public subscript(name: String) -> String? {
        items.first { $0.name == name }?.value
    }

    /// The first pair named `name`.
    public func first(_ name: String) -> Item? {
        items.first { $0.name == name }
    }

    /// Every value for `name`, in client order.
    public func values(for name: String) -> [String] {
        items.filter { $0.name == name }.map(\.value)
    }

    /// Whether `name` occurs at all (even with an empty value).
    public func contains(_ name: String) -> Bool {
        items.contains { $0.name == name }
    }

    public var isEmpty: Bool { items.isEmpty }

    public func makeIterator() -> IndexingIterator<[Item]> {
        items.makeIterator()
    }
}

/// Why a pair of a query string could not be decoded (and was dropped, as
/// Go drops it).
public struct QueryError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was wrong.
    public enum Kind: Sendable, Hashable {
        /// A `%` not followed by two hex digits; carries the offending text.
        case invalidPercentEscape(String)
        /// A `;` inside a pair (Go rejects `;` as a separator since 1.17).
        case semicolonSeparator
    }

    public var kind: Kind
    /// Byte offset in the raw query where the problem starts.
    public var offset: Int

    public init(kind: Kind, offset: Int) {
        self.kind = kind
        self.offset = offset
    }

    public var message: String {
        switch kind {
        case .invalidPercentEscape(let escape):
            return "invalid query string: invalid URL escape \"\(escape)\" at offset \(offset)"
        case .semicolonSeparator:
            return "invalid query string: invalid semicolon separator at offset \(offset)"
        }
    }

    public var description: String { message }
}
