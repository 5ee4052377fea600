/// One streamed list being staged (see `CacheStore.beginStagedList`). Unique per store instance.
public struct StagedListID: Hashable, Sendable {
    public let raw: Int64

    public init(raw: Int64) {
        self.raw = raw
    }
}

/// Streamed lists: the items of a large list are written to `staging` in chunks as they arrive, so the list is never
/// held in memory, and reach `objects` in one transaction when the list finished. Readers see the old scope until
/// that commit; a list cut mid-stream is discarded and changes nothing.
extension CacheStore {
    /// Starts a staged list: `stage` its items as they arrive, then `commitStagedList` when the list completed or
    /// `discardStagedList` when it was cut. Touches no file.
    public func beginStagedList() throws -> StagedListID {
        try locked { s in
            let id = s.nextListID
            s.nextListID += 1
            s.openLists.insert(id)
            return StagedListID(raw: id)
        }
    }

    /// Adds `objects` (the next chunk of the list's items) to the staged list in ONE transaction; readers see nothing
    /// of it. An item staged twice (same gvr, namespace and name) keeps the later copy. Throws for a list not begun on
    /// this store, or already committed or discarded. After a failure (e.g. `isDiskFull`) the list is still open but
    /// has lost items: it can only be discarded (`commitStagedList` refuses it, so a partial staging never becomes a
    /// scope).
    public func stage(_ id: StagedListID, objects: [StoredObject]) throws {
        try locked { s in
            try s.requireOpen(id, "stage")
            guard !objects.isEmpty else { return }
            let c = s.connection
            do { try c.transaction {
                let st = try c.prepared("""
                    INSERT OR REPLACE INTO staging(list_id, \(CacheStore.objectColumns))
                    VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                    """)
                defer { st.reset() }
                // A relist mostly repeats what is stored: an object already stored at the same
                // resourceVersion in the same format is staged as its key only (format -1, no
                // body), so an unchanged 10 000-pod relist writes keys, not 26 MB twice.
                let same = try c.prepared("""
                    SELECT 1 FROM objects WHERE gvr=?1 AND namespace=?2 AND name=?3 AND rv_text=?4 AND format=?5
                    """)
                defer { same.reset() }
                let key = try c.prepared("""
                    INSERT OR REPLACE INTO staging(list_id, \(CacheStore.objectColumns))
                    VALUES(?1, ?2, ?3, ?4, ?5, ?6, '', '', \(CacheStore.unchangedFormat), x'')
                    """)
                defer { key.reset() }
                for o in objects {
                    same.reset()
                    try same.bind(1, o.gvr)
                    try same.bind(2, o.namespace)
                    try same.bind(3, o.name)
                    try same.bind(4, o.resourceVersion)
                    try same.bind(5, o.format.rawValue)
                    if !o.resourceVersion.isEmpty, try same.step() {
                        key.reset()
                        try key.bind(1, id.raw)
                        try key.bind(2, o.gvr)
                        try key.bind(3, o.namespace)
                        try key.bind(4, o.name)
                        try key.bind(5, CacheStore.numericRV(o.resourceVersion))
                        try key.bind(6, o.resourceVersion)
                        try key.run()
                        continue
                    }
                    st.reset()
                    try st.bind(1, id.raw)
                    try CacheStore.bind(st, o, from: 2)
                    try st.run()
                }
            } } catch {
                s.failedLists[id.raw] = "\(error)"
                throw error
            }
        }
    }

    /// Makes a completed staged list the scope (gvr, namespace, selector), in ONE transaction:
    /// 1. deletes the objects of `gvr` in `namespace` ("" = all namespaces) that are not in the staged set and whose
    ///    resourceVersion is numerically <= `listResourceVersion` (an object created by a watch event newer than the
    ///    list survives; a non-numeric version on either side counts as not newer than the list). With a `selector`,
    ///    only objects for which `matchesSelector` returns true are candidates, and none when it is nil;
    ///    without one `matchesSelector` is ignored;
    /// 2. upserts every staged object unless the stored row has a numerically higher-or-equal resourceVersion (a
    ///    watch event applied during the list wins);
    /// 3. sets the scope complete at `listResourceVersion`, updated now;
    /// 4. deletes the list's staging rows.
    /// Returns the number of objects in the staged set. `matchesSelector` runs under the store's lock and must not
    /// call the store. Throws for a list not begun on this store, or already committed or discarded (so a repeated
    /// commit cannot empty the scope), and for a list a `stage` of which failed (a partial staging never becomes a
    /// scope). After a failure nothing changed and the list is still open: discard it.
    @discardableResult
    public func commitStagedList(
        _ id: StagedListID, gvr: String, namespace: String, selector: String,
        listResourceVersion: String, matchesSelector: ((StoredObject) -> Bool)?
    ) throws -> Int {
        try locked { s in
            try s.requireOpen(id, "commit")
            if let why = s.failedLists[id.raw] {
                throw CacheStoreError(
                    code: 0, message: "staged list \(id.raw) lost items to a failed write (\(why)); it cannot complete a scope",
                    context: "commit staged list")
            }
            let c = s.connection
            let count = try c.transaction { () -> Int in
                try CacheStore.deleteStale(
                    c, id, gvr: gvr, namespace: namespace, selector: selector,
                    listRV: CacheStore.numericRV(listResourceVersion), matchesSelector: matchesSelector)
                let up = try c.prepared("""
                    INSERT INTO objects(\(CacheStore.objectColumns))
                    SELECT \(CacheStore.objectColumns) FROM staging WHERE list_id=?1 AND format<>\(CacheStore.unchangedFormat)
                    """ + CacheStore.onConflictReplace + CacheStore.onlyIfNewerCondition)
                defer { up.reset() }
                try up.bind(1, id.raw)
                try up.run()
                let count = try CacheStore.stagedCount(c, id)
                try CacheStore.setScopeComplete(
                    c, gvr: gvr, namespace: namespace, selector: selector, rv: listResourceVersion)
                try CacheStore.deleteStaging(c, id)
                return count
            }
            s.openLists.remove(id.raw)
            return count
        }
    }

