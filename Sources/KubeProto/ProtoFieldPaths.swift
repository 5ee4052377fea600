import KubeJSON

/// One step of a numeric field path. An integer literal is a plain field; `.first(n)` marks a
/// repeated message field of which only the first element is read (`status.podIPs[0].ip` is
/// `[3, .first(12), 1]`), because on the wire each element is its own occurrence of the field.
public struct ProtoPathStep: Sendable, Hashable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    public var field: Int
    public var firstElementOnly: Bool

    public init(field: Int, firstElementOnly: Bool = false) {
        self.field = field
        self.firstElementOnly = firstElementOnly
    }

    public init(integerLiteral value: Int) { self.init(field: value) }

    public static func first(_ field: Int) -> ProtoPathStep { ProtoPathStep(field: field, firstElementOnly: true) }

    public var description: String { firstElementOnly ? "\(field)[0]" : "\(field)" }
}

/// A compiled set of numeric field paths to extract from each object message into
/// `ObjectMeta.fields`, the protobuf twin of `KubeJSON.FieldPaths`.
///
/// The caller (the cache layer) knows which JSON paths it indexes and maps each to its field
/// numbers (see `ProtoSelectableFields`), keeping the JSON path's slot, so the same
/// `ObjectMeta.fields` consumers work for both formats. Values are rendered like the JSON
/// side renders them: strings as-is, bools `"true"`/`"false"`, ints as decimal text, and an
/// absent field as nil. Note that the apiserver's protobuf always writes non-pointer scalars,
/// so an empty string or `false` arrives as a value where JSON (omitempty) has nothing.
///
/// Scalars follow protobuf's last-one-wins rule; non-repeated sub-messages merge (every
/// occurrence is descended).
public struct ProtoFieldPaths: Sendable, Equatable {
    public enum ValueKind: Sendable, Hashable { case string, bool, int }

    public struct Entry: Sendable, Hashable {
        public var slot: Int
        public var path: [ProtoPathStep]
        public var kind: ValueKind
        public init(slot: Int, path: [ProtoPathStep], kind: ValueKind) {
            self.slot = slot
            self.path = path
            self.kind = kind
        }
    }

    public let entries: [Entry]
    /// Length of `ObjectMeta.fields` after a parse (the JSON `FieldPaths.count` when shared).
    public let slotCount: Int

    public static let none = ProtoFieldPaths(entries: [])

    // Flattened trie. Node 0 is the object message.
    struct Child: Sendable, Equatable { var field: Int; var firstOnly: Bool; var node: Int }
    struct Terminal: Sendable, Equatable { var slot: Int; var kind: ValueKind }
    var children: [[Child]] = [[]]
    var terminals: [[Terminal]] = [[]]
    var hasFirstOnly = false
    /// Slots filled from the parsed ObjectMeta after the walk, exactly as the JSON side's
    /// `FieldPaths` fills `metadata.name|namespace|uid|resourceVersion|generation|labels.<k>`.
    var knownMeta: [(slot: Int, tail: [String])] = []

    public init(entries: [Entry], slotCount: Int? = nil) {
        self.entries = entries
        self.slotCount = max(slotCount ?? 0, (entries.map(\.slot).max() ?? -1) + 1)
        for e in entries where !e.path.isEmpty && e.slot >= 0 {
            var cur = 0
            for step in e.path {
                if let c = children[cur].first(where: { $0.field == step.field && $0.firstOnly == step.firstElementOnly }) {
                    cur = c.node
                } else {
                    children.append([])
                    terminals.append([])
                    children[cur].append(Child(field: step.field, firstOnly: step.firstElementOnly, node: children.count - 1))
                    cur = children.count - 1
                }
                if step.firstElementOnly { hasFirstOnly = true }
            }
            terminals[cur].append(Terminal(slot: e.slot, kind: e.kind))
        }
    }

    /// `ProtoFieldPaths([(slot: 0, path: [2, 10], kind: .string), ...])`.
    public init(_ list: [(slot: Int, path: [ProtoPathStep], kind: ValueKind)], slotCount: Int? = nil) {
        self.init(entries: list.map { Entry(slot: $0.slot, path: $0.path, kind: $0.kind) }, slotCount: slotCount)
    }

