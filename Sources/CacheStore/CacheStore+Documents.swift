/// A response cached verbatim (discovery: `/api`, `/apis`, `/apis/<group>/<version>` ...), replayed as is.
public struct StoredDocument: Sendable, Equatable {
    /// The response's Content-Type.
    public var contentType: String
    public var body: [UInt8]

    public init(contentType: String, body: [UInt8]) {
        self.contentType = contentType
        self.body = body
    }
}

extension CacheStore {
    /// Stores `doc` under `key` (e.g. the request path), replacing what was there, in one transaction.
    public func putDocument(key: String, _ doc: StoredDocument) throws {
        try withConnection { c in
            try c.transaction {
                let st = try c.prepared("""
                    INSERT OR REPLACE INTO documents(key, content_type, body, updated_at) VALUES(?1, ?2, ?3, ?4)
                    """)
                defer { st.reset() }
                try st.bind(1, key)
                try st.bind(2, doc.contentType)
                try st.bind(3, doc.body)
                try st.bind(4, now())
                try st.run()
            }
        }
    }

    /// The document stored under `key`, or nil.
    public func document(key: String) throws -> StoredDocument? {
        try withConnection { c in
            let st = try c.prepared("SELECT content_type, body FROM documents WHERE key=?1")
            defer { st.reset() }
            try st.bind(1, key)
            return try st.step() ? StoredDocument(contentType: st.string(0), body: st.bytes(1)) : nil
        }
    }
}

extension CacheStore {
    /// Every document whose key starts with `keyPrefix`, by key (discovery documents are few).
    public func documents(keyPrefix: String) throws -> [(key: String, document: StoredDocument)] {
        try withConnection { c in
            let st = try c.prepared("SELECT key, content_type, body FROM documents WHERE substr(key, 1, length(?1)) = ?1 ORDER BY key")
            defer { st.reset() }
            try st.bind(1, keyPrefix)
            var out: [(key: String, document: StoredDocument)] = []
            while try st.step() {
                out.append((st.string(0), StoredDocument(contentType: st.string(1), body: st.bytes(2))))
            }
            return out
        }
    }
}
