import CSQLite

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
                try st.bind(4, now())
                try doc.body.withUnsafeBytes { body in
                    try st.bindWithoutCopy(3, body)
                    try st.run()
                }
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
    /// The keys of the documents whose key starts with `prefix`, in key order.
    public func documentKeys(prefix: String) throws -> [String] {
        try withConnection { c in
            // substr, not LIKE: a key may hold `%` or `_`.
            let st = try c.prepared("SELECT key FROM documents WHERE substr(key, 1, length(?1))=?1 ORDER BY key")
            defer { st.reset() }
            try st.bind(1, prefix)
            var out: [String] = []
            while try st.step() { out.append(st.string(0)) }
            return out
        }
    }
}

extension CacheStore {
    /// Removes the documents stored under `keys` (absent keys are ignored), in one transaction.
    public func deleteDocuments(keys: [String]) throws {
        guard !keys.isEmpty else { return }
        try withConnection { c in
            try c.transaction {
                let st = try c.prepared("DELETE FROM documents WHERE key=?1")
                for key in keys {
                    defer { st.reset() }
                    try st.bind(1, key)
                    try st.run()
                }
            }
        }
    }
}

/// A stored document located for reading in slices: an OpenAPI document is megabytes, and an
/// offline answer streams it instead of holding it whole.
public struct DocumentHandle: Sendable, Equatable {
    public var key: String
    public var contentType: String
    public var length: Int
    var rowid: Int64
}

extension CacheStore {
    /// Where the document under `key` is, or nil.
    public func documentHandle(key: String) throws -> DocumentHandle? {
        try withConnection { c in
            // length() of a BLOB reads its size, not its pages.
            let st = try c.prepared("SELECT rowid, content_type, length(body) FROM documents WHERE key=?1")
            defer { st.reset() }
            try st.bind(1, key)
            guard try st.step() else { return nil }
            return DocumentHandle(key: key, contentType: st.string(1), length: Int(st.int64(2)), rowid: st.int64(0))
        }
    }

    /// `count` bytes of the document from `offset`; nil when it was replaced or removed since the
    /// handle was taken (a refresh stored a new version): the rest would not belong to the start.
    public func documentSlice(_ h: DocumentHandle, offset: Int, count: Int) throws -> [UInt8]? {
        try withConnection { c in
            let st = try c.prepared("SELECT rowid FROM documents WHERE key=?1")
            defer { st.reset() }
            try st.bind(1, h.key)
            guard try st.step(), st.int64(0) == h.rowid else { return nil }
            var blob: OpaquePointer?
            guard sqlite3_blob_open(c.db, "main", "documents", "body", h.rowid, 0, &blob) == SQLITE_OK, let blob else {
                if let blob { sqlite3_blob_close(blob) }
                return nil
            }
            defer { sqlite3_blob_close(blob) }
            guard Int(sqlite3_blob_bytes(blob)) == h.length, offset >= 0, count >= 0, offset + count <= h.length else { return nil }
            var out = [UInt8](repeating: 0, count: count)
            let rc = out.withUnsafeMutableBytes { sqlite3_blob_read(blob, $0.baseAddress, Int32(count), Int32(offset)) }
            guard rc == SQLITE_OK else { throw c.error(rc, "read document") }
            return out
        }
    }
}

extension CacheStore {
    /// Starts a document of `length` bytes under `key` (zeros until `writeDocument` fills them),
    /// replacing what was there: a document fetched in ranges is written straight to disk.
    public func beginDocument(key: String, contentType: String, length: Int) throws {
        try withConnection { c in
            try c.transaction {
                let st = try c.prepared("""
                    INSERT OR REPLACE INTO documents(key, content_type, body, updated_at) VALUES(?1, ?2, zeroblob(?3), ?4)
                    """)
                defer { st.reset() }
                try st.bind(1, key)
                try st.bind(2, contentType)
                try st.bind(3, Int64(length))
                try st.bind(4, now())
                try st.run()
            }
        }
    }

    /// Writes `bytes` at `offset` into the document under `key` (begun with `beginDocument`).
    public func writeDocument(key: String, offset: Int, _ bytes: [UInt8]) throws {
        try withConnection { c in
            let st = try c.prepared("SELECT rowid FROM documents WHERE key=?1")
            defer { st.reset() }
            try st.bind(1, key)
            guard try st.step() else { throw CacheStoreError(code: 0, message: "no document \(key)", context: "write document") }
            let rowid = st.int64(0)
            var blob: OpaquePointer?
            let rc = sqlite3_blob_open(c.db, "main", "documents", "body", rowid, 1, &blob)
            guard rc == SQLITE_OK, let blob else {
                if let blob { sqlite3_blob_close(blob) }
                throw c.error(rc, "open document for writing")
            }
            defer { sqlite3_blob_close(blob) }
            let wrc = bytes.withUnsafeBytes { sqlite3_blob_write(blob, $0.baseAddress, Int32($0.count), Int32(offset)) }
            guard wrc == SQLITE_OK else { throw c.error(wrc, "write document") }
        }
    }

    /// Publishes the document under `from` as `to` (replacing it), in one transaction.
    public func renameDocument(from: String, to: String) throws {
        try withConnection { c in
            try c.transaction {
                let del = try c.prepared("DELETE FROM documents WHERE key=?1")
                defer { del.reset() }
                try del.bind(1, to)
                try del.run()
                let up = try c.prepared("UPDATE documents SET key=?2, updated_at=?3 WHERE key=?1")
                defer { up.reset() }
                try up.bind(1, from)
                try up.bind(2, to)
                try up.bind(3, now())
                try up.run()
            }
        }
    }
}
