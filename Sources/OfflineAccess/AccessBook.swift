/// A caller as the access book knows it: a keyed hash of its credentials (see
/// `CallerCredentials`), or Outpost's own identity.
public struct Identity: Hashable, Sendable {
    public var bytes: [UInt8]

    public init(bytes: [UInt8]) { self.bytes = bytes }

    /// Outpost's own credentials (requests that carry none). All zeros: no hash output collides
    /// with it in practice, and it survives a change of key file.
    public static let outpost = Identity(bytes: [UInt8](repeating: 0, count: 32))
}

/// What the apiserver answered a caller for an access.
public enum AccessOutcome: Int64, Sendable {
    /// Any answer that shows authentication and authorization passed (2xx, 404, 409, 410, 400, 422).
    case allowed = 1
    /// 403: authenticated, not authorized.
    case forbidden = 2
    /// 401: not authenticated (recorded for the identity, not one access).
    case unauthorized = 3

    /// The outcome an apiserver status code proves, or nil when it proves nothing (429, 5xx,
    /// errors Outpost made itself).
    public init?(statusCode: Int) {
        switch statusCode {
        case 200..<300, 400, 404, 409, 410, 422: self = .allowed
        case 401: self = .unauthorized
        case 403: self = .forbidden
        default: return nil
        }
    }
}

/// What to do with a request Outpost would answer from the cache.
public enum AccessDecision: Equatable, Sendable {
    case allow
    /// 401: the apiserver never accepted these credentials (within the lifetime), or last refused them.
    case unauthorized
    /// 403: the apiserver accepted the credentials but did not allow this access. `recorded`
    /// is its own 403 body when it refused exactly this access.
    case forbidden(recorded: [UInt8]?)
}

/// One remembered answer, as persisted (`access == nil`: the identity itself was accepted or
/// refused, whatever it asked).
public struct AccessRecord: Equatable, Sendable {
    public var identity: Identity
    public var access: Access?
    public var outcome: AccessOutcome
    /// Unix seconds.
    public var seen: Int64
    public var status: [UInt8]?

    public init(identity: Identity, access: Access?, outcome: AccessOutcome, seen: Int64, status: [UInt8]? = nil) {
        self.identity = identity
        self.access = access
        self.outcome = outcome
        self.seen = seen
        self.status = status
    }
}

/// The apiserver's authorization decisions, remembered: Outpost serves a cached answer only to a
/// caller the apiserver allowed the same access (or a covering one, see `Access.coveringAccesses`)
/// within `lifetime`, and refuses others as the apiserver would (401, or 403 with its own body
/// when it refused exactly this). Pure: the caller persists what `record` returns.
public struct AccessBook: Sendable {
    struct Entry: Sendable {
        var accepted: Int64?
        var rejected: Int64?
        /// When `accepted` / `rejected` were last handed out for persisting.
        var acceptedPersisted: Int64?
        var rejectedPersisted: Int64?
        var rules: [Access: Rule] = [:]
    }

    struct Rule: Sendable, Equatable {
        var outcome: AccessOutcome
        var seen: Int64
        var persisted: Int64
        var status: [UInt8]?
    }

    /// Seconds a confirmation stays good while the apiserver cannot be asked; nil: forever.
    public let lifetime: Int64?
    /// A record seen again within this many seconds is not persisted again.
    public let refreshInterval: Int64
    public let maxIdentities: Int
    public let maxRulesPerIdentity: Int
    private(set) var entries: [Identity: Entry] = [:]

    public init(lifetime: Int64?, refreshInterval: Int64 = 60, maxIdentities: Int = 4096, maxRulesPerIdentity: Int = 4096) {
        self.lifetime = lifetime
        self.refreshInterval = refreshInterval
        self.maxIdentities = maxIdentities
        self.maxRulesPerIdentity = maxRulesPerIdentity
    }

    public var identityCount: Int { entries.count }

    /// Whether anything is remembered about `identity` (a 401 for an unknown caller and for one
    /// the apiserver refused read the same to the caller; Outpost tells them apart for itself).
    public func knows(_ identity: Identity) -> Bool { entries[identity] != nil }

