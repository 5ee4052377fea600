import Testing
@testable import OfflineAccess

@Suite struct CallerCredentialsTests {
    @Test func noCredentialsIsOutpost() {
        #expect(CallerCredentials(headers: [(name: "Accept", value: "application/json")]) == .outpost)
    }

    @Test func authorizationAndImpersonationCount() {
        let a = CallerCredentials(headers: [(name: "Authorization", value: "Bearer x")])
        let b = CallerCredentials(headers: [(name: "authorization", value: "Bearer x"), (name: "Impersonate-User", value: "nobody")])
        let c = CallerCredentials(headers: [(name: "Impersonate-User", value: "nobody")])
        #expect(a != .outpost && b != .outpost && c != .outpost)
        #expect(a != b && b != c && a != c)
        #expect(a == CallerCredentials(headers: [(name: "AUTHORIZATION", value: "Bearer x"), (name: "Accept", value: "*/*")]))
    }

    @Test func impersonationOrderByNameOnly() {
        let g1 = CallerCredentials(headers: [(name: "Impersonate-Group", value: "a"), (name: "Impersonate-User", value: "u"),
                                              (name: "Impersonate-Group", value: "b")])
        let g2 = CallerCredentials(headers: [(name: "Impersonate-User", value: "u"), (name: "Impersonate-Group", value: "a"),
                                              (name: "Impersonate-Group", value: "b")])
        let g3 = CallerCredentials(headers: [(name: "Impersonate-User", value: "u"), (name: "Impersonate-Group", value: "b"),
                                              (name: "Impersonate-Group", value: "a")])
        #expect(g1 == g2)
        #expect(g1 != g3)
    }
}

@Suite struct AccessBookTests {
    let alice = Identity(bytes: [UInt8](repeating: 1, count: 32))
    let bob = Identity(bytes: [UInt8](repeating: 2, count: 32))
    let listPodsDefault = Access(verb: "list", group: "", resource: "pods", namespace: "default")

    @Test func unknownIdentityIsUnauthorized() {
        let book = AccessBook(lifetime: 3600)
        #expect(book.decide(alice, listPodsDefault, now: 100) == .unauthorized)
        #expect(book.decide(.outpost, listPodsDefault, now: 100) == .unauthorized)
        #expect(book.decide(alice, .discovery, now: 100) == .unauthorized)
    }

    /// While the apiserver is reachable, the watch cache answers only a caller confirmed for
    /// this very verb recently; a list does not stand in for a watch (or the reverse), a wider
    /// namespace does, and a later refusal or an older confirmation does not count.
    @Test func confirmedRecentlyIsPerVerbAndFresh() {
        var book = AccessBook(lifetime: 7 * 86400)
        let watchPods = Access(verb: "watch", group: "", resource: "pods", namespace: "default")
        _ = book.record(alice, listPodsDefault, outcome: .allowed, now: 100)
        #expect(book.confirmedRecently(alice, listPodsDefault, now: 150, maxAge: 300))
        #expect(!book.confirmedRecently(alice, watchPods, now: 150, maxAge: 300))
        #expect(book.confirmedRecently(alice, watchPods, now: 150, maxAge: 300, sameVerb: false))
        #expect(!book.confirmedRecently(alice, listPodsDefault, now: 401, maxAge: 300))
        _ = book.record(alice, Access(verb: "watch", group: "", resource: "pods"), outcome: .allowed, now: 200)
        #expect(book.confirmedRecently(alice, watchPods, now: 250, maxAge: 300))
        _ = book.record(alice, watchPods, outcome: .forbidden, now: 260)
        #expect(!book.confirmedRecently(alice, watchPods, now: 270, maxAge: 300))
        #expect(!book.confirmedRecently(bob, listPodsDefault, now: 150, maxAge: 300))
    }

