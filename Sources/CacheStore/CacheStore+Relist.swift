/// What a relist changes in its scope, read before it is committed: the events a watcher that
/// saw the old state needs to reach the new one.
public struct RelistChanges: Sendable {
    /// In the list, not in the cache.
    public var added: [StoredObject] = []
    /// In both, at an older resourceVersion in the cache.
    public var modified: [StoredObject] = []
    /// In the cache (last known state), not in the list.
    public var deleted: [StoredObject] = []

    public init() {}

    public var isEmpty: Bool { added.isEmpty && modified.isEmpty && deleted.isEmpty }
    public var count: Int { added.count + modified.count + deleted.count }
}

extension CacheStore {
    /// The difference between the scope's objects and the staged list `id`, with exactly the
    /// rules `commitStagedList` applies (so the events describe what the commit does): objects
    /// the commit deletes are `deleted` with their stored bodies; staged objects that are new or
    /// at another resourceVersion (and not older than a stored one) are `added` or `modified`.
    /// Read-only; call it right before the commit, on the same thread, so nothing is written in
    /// between. Only changed objects are held in memory.
    public func relistChanges(
        _ id: StagedListID, gvr: String, namespace: String, selector: String,
        listResourceVersion: String, matchesSelector: ((StoredObject) -> Bool)?
    ) throws -> RelistChanges {
        try locked { s in
            try s.requireOpen(id, "diff")
            let c = s.connection
            var changes = RelistChanges()
            let listRV = CacheStore.numericRV(listResourceVersion)
            // Staged objects with a body (format -1 rows are unchanged keys).
            do {
                let sel = try c.prepared("""
                    SELECT s.namespace, s.name, s.rv_text, s.labels, s.fields, s.format, s.body, o.rv, o.rv_text
                    FROM staging s LEFT JOIN objects o
                      ON o.gvr=s.gvr AND o.namespace=s.namespace AND o.name=s.name
                    WHERE s.list_id=?1 AND s.format<>\(CacheStore.unchangedFormat)
                    """)
                defer { sel.reset() }
                try sel.bind(1, id.raw)
                while try sel.step() {
                    let staged = try CacheStore.object(sel, gvr: gvr, firstColumn: 0)
                    if sel.isNull(8) {
                        changes.added.append(staged)
                        continue
                    }
                    if sel.string(8) == staged.resourceVersion { continue }
                    // A watch event applied meanwhile is newer: the commit keeps it (and its
                    // watchers saw it).
                    if !sel.isNull(7), let new = CacheStore.numericRV(staged.resourceVersion), sel.int64(7) >= new { continue }
                    changes.modified.append(staged)
                }
            }
            // Objects the commit deletes, with their stored bodies.
            try CacheStore.forEachStale(c, id, gvr: gvr, namespace: namespace, selector: selector, listRV: listRV,
                                        matchesSelector: matchesSelector) { changes.deleted.append($0) }
            return changes
        }
    }
}
