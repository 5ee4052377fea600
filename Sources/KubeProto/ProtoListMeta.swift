/// `metav1.ListMeta` {1 selfLink, 2 resourceVersion, 3 continue, 4 remainingItemCount}.
public struct ProtoListMeta: Sendable, Equatable {
    public var selfLink: String
    public var resourceVersion: String
    public var continueToken: String
    /// A `*int64`: written only when set.
    public var remainingItemCount: Int64?

    public init(resourceVersion: String = "", continueToken: String = "", remainingItemCount: Int64? = nil,
                selfLink: String = "") {
        self.selfLink = selfLink
        self.resourceVersion = resourceVersion
        self.continueToken = continueToken
        self.remainingItemCount = remainingItemCount
    }

    /// The message as the apiserver's generated marshaller writes it: the three strings
    /// always (empty or not), then field 4 only when set.
    public var encoded: [UInt8] {
        var w = ProtoWriter(capacity: 16 + resourceVersion.utf8.count + continueToken.utf8.count + selfLink.utf8.count)
        w.field(1, string: selfLink)
        w.field(2, string: resourceVersion)
        w.field(3, string: continueToken)
        if let remainingItemCount { w.field(4, int64: remainingItemCount) }
        return w.bytes
    }

    /// Parses a ListMeta message (merging: later fields win).
    public static func parse(_ bytes: UnsafeRawBufferPointer, base: Int = 0) throws(ProtoError) -> ProtoListMeta {
        var m = ProtoListMeta()
        var r = ProtoReader(bytes, base: base)
        while !r.isAtEnd {
            let at = r.offset
            let tag = try r.readTag()
            switch tag.field {
            case 1:
                m.selfLink = try r.readString(tag, tagOffset: at)
            case 2:
                m.resourceVersion = try r.readString(tag, tagOffset: at)
            case 3:
                m.continueToken = try r.readString(tag, tagOffset: at)
            case 4:
                m.remainingItemCount = try r.readInt64(tag, tagOffset: at)
            default:
                try r.skip(tag, tagOffset: at)
            }
        }
        return m
    }
}

enum ProtoListMetaCodec {
    /// Merges a ListMeta occurrence into the splitter's info (empty strings read as nil,
    /// like absent JSON keys; a later occurrence overrides only what it carries).
    static func parse(_ bytes: UnsafeRawBufferPointer, base: Int, into info: inout ProtoListInfo) throws(ProtoError) {
        var r = ProtoReader(bytes, base: base)
        while !r.isAtEnd {
            let at = r.offset
            let tag = try r.readTag()
            switch tag.field {
            case 2:
                let s = try r.readString(tag, tagOffset: at)
                info.resourceVersion = s.isEmpty ? nil : s
            case 3:
                let s = try r.readString(tag, tagOffset: at)
                info.continueToken = s.isEmpty ? nil : s
            case 4:
                info.remainingItemCount = try r.readInt64(tag, tagOffset: at)
            case 1:
                try r.expect(tag, .lengthDelimited, tagOffset: at)
                _ = try r.readLengthDelimited()
            default:
                try r.skip(tag, tagOffset: at)
            }
        }
    }
}