    @Test func allowedAccessIsRemembered() {
        var book = AccessBook(lifetime: 3600)
        _ = book.record(alice, listPodsDefault, outcome: .allowed, now: 100)
        #expect(book.decide(alice, listPodsDefault, now: 200) == .allow)
        #expect(book.decide(alice, .discovery, now: 200) == .allow)
        // A list showed alice every pod in default: a watch or a get there discloses nothing more.
        #expect(book.decide(alice, Access(verb: "watch", group: "", resource: "pods", namespace: "default"), now: 200) == .allow)
        #expect(book.decide(alice, Access(verb: "get", group: "", resource: "pods", namespace: "default", name: "p"), now: 200) == .allow)
        // A get covers only that get; writes are never covered.
        _ = book.record(bob, Access(verb: "get", group: "", resource: "pods", namespace: "default", name: "p"), outcome: .allowed, now: 100)
        #expect(book.decide(bob, Access(verb: "get", group: "", resource: "pods", namespace: "default", name: "p"), now: 200) == .allow)
        #expect(book.decide(bob, listPodsDefault, now: 200) == .forbidden(recorded: nil))
        #expect(book.decide(bob, Access(verb: "get", group: "", resource: "pods", namespace: "default", name: "q"), now: 200) == .forbidden(recorded: nil))
        #expect(book.decide(alice, Access(verb: "update", group: "", resource: "pods", namespace: "default", name: "p"), now: 200) == .forbidden(recorded: nil))
        // Another namespace, another resource, all namespaces: not granted (403, the identity is known).
        #expect(book.decide(alice, Access(verb: "list", group: "", resource: "pods", namespace: "kube-system"), now: 200) == .forbidden(recorded: nil))
        #expect(book.decide(alice, Access(verb: "list", group: "", resource: "secrets", namespace: "default"), now: 200) == .forbidden(recorded: nil))
        #expect(book.decide(alice, Access(verb: "list", group: "", resource: "pods"), now: 200) == .forbidden(recorded: nil))
        // Another caller learns nothing from alice's grant.
        #expect(book.decide(Identity(bytes: [UInt8](repeating: 9, count: 32)), listPodsDefault, now: 200) == .unauthorized)
    }

    @Test func widerGrantsCoverNarrowerAccesses() {
        var book = AccessBook(lifetime: 3600)
        _ = book.record(alice, Access(verb: "list", group: "", resource: "pods"), outcome: .allowed, now: 100)
        #expect(book.decide(alice, listPodsDefault, now: 101) == .allow)
        #expect(book.decide(alice, Access(verb: "list", group: "", resource: "pods", namespace: "x", name: "p"), now: 101) == .allow)
        _ = book.record(bob, Access(verb: "watch", group: "", resource: "secrets", namespace: "ns", name: "s1"), outcome: .allowed, now: 100)
        #expect(book.decide(bob, Access(verb: "watch", group: "", resource: "secrets", namespace: "ns", name: "s1"), now: 101) == .allow)
        #expect(book.decide(bob, Access(verb: "watch", group: "", resource: "secrets", namespace: "ns", name: "s2"), now: 101) == .forbidden(recorded: nil))
        #expect(book.decide(bob, Access(verb: "watch", group: "", resource: "secrets", namespace: "ns"), now: 101) == .forbidden(recorded: nil))
    }

    @Test func lifetimeExpires() {
        var book = AccessBook(lifetime: 60)
        _ = book.record(alice, listPodsDefault, outcome: .allowed, now: 100)
        #expect(book.decide(alice, listPodsDefault, now: 160) == .allow)
        #expect(book.decide(alice, listPodsDefault, now: 161) == .unauthorized)
        var forever = AccessBook(lifetime: nil)
        _ = forever.record(alice, listPodsDefault, outcome: .allowed, now: 100)
        #expect(forever.decide(alice, listPodsDefault, now: 100 + 10 * 365 * 86400) == .allow)
    }