    /// Everything remembered, as records (to write the book again into a fresh file).
    public var records: [AccessRecord] {
        var out: [AccessRecord] = []
        for (id, e) in entries {
            if let a = e.accepted { out.append(AccessRecord(identity: id, access: nil, outcome: .allowed, seen: a)) }
            if let r = e.rejected { out.append(AccessRecord(identity: id, access: nil, outcome: .unauthorized, seen: r)) }
            for (access, rule) in e.rules {
                out.append(AccessRecord(identity: id, access: access, outcome: rule.outcome, seen: rule.seen, status: rule.status))
            }
        }
        return out
    }

    private func fresh(_ seen: Int64, now: Int64, maxAge: Int64? = nil) -> Bool {
        let limit = [lifetime, maxAge].compactMap { $0 }.min()
        guard let limit else { return true }
        return now - seen <= limit
    }

    /// Whether the apiserver allowed `identity` the access (or one of the same verb over a wider
    /// namespace or name) at most `maxAge`
    /// seconds ago, and has neither refused it since nor stopped accepting the caller: the test
    /// for answering from the watch cache while the apiserver is reachable.
    public func confirmedRecently(_ identity: Identity, _ access: Access, now: Int64, maxAge: Int64, sameVerb: Bool = true) -> Bool {
        guard let e = entries[identity], let accepted = e.accepted, fresh(accepted, now: now, maxAge: maxAge) else { return false }
        if let rejected = e.rejected, rejected >= accepted { return false }
        var grant: Int64?
        // With `sameVerb`, the same verb only: the apiserver authorizes list and watch
        // separately, and while it is reachable there is no reason to let one stand in for the
        // other. Without it, a list or watch of the scope counts for either.
        for a in access.coveringAccesses where !sameVerb || a.verb == access.verb {
            if let r = e.rules[a], r.outcome == .allowed, fresh(r.seen, now: now, maxAge: maxAge) { grant = max(grant ?? r.seen, r.seen) }
        }
        guard let grant else { return false }
        if let d = e.rules[access], d.outcome == .forbidden, d.seen >= grant { return false }
        return true
    }

    public func decide(_ identity: Identity, _ access: Access, now: Int64) -> AccessDecision {
        guard let e = entries[identity] else { return .unauthorized }
        var grant: Int64?
        for a in access.coveringAccesses {
            if let r = e.rules[a], r.outcome == .allowed, fresh(r.seen, now: now) { grant = max(grant ?? r.seen, r.seen) }
        }
        // The apiserver refused exactly this (an anonymous caller is refused, not unauthenticated).
        if let d = e.rules[access], d.outcome == .forbidden, d.seen >= (grant ?? .min), fresh(d.seen, now: now) {
            return .forbidden(recorded: d.status)
        }
        guard let accepted = e.accepted, fresh(accepted, now: now) else { return .unauthorized }
        if let rejected = e.rejected, rejected >= accepted { return .unauthorized }
        if access.isDiscovery { return .allow }
        return grant == nil ? .forbidden(recorded: nil) : .allow
    }