    /// The paths the JSON `FieldPaths` of a resource index, mapped through
    /// `ProtoSelectableFields` (same slots). JSON paths without a protobuf mapping stay nil,
    /// except the ObjectMeta ones JSON fills from the parsed metadata, which are filled here too.
    public init(json: FieldPaths, group: String, resource: String) {
        var list: [Entry] = []
        var known: [(slot: Int, tail: [String])] = []
        for (slot, path) in json.paths.enumerated() {
            if path.first == "metadata",
               (path.count == 2 && ["name", "namespace", "uid", "resourceVersion", "generation"].contains(path[1]))
                || (path.count == 3 && path[1] == "labels") {
                known.append((slot, Array(path.dropFirst())))
                continue
            }
            if let f = ProtoSelectableFields.lookup(group: group, resource: resource, path: path) {
                list.append(Entry(slot: slot, path: f.path, kind: f.kind))
            }
        }
        self.init(entries: list, slotCount: json.count)
        knownMeta = known
    }

    public var count: Int { slotCount }
    public var isEmpty: Bool { entries.isEmpty }

    public static func == (a: ProtoFieldPaths, b: ProtoFieldPaths) -> Bool {
        a.entries == b.entries && a.slotCount == b.slotCount && a.knownMeta.count == b.knownMeta.count
            && zip(a.knownMeta, b.knownMeta).allSatisfy { $0.slot == $1.slot && $0.tail == $1.tail }
    }

    // MARK: extraction

    /// Walks `message` (at trie `node`), filling `fields`. Only fields on a path are decoded;
    /// every field of each visited message is framing-checked.
    func extract(_ message: UnsafeRawBufferPointer, base: Int, node: Int, depth: Int,
                 _ fields: inout [String?], _ seen: inout [Bool]) throws(ProtoError) {
        guard depth <= ProtoLimits.maxDepth else { throw ProtoError(.tooDeep, offset: base) }
        var r = ProtoReader(message, base: base)
        let kids = children[node]
        while !r.isAtEnd {
            let at = r.offset
            let tag = try r.readTag()
            try visit(&r, tag: tag, tagOffset: at, kids: kids, depth: depth, &fields, &seen)
        }
    }

    /// Handles one field of a message at a trie node with children `kids`.
    func visit(_ r: inout ProtoReader, tag: ProtoTag, tagOffset at: Int, kids: [Child], depth: Int,
               _ fields: inout [String?], _ seen: inout [Bool]) throws(ProtoError) {
        var matched = false
        for c in kids where c.field == tag.field { matched = true; break }
        guard matched else { try r.skip(tag, tagOffset: at); return }
        switch tag.wireType {
        case .lengthDelimited:
            let payload = try r.readLengthDelimited()
            let payloadBase = r.base + r.offset - payload.count
            for c in kids where c.field == tag.field {
                if c.firstOnly {
                    if seen[c.node] { continue }
                    seen[c.node] = true
                }
                for t in terminals[c.node] {
                    guard t.kind == .string else {
                        throw ProtoError(.wrongWireType(field: tag.field, wireType: 2), offset: r.base + at)
                    }
                    fields[t.slot] = GoUTF8.string(payload)
                }
                if !children[c.node].isEmpty {
                    try extract(payload, base: payloadBase, node: c.node, depth: depth + 1, &fields, &seen)
                }
            }
        case .varint:
            let v = try r.readVarint()
            for c in kids where c.field == tag.field {
                if c.firstOnly {
                    if seen[c.node] { continue }
                    seen[c.node] = true
                }
                guard children[c.node].isEmpty else {
                    throw ProtoError(.wrongWireType(field: tag.field, wireType: 0), offset: r.base + at)
                }
                for t in terminals[c.node] {
                    switch t.kind {
                    case .string: throw ProtoError(.wrongWireType(field: tag.field, wireType: 0), offset: r.base + at)
                    case .bool: fields[t.slot] = v != 0 ? "true" : "false"
                    case .int: fields[t.slot] = String(Int64(bitPattern: v))
                    }
                }
            }
        default:
            throw ProtoError(.wrongWireType(field: tag.field, wireType: tag.wireType.rawValue), offset: r.base + at)
        }
    }
}
