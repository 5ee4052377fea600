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
