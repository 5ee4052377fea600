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
