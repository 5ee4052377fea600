/// The decoded query string of a request, in the order the client sent it.
///
/// Exists so every part of the proxy reads query parameters the way the
/// apiserver (Go's `url.ParseQuery`) does: pairs split on `&`, key and value
/// split on the first `=`, `+` means space, `%XX` is a byte, repeated keys
/// keep every value and lookups use the first one.
///
/// Unlike Go, which silently drops pairs it cannot decode, malformed input
/// throws ``QueryError``: a proxy must not forward a query it reads
/// differently from the upstream.
public struct QueryItems: Sendable, Hashable, Sequence {
    /// One `name=value` pair after decoding.
    public struct Item: Sendable, Hashable {
        public var name: String
        public var value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// Every pair, in client order, repeated names included.
    public private(set) var items: [Item]

    /// An empty query.
    public init() {
        self.items = []
    }

    /// Builds a query from already decoded pairs.
    public init(_ items: [Item]) {
        self.items = items
    }

    /// Parses a raw query string (the part after `?`, without the `?`).
    public init(parsing rawQuery: some StringProtocol) throws(QueryError) {
        let bytes = Array(rawQuery.utf8)
        var items: [Item] = []
        var pairStart = 0
        while pairStart <= bytes.count {
            var pairEnd = pairStart
            while pairEnd < bytes.count && bytes[pairEnd] != UInt8(ascii: "&") {
                pairEnd += 1
            }
            if pairEnd > pairStart {
                items.append(try Self.parsePair(bytes[pairStart..<pairEnd]))
            }
            pairStart = pairEnd + 1
        }
        self.items = items
    }

    private static func parsePair(_ pair: ArraySlice<UInt8>) throws(QueryError) -> Item {
        if let semicolon = pair.firstIndex(of: UInt8(ascii: ";")) {
            throw QueryError(kind: .semicolonSeparator, offset: semicolon)
        }
        let equals = pair.firstIndex(of: UInt8(ascii: "="))
        let nameBytes = pair[pair.startIndex..<(equals ?? pair.endIndex)]
        let valueBytes = equals.map { pair[($0 + 1)..<pair.endIndex] } ?? []
        do {
            let name = try PercentDecoding.decode(nameBytes, plusAsSpace: true)
            let value = try PercentDecoding.decode(valueBytes, plusAsSpace: true)
            return Item(name: name, value: value)
        } catch {
            switch error {
            case .invalidEscape(let offset):
                // Slices keep the indices of the whole query, so `offset` already points into it.
                let end = Swift.min(offset + 3, pair.endIndex)
                let escape = String(decoding: pair[offset..<end], as: UTF8.self)
                throw QueryError(kind: .invalidPercentEscape(escape), offset: offset)
            case .invalidUTF8:
                throw QueryError(kind: .invalidUTF8, offset: pair.startIndex)
            }
        }
    }

    /// The first value for `name`, as the apiserver reads single-valued parameters.
    public subscript(name: String) -> String? {
        items.first { $0.name == name }?.value
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

/// Why a query string could not be decoded; `message` is fit for the
/// `message` of a 400 BadRequest Status.
public struct QueryError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was wrong.
    public enum Kind: Sendable, Hashable {
        /// A `%` not followed by two hex digits; carries the offending text.
        case invalidPercentEscape(String)
        /// Percent-escapes that decode to bytes which are not UTF-8.
        case invalidUTF8
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
        case .invalidUTF8:
            return "invalid query string: percent-escapes at offset \(offset) do not decode to UTF-8"
        case .semicolonSeparator:
            return "invalid query string: invalid semicolon separator at offset \(offset)"
        }
    }

    public var description: String { message }
}