    /// Remembers what the apiserver answered. Returns the records worth persisting (new, changed,
    /// or last persisted over `refreshInterval` ago); identities over the bound are evicted
    /// (least recently accepted first) and returned in `evicted`.
    public mutating func record(_ identity: Identity, _ access: Access, outcome: AccessOutcome, status: [UInt8]? = nil,
                                now: Int64) -> (persist: [AccessRecord], evicted: [Identity]) {
        // A 401 matters only for a caller the apiserver accepted before (a revoked token): an
        // unknown caller is refused anyway, and remembering every bogus token would let a flood of
        // them push real callers out of the book.
        if outcome == .unauthorized && entries[identity]?.accepted == nil { return ([], []) }
        var e = entries[identity] ?? Entry()
        var persist: [AccessRecord] = []
        func stale(_ t: Int64?) -> Bool { t.map { now - $0 >= refreshInterval } ?? true }
        switch outcome {
        case .unauthorized:
            if stale(e.rejectedPersisted) || (e.accepted ?? .min) > (e.rejected ?? .min) {
                persist.append(AccessRecord(identity: identity, access: nil, outcome: .unauthorized, seen: now))
                e.rejectedPersisted = now
            }
            e.rejected = now
        case .allowed, .forbidden:
            // Only an answer that allowed something proves the apiserver authenticated the caller: a
            // 403 is also what an anonymous request (credentials it ignored) gets.
            if outcome == .allowed {
                if stale(e.acceptedPersisted) || (e.rejected ?? .min) >= (e.accepted ?? .min) {
                    persist.append(AccessRecord(identity: identity, access: nil, outcome: .allowed, seen: now))
                    e.acceptedPersisted = now
                }
                e.accepted = now
            }
            let status = outcome == .forbidden ? status : nil
            var rule = e.rules[access] ?? Rule(outcome: outcome, seen: now, persisted: .min, status: status)
            if rule.persisted == .min || rule.outcome != outcome || rule.status != status || stale(rule.persisted) {
                persist.append(AccessRecord(identity: identity, access: access, outcome: outcome, seen: now, status: status))
                rule.persisted = now
            }
            rule.outcome = outcome
            rule.status = status
            rule.seen = now
            e.rules[access] = rule
            if outcome == .forbidden {
                // A refusal of this access revokes every wider grant that would still cover it (RBAC
                // changed): from now on those answer 403 too, until the apiserver allows them again.
                for wider in access.coveringAccesses.dropFirst() {
                    guard var g = e.rules[wider], g.outcome == .allowed else { continue }
                    g.outcome = .forbidden
                    g.status = nil
                    g.seen = now
                    g.persisted = now
                    e.rules[wider] = g
                    persist.append(AccessRecord(identity: identity, access: wider, outcome: .forbidden, seen: now))
                }
            }
            if e.rules.count > maxRulesPerIdentity, let oldest = e.rules.min(by: { $0.value.seen < $1.value.seen })?.key {
                e.rules[oldest] = nil
            }
        }
        entries[identity] = e
        var evicted: [Identity] = []
        while entries.count > maxIdentities, let victim = evictionVictim() {
            entries[victim] = nil
            evicted.append(victim)
        }
        return (persist, evicted)
    }

    /// Who leaves a full book: a caller the apiserver never allowed anything (only refusals)
    /// before one it did, the longest unconfirmed first; never Outpost's own identity.
    private func evictionVictim() -> Identity? {
        var best: (Identity, Bool, Int64)?
        for (id, e) in entries where id != .outpost {
            let confirmed = e.accepted != nil
            let last = e.accepted ?? e.rules.values.map(\.seen).max() ?? e.rejected ?? 0
            if let b = best {
                if (b.1 && !confirmed) || (b.1 == confirmed && last < b.2) { best = (id, confirmed, last) }
            } else {
                best = (id, confirmed, last)
            }
        }
        return best?.0
    }

    /// Loads a persisted record (at start). Later records of the same key win.
    public mutating func load(_ r: AccessRecord) {
        var e = entries[r.identity] ?? Entry()
        if let access = r.access {
            if let old = e.rules[access], old.seen > r.seen { return }
            e.rules[access] = Rule(outcome: r.outcome, seen: r.seen, persisted: r.seen, status: r.status)
        } else if r.outcome == .unauthorized {
            e.rejected = max(e.rejected ?? r.seen, r.seen)
            e.rejectedPersisted = e.rejected
        } else {
            e.accepted = max(e.accepted ?? r.seen, r.seen)
            e.acceptedPersisted = e.accepted
        }
        entries[r.identity] = e
    }

    /// Forgets what is older than the lifetime. Returns the cut-off (Unix seconds) for the store,
    /// or nil when nothing was forgotten.
    @discardableResult
    public mutating func expire(now: Int64) -> Int64? {
        guard let lifetime else { return nil }
        let cutoff = now - lifetime
        var dropped = false
        for (id, var e) in entries {
            let rules = e.rules.count
            e.rules = e.rules.filter { $0.value.seen >= cutoff }
            dropped = dropped || e.rules.count != rules
            if let a = e.accepted, a < cutoff { e.accepted = nil; dropped = true }
            if let r = e.rejected, r < cutoff { e.rejected = nil; dropped = true }
            entries[id] = e.accepted == nil && e.rejected == nil && e.rules.isEmpty ? nil : e
        }
        // Nothing older in memory means nothing older on disk (the book was loaded from it): a
        // start then writes nothing.
        return dropped ? cutoff : nil
    }
}
