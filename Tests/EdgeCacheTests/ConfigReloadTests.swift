import CacheStore
@testable import EdgeCache
import Filters
import Logging
import Testing

@Suite("config reload (SIGHUP)")
struct ConfigReloadTests {
    private func withCache(_ body: (EdgeCache) throws -> Void) throws {
        let dir = temporaryDirectory()
        defer { removeDirectory(dir) }
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let cache = try EdgeCache(directory: dir, config: .default, logger: logger)
        defer { cache.close() }
        try body(cache)
    }

    @Test func changedFiltersResyncOnlyTheirResources() throws {
        try withCache { cache in
            let cm = StoredObject(gvr: "/v1/configmaps", namespace: "a", name: "c", resourceVersion: "5", body: Array("{}".utf8))
            let svc = StoredObject(gvr: "/v1/services", namespace: "a", name: "s", resourceVersion: "5", body: Array("{}".utf8))
            try cache.store.replaceScope(gvr: "/v1/configmaps", namespace: "a", selector: "", listResourceVersion: "5", objects: [cm])
            try cache.store.replaceScope(gvr: "/v1/services", namespace: "a", selector: "", listResourceVersion: "5", objects: [svc])

            // same rules again: nothing re-synced
            #expect(try cache.reload(.default).isEmpty)
            #expect(cache.trust.trusts("/v1/configmaps"))

            let hide = try OutpostConfig.parse(yaml: """
                filters:
                  rules:
                    - name: hide
                      resources: [configmaps]
                      namePrefix: hide-
                """)
            #expect(try cache.reload(hide) == [GroupResource(group: "", resource: "configmaps")])
            #expect(cache.config.filters.rules.map(\.name) == ["hide"])
            #expect(!cache.trust.trusts("/v1/configmaps"), "configmap scopes no longer claim to be complete")
            #expect(cache.trust.trusts("/v1/services"), "services' rules did not change")
        }
    }

    @Test func aChangedEncryptSetIsRefused() throws {
        try withCache { cache in
            let plain = try OutpostConfig.parse(yaml: "cache:\n  encrypt: []\n")
            #expect(throws: ConfigReloadError.self) { _ = try cache.reload(plain) }
            #expect(cache.config.cache.encrypted == OutpostConfig.default.cache.encrypted)
        }
    }
}