    @Test func latestAnswerWins() {
        var book = AccessBook(lifetime: 3600)
        let body: [UInt8] = Array(#"{"kind":"Status","code":403}"#.utf8)
        _ = book.record(alice, listPodsDefault, outcome: .allowed, now: 100)
        _ = book.record(alice, listPodsDefault, outcome: .forbidden, status: body, now: 110)
        #expect(book.decide(alice, listPodsDefault, now: 120) == .forbidden(recorded: body))
        _ = book.record(alice, listPodsDefault, outcome: .allowed, now: 130)
        #expect(book.decide(alice, listPodsDefault, now: 140) == .allow)
        // A 401 (token revoked) outranks every grant until the identity is accepted again.
        _ = book.record(alice, listPodsDefault, outcome: .unauthorized, now: 150)
        #expect(book.decide(alice, listPodsDefault, now: 151) == .unauthorized)
        _ = book.record(alice, listPodsDefault, outcome: .allowed, now: 160)
        #expect(book.decide(alice, listPodsDefault, now: 161) == .allow)
    }

    @Test func exactDenialBeatsOlderCoveringGrant() {
        var book = AccessBook(lifetime: 3600)
        let named = Access(verb: "get", group: "", resource: "secrets", namespace: "ns", name: "s")
        _ = book.record(alice, Access(verb: "get", group: "", resource: "secrets", namespace: "ns"), outcome: .allowed, now: 100)
        _ = book.record(alice, named, outcome: .forbidden, now: 110)
        #expect(book.decide(alice, named, now: 111) == .forbidden(recorded: nil))
    }

    @Test func persistsOnlyWhatIsNewOrStale() {
        var book = AccessBook(lifetime: 3600, refreshInterval: 60)
        let first = book.record(alice, listPodsDefault, outcome: .allowed, now: 100)
        #expect(first.persist.count == 2)  // the identity and the access
        #expect(book.record(alice, listPodsDefault, outcome: .allowed, now: 130).persist.isEmpty)
        #expect(book.record(alice, listPodsDefault, outcome: .allowed, now: 170).persist.count == 2)
        #expect(book.record(alice, listPodsDefault, outcome: .forbidden, now: 171).persist.count == 1)
    }

    @Test func boundedByIdentities() {
        var book = AccessBook(lifetime: nil, maxIdentities: 3)
        for i in 0..<5 {
            let id = Identity(bytes: [UInt8](repeating: UInt8(10 + i), count: 32))
            let r = book.record(id, listPodsDefault, outcome: .allowed, now: Int64(100 + i))
            #expect(r.evicted.count == (i >= 3 ? 1 : 0))
        }
        #expect(book.identityCount == 3)
        #expect(book.decide(Identity(bytes: [UInt8](repeating: 10, count: 32)), listPodsDefault, now: 200) == .unauthorized)
        #expect(book.decide(Identity(bytes: [UInt8](repeating: 14, count: 32)), listPodsDefault, now: 200) == .allow)
    }

    @Test func loadRestoresDecisions() {
        var book = AccessBook(lifetime: 3600)
        let records = book.record(alice, listPodsDefault, outcome: .allowed, now: 100).persist
        var restored = AccessBook(lifetime: 3600)
        for r in records { restored.load(r) }
        #expect(restored.decide(alice, listPodsDefault, now: 200) == .allow)
        #expect(restored.decide(bob, listPodsDefault, now: 200) == .unauthorized)
    }

    @Test func expireDropsOldRecords() {
        var book = AccessBook(lifetime: 100)
        _ = book.record(alice, listPodsDefault, outcome: .allowed, now: 100)
        _ = book.record(bob, listPodsDefault, outcome: .allowed, now: 250)
        #expect(book.expire(now: 300) == 200)
        #expect(book.expire(now: 300) == nil, "nothing more to forget: the store is not written")
        #expect(book.identityCount == 1)
    }

    @Test func statusCodesMapToOutcomes() {
        #expect(AccessOutcome(statusCode: 200) == .allowed)
        #expect(AccessOutcome(statusCode: 404) == .allowed)
        #expect(AccessOutcome(statusCode: 410) == .allowed)
        #expect(AccessOutcome(statusCode: 401) == .unauthorized)
        #expect(AccessOutcome(statusCode: 403) == .forbidden)
        #expect(AccessOutcome(statusCode: 429) == nil)
        #expect(AccessOutcome(statusCode: 500) == nil)
        #expect(AccessOutcome(statusCode: 503) == nil)
    }
}

/// What an attacker's probe found (issue 10 review): each case a wrong answer before the fix.
@Suite struct AccessBookAttackTests {
    let real = Identity(bytes: [UInt8](repeating: 1, count: 32))
    let listSecrets = Access(verb: "list", group: "", resource: "secrets", namespace: "a")

    @Test func aFloodOfBogusTokensNeverEntersTheBook() {
        var book = AccessBook(lifetime: nil, maxIdentities: 8)
        _ = book.record(real, listSecrets, outcome: .allowed, now: 1)
        _ = book.record(.outpost, listSecrets, outcome: .allowed, now: 1)
        for i in 0..<1000 {
            let r = book.record(Identity(bytes: [UInt8](repeating: 0, count: 31) + [UInt8(i % 250 + 3)]) , .discovery,
                                outcome: .unauthorized, now: 2 + Int64(i))
            #expect(r.persist.isEmpty && r.evicted.isEmpty)
        }
        #expect(book.identityCount == 2)
        #expect(book.decide(real, listSecrets, now: 5000) == .allow)
    }

