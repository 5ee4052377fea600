import Testing
@testable import CacheCrypto
#if canImport(Glibc)
import Glibc
#endif

@Suite struct CacheKeysTests {
    @Test func renderParseRoundTrip() throws {
        let keys = CacheKeys.generate()
        #expect(try CacheKeys.parse(keys.render()) == keys)
        let rotated = try keys.rotated()
        #expect(rotated.primary.id == 2)
        #expect(rotated.keys.count == 2 && rotated.keys[1] == keys.primary)
        #expect(rotated.identity == keys.identity)
        #expect(try CacheKeys.parse(rotated.render()) == rotated)
    }

    @Test func rejectsBadFiles() {
        #expect(throws: CacheKeyError.self) { try CacheKeys.parse("") }
        #expect(throws: CacheKeyError.self) { try CacheKeys.parse("key 1 AAAA\n") }
        #expect(throws: CacheKeyError.self) { try CacheKeys.parse("key 0 \(String(repeating: "A", count: 43))=\nidentity x\n") }
        let k = CacheKeys.generate().render()
        #expect(throws: CacheKeyError.self) { try CacheKeys.parse(k + "bogus line\n") }
        #expect(throws: CacheKeyError.self) { try CacheKeys.parse(k.replacing("identity", with: "# identity")) }
    }

    @Test func keyFileIsCreatedPrivateAndReloaded() throws {
        let dir = "/tmp/outpost-keys-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        mkdir(dir, 0o755)
        defer { _ = unlink(dir + "/k"); _ = rmdir(dir) }
        let old = umask(0)
        defer { umask(old) }
        let created = try KeyFile.loadOrCreate(dir + "/k")
        #expect(created.created)
        var info = stat()
        #expect(stat(dir + "/k", &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
        let again = try KeyFile.loadOrCreate(dir + "/k")
        #expect(!again.created && again.keys == created.keys)
        chmod(dir + "/k", 0o644)
        let tightened = try KeyFile.loadOrCreate(dir + "/k")
        #expect(tightened.tightened)
        #expect(stat(dir + "/k", &info) == 0 && info.st_mode & 0o777 == 0o600)
        try KeyFile.write(try created.keys.rotated(), to: dir + "/k")
        #expect(try KeyFile.loadOrCreate(dir + "/k").keys.keys.count == 2)
        #expect(stat(dir + "/k", &info) == 0 && info.st_mode & 0o777 == 0o600)
    }
}

@Suite struct BodySealerTests {
    let body: [UInt8] = Array(#"{"kind":"Secret","data":{"password":"aHVudGVyMg=="}}"#.utf8)
    let context: [UInt8] = Array("/v1/secrets\u{0}default\u{0}db".utf8)

    @Test func sealsAndOpens() throws {
        let sealer = BodySealer(keys: .generate())
        let sealed = sealer.seal(body, context: context)
        #expect(BodySealer.isSealed(sealed))
        #expect(!BodySealer.isSealed(body))
        #expect(!containsSubsequence(sealed, Array("aHVudGVyMg".utf8)))
        #expect(try sealer.open(sealed, context: context) == body)
        // Random nonces: sealing twice differs.
        #expect(sealer.seal(body, context: context) != sealed)
        #expect(try sealer.open(sealer.seal([], context: context), context: context) == [])
    }

    @Test func refusesMovedDamagedOrForeignBodies() throws {
        let sealer = BodySealer(keys: .generate())
        var sealed = sealer.seal(body, context: context)
        #expect(throws: SealError.forged) { try sealer.open(sealed, context: Array("/v1/secrets\u{0}default\u{0}other".utf8)) }
        sealed[sealed.count - 3] ^= 1
        #expect(throws: SealError.forged) { try sealer.open(sealed, context: context) }
        let other = BodySealer(keys: .generate())
        #expect(throws: SealError.self) { try other.open(sealer.seal(body, context: context), context: context) }
        #expect(throws: SealError.notSealed) { try sealer.open(body, context: context) }
    }

    @Test func rotationKeepsOldBodiesReadable() throws {
        let keys = CacheKeys.generate()
        let old = BodySealer(keys: keys).seal(body, context: context)
        let rotated = BodySealer(keys: try keys.rotated())
        #expect(!rotated.isSealedWithPrimary(old))
        #expect(try rotated.open(old, context: context) == body)
        #expect(rotated.isSealedWithPrimary(rotated.seal(body, context: context)))
        let dropped = BodySealer(keys: try CacheKeys(keys: [try keys.rotated().primary], identity: keys.identity))
        #expect(throws: SealError.unknownKey(BodySealer.keyFingerprint(of: old)!)) { try dropped.open(old, context: context) }
        // Independent key files with the same ids never open each other's bodies.
        let stranger = BodySealer(keys: .generate())
        #expect(!stranger.isSealedWithPrimary(old))
        #expect(throws: SealError.self) { try stranger.open(old, context: context) }
    }

    @Test func identityHashIsKeyed() {
        let a = IdentityHasher(keys: .generate()), b = IdentityHasher(keys: .generate())
        let m: [UInt8] = Array("authorization\u{0}Bearer t".utf8)
        #expect(a.hash(m) == a.hash(m))
        #expect(a.hash(m) != b.hash(m))
        #expect(a.hash(m).count == 32)
    }
}

func containsSubsequence(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard needle.count <= haystack.count else { return false }
    for i in 0...(haystack.count - needle.count) where Array(haystack[i..<(i + needle.count)]) == needle { return true }
    return false
}