    /// Drops a staged list (cut mid-stream, or superseded): deletes its staging rows; the cache is unchanged.
    /// The list is closed even if the delete fails (its rows then go at the next open). Discarding a list that is
    /// unknown, committed or already discarded only deletes whatever rows it still has.
    public func discardStagedList(_ id: StagedListID) throws {
        try locked { s in
            s.openLists.remove(id.raw)
            s.failedLists.removeValue(forKey: id.raw)
            let c = s.connection
            try c.transaction { try CacheStore.deleteStaging(c, id) }
        }
    }

    // MARK: helpers (called with the lock held)

    /// Deletes every staging row: on open, rows there belong to lists of a previous process that never committed.
    static func clearStaging(_ c: Connection) throws {
        try c.exec("DELETE FROM staging")
    }

    private static func deleteStaging(_ c: Connection, _ id: StagedListID) throws {
        let st = try c.prepared("DELETE FROM staging WHERE list_id=?1")
        defer { st.reset() }
        try st.bind(1, id.raw)
        try st.run()
    }

    private static func stagedCount(_ c: Connection, _ id: StagedListID) throws -> Int {
        let st = try c.prepared("SELECT count(*) FROM staging WHERE list_id=?1")
        defer { st.reset() }
        try st.bind(1, id.raw)
        _ = try st.step()
        return Int(st.int64(0))
    }

    /// Step 1 of `commitStagedList`. Without a selector one DELETE does it; with one, candidates are read, decoded
    /// and tested first (keys collected, bodies not kept), then deleted.
    private static func deleteStale(
        _ c: Connection, _ id: StagedListID, gvr: String, namespace: String, selector: String, listRV: Int64?,
        matchesSelector: ((StoredObject) -> Bool)?
    ) throws {
        if selector.isEmpty {
            let del = try c.prepared("DELETE FROM objects " + staleCondition(namespace: namespace))
            defer { del.reset() }
            try bindStale(del, id, gvr: gvr, namespace: namespace, listRV: listRV)
            try del.run()
            return
        }
        var doomed: [Key] = []
        try forEachStale(c, id, gvr: gvr, namespace: namespace, selector: selector, listRV: listRV,
                         matchesSelector: matchesSelector) { doomed.append(Key(namespace: $0.namespace, name: $0.name)) }
        for k in doomed { _ = try delete(c, gvr: gvr, namespace: k.namespace, name: k.name) }
    }

    /// The objects a commit of staged list `id` as scope (gvr, namespace, selector) deletes (see
    /// `commitStagedList` step 1), decoded, in store order: shared by the commit and by
    /// `relistChanges`, so the difference a relist reports is exactly what its commit does.
    static func forEachStale(
        _ c: Connection, _ id: StagedListID, gvr: String, namespace: String, selector: String, listRV: Int64?,
        matchesSelector: ((StoredObject) -> Bool)?, _ body: (StoredObject) throws -> Void
    ) throws {
        // A selector scope deletes only what its selector matches; without a matcher, nothing.
        if !selector.isEmpty && matchesSelector == nil { return }
        let sel = try c.prepared("SELECT namespace, name, rv_text, labels, fields, format, body FROM objects "
                                 + staleCondition(namespace: namespace))
        defer { sel.reset() }
        try bindStale(sel, id, gvr: gvr, namespace: namespace, listRV: listRV)
        while try sel.step() {
            let o = try object(sel, gvr: gvr, firstColumn: 0)
            if selector.isEmpty || matchesSelector!(o) { try body(o) }
        }
    }

    /// ?1 gvr, ?2 namespace, ?3 list rv (NULL: non-numeric, every object counts as not newer), ?4 list id.
    private static func staleCondition(namespace: String) -> String {
        """
        WHERE objects.gvr=?1\(namespace.isEmpty ? "" : " AND objects.namespace=?2")
        AND (objects.rv IS NULL OR ?3 IS NULL OR objects.rv <= ?3)
        AND NOT EXISTS(SELECT 1 FROM staging WHERE staging.list_id=?4 AND staging.gvr=objects.gvr
                       AND staging.namespace=objects.namespace AND staging.name=objects.name)
        """
    }

    private static func bindStale(_ st: Statement, _ id: StagedListID, gvr: String, namespace: String, listRV: Int64?) throws {
        try st.bind(1, gvr)
        if !namespace.isEmpty { try st.bind(2, namespace) }
        try st.bind(3, listRV)
        try st.bind(4, id.raw)
    }
}

extension CacheStore.State {
    /// Throws unless `id` was begun on this store and is neither committed nor discarded.
    func requireOpen(_ id: StagedListID, _ action: String) throws {
        guard openLists.contains(id.raw) else {
            throw CacheStoreError(
                code: 0, message: "staged list \(id.raw) is not open (never begun, committed or discarded)",
                context: "\(action) staged list")
        }
    }
}