    @Test func refusedOnlyCallersAreEvictedFirstAndOutpostNever() {
        var book = AccessBook(lifetime: nil, maxIdentities: 4)
        _ = book.record(.outpost, listSecrets, outcome: .allowed, now: 1)
        _ = book.record(real, listSecrets, outcome: .allowed, now: 2)
        for i in 0..<50 {
            _ = book.record(Identity(bytes: [UInt8](repeating: UInt8(100 + i), count: 32)), listSecrets, outcome: .forbidden,
                            now: 10 + Int64(i))
        }
        #expect(book.identityCount == 4)
        #expect(book.decide(.outpost, listSecrets, now: 100) == .allow)
        #expect(book.decide(real, listSecrets, now: 100) == .allow)
    }

    @Test func aRefusalDoesNotMakeACallerAuthenticated() {
        var book = AccessBook(lifetime: nil)
        let anonymous = Identity(bytes: [UInt8](repeating: 7, count: 32))
        let body: [UInt8] = Array("403 body".utf8)
        _ = book.record(anonymous, listSecrets, outcome: .forbidden, status: body, now: 1)
        #expect(book.decide(anonymous, listSecrets, now: 2) == .forbidden(recorded: body))
        #expect(book.decide(anonymous, .discovery, now: 2) == .unauthorized)
        _ = book.record(anonymous, .discovery, outcome: .forbidden, status: body, now: 3)
        #expect(book.decide(anonymous, .discovery, now: 4) == .forbidden(recorded: body))
    }

    @Test func aRefusalRevokesTheWiderGrantsThatCoveredIt() {
        var book = AccessBook(lifetime: nil)
        let get = Access(verb: "get", group: "", resource: "secrets", namespace: "a", name: "s-ok")
        let pinnedList = Access(verb: "list", group: "", resource: "secrets", namespace: "a", name: "s-ok")
        _ = book.record(real, pinnedList, outcome: .allowed, now: 1)
        #expect(book.decide(real, get, now: 2) == .allow)
        let r = book.record(real, get, outcome: .forbidden, now: 3)
        #expect(r.persist.contains { $0.access == pinnedList && $0.outcome == .forbidden })
        #expect(book.decide(real, get, now: 4) == .forbidden(recorded: nil))
        #expect(book.decide(real, pinnedList, now: 4) == .forbidden(recorded: nil))
        _ = book.record(real, pinnedList, outcome: .allowed, now: 5)
        #expect(book.decide(real, pinnedList, now: 6) == .allow)
    }

    @Test func credentialsNamedInConnectionAreNotTheCallers() {
        let stripped = CallerCredentials(headers: [(name: "Authorization", value: "Bearer x"), (name: "Connection", value: "keep-alive, Authorization")])
        #expect(stripped == .outpost)
        let impersonation = CallerCredentials(headers: [(name: "Impersonate-User", value: "u"), (name: "connection", value: "impersonate-user")])
        #expect(impersonation == .outpost)
    }
}

@Suite struct CanonicalCredentialTests {
    @Test(arguments: ["Bearer tok", "bearer tok", "BEARER tok", "Bearer tok junk-1", "Bearer tok junk-2", "  Bearer tok\t", "Bearer tok "])
    func bearerVariantsAreOneCaller(_ header: String) {
        #expect(CallerCredentials(headers: [(name: "Authorization", value: header)])
                == CallerCredentials(headers: [(name: "Authorization", value: "Bearer tok")]))
    }

    @Test func onlyTheFirstAuthorizationHeaderCounts() {
        #expect(CallerCredentials(headers: [(name: "Authorization", value: "Bearer tok"), (name: "Authorization", value: "Bearer other")])
                == CallerCredentials(headers: [(name: "Authorization", value: "Bearer tok")]))
    }

    @Test func otherSchemesAndTokensStayDistinct() {
        let tok = CallerCredentials(headers: [(name: "Authorization", value: "Bearer tok")])
        #expect(CallerCredentials(headers: [(name: "Authorization", value: "Bearer tok2")]) != tok)
        #expect(CallerCredentials(headers: [(name: "Authorization", value: "Basic eDp5")]) != tok)
        #expect(CallerCredentials(headers: [(name: "Authorization", value: "Bearer  tok")]) != tok, "an empty second field is no bearer token")
    }
}
