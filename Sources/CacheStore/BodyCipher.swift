/// Protects object bodies at rest. The store calls it for every body it writes to `objects` or
/// `staging` and every body it reads back, so nothing above the store sees a sealed body and
/// nothing below it sees a plain one for a sealed resource. Empty bodies (keys-only staging
/// rows) pass through untouched.
public protocol BodyCipher: Sendable {
    /// `body` as it should be stored for the object (sealed when its resource is sealed).
    func sealIfNeeded(_ body: [UInt8], gvr: String, namespace: String, name: String) -> [UInt8]
    /// The plain body of a stored one (sealed or not). Throws when a sealed body does not open
    /// (unknown key, damaged, moved to another row).
    func openIfSealed(_ stored: [UInt8], gvr: String, namespace: String, name: String) throws -> [UInt8]
    /// Whether a stored body should be rewritten with the current key: a plain body of a sealed
    /// resource, or a body sealed with an older key.
    func needsReseal(_ stored: [UInt8], gvr: String) -> Bool
    /// Changes exactly when the primary key or the set of sealed resources changes: the store
    /// re-reads its bodies at start only then.
    var stamp: [UInt8] { get }
}

/// What `CacheStore.resealBodies` did.
public struct ResealReport: Sendable, Equatable {
    public var resealed = 0
    /// Rows whose sealed body did not open (their key is gone): deleted, and their
    /// resources' scopes marked incomplete so they are fetched again.
    public var dropped = 0
}

extension CacheStore {
    /// Rewrites every stored body the cipher says needs it (a rotation's old key, a resource newly
    /// sealed by the config), in transactions of 500 rows; drops rows that cannot be opened. Then
    /// checkpoints the WAL so no plain copy stays in it (freed pages are zeroed: secure_delete).
    public func resealBodies() throws -> ResealReport {
        guard let cipher else { return ResealReport() }
        // The usual start (same key, same sealed resources) reads no body at all.
        if try meta(key: "seal-stamp") == cipher.stamp { return ResealReport() }
        var report = ResealReport()
        try withConnection { c in
            var todo: [(rowid: Int64, gvr: String, namespace: String, name: String, body: [UInt8])] = []
            do {
                let st = try c.prepared("SELECT rowid, gvr, namespace, name, body FROM objects")
                defer { st.reset() }
                while try st.step() {
                    let gvr = st.string(1), body = st.bytes(4)
                    if !body.isEmpty && cipher.needsReseal(body, gvr: gvr) {
                        todo.append((st.int64(0), gvr, st.string(2), st.string(3), body))
                    }
                }
            }
            var start = 0
            while start < todo.count {
                let batch = todo[start..<min(start + 500, todo.count)]
                start += batch.count
                try c.transaction {
                    let up = try c.prepared("UPDATE objects SET body=?2 WHERE rowid=?1")
                    defer { up.reset() }
                    let del = try c.prepared("DELETE FROM objects WHERE rowid=?1")
                    defer { del.reset() }
                    let incomplete = try c.prepared("UPDATE scopes SET complete=0 WHERE gvr=?1")
                    defer { incomplete.reset() }
                    for row in batch {
                        if let plain = try? cipher.openIfSealed(row.body, gvr: row.gvr, namespace: row.namespace, name: row.name) {
                            up.reset()
                            try up.bind(1, row.rowid)
                            try up.bind(2, cipher.sealIfNeeded(plain, gvr: row.gvr, namespace: row.namespace, name: row.name))
                            try up.run()
                            report.resealed += 1
                        } else {
                            del.reset()
                            try del.bind(1, row.rowid)
                            try del.run()
                            incomplete.reset()
                            try incomplete.bind(1, row.gvr)
                            try incomplete.run()
                            report.dropped += 1
                        }
                    }
                }
            }
            if !todo.isEmpty { try c.exec("PRAGMA wal_checkpoint(TRUNCATE)") }
        }
        try putMeta(key: "seal-stamp", value: cipher.stamp)
        return report
    }
}
