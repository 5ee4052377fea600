import Foundation
import Testing
import KubeProto
@testable import KubeProtoJSON

/// SplitMix64: a seeded generator so a failure reproduces.
struct SeededRNG: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Malformed wire bytes must produce a typed error or valid JSON — never a crash.
@Suite struct FuzzTests {
    func message(_ name: String) throws -> (bytes: [UInt8], kind: String, apiVersion: String) {
        let pb = try Fixtures.bytes("\(name).pb")
        let e = try ProtoEnvelope.parse(pb)
        return (Array(pb[e.raw]), e.typeMeta.kind, e.typeMeta.apiVersion)
    }

    /// Converts; if it succeeds, the output must parse as JSON.
    func check(_ bytes: [UInt8], _ kind: String, _ apiVersion: String) -> Bool {
        guard let out = try? ProtoJSON.convert(message: bytes, kind: kind, apiVersion: apiVersion) else { return false }
        let ok = (try? JSONSerialization.jsonObject(with: Data(out))) != nil
        #expect(ok, "converted output is not JSON: \(String(decoding: out, as: UTF8.self).prefix(300))")
        return true
    }

    @Test(arguments: ["pod", "node", "deployment", "lease", "secret"])
    func truncationAtEveryOffset(_ name: String) throws {
        let (m, kind, apiVersion) = try message(name)
        var succeeded = 0
        for n in 0..<m.count where check(Array(m[..<n]), kind, apiVersion) { succeeded += 1 }
        #expect(succeeded < m.count)   // most truncations cut a length-delimited field
        #expect(check(m, kind, apiVersion))
    }

    @Test func randomMutations() throws {
        var rng = SeededRNG(state: 0x5EED_1234)
        let sources = try Fixtures.objects.map { try message($0) }
        for _ in 0..<3000 {
            var (m, kind, apiVersion) = sources[Int.random(in: 0..<sources.count, using: &rng)]
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let i = Int.random(in: 0..<m.count, using: &rng)
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: m[i] = UInt8.random(in: 0...255, using: &rng)
                case 1: m[i] ^= 1 << UInt8.random(in: 0..<8, using: &rng)
                case 2: m.insert(UInt8.random(in: 0...255, using: &rng), at: i)
                default: m.remove(at: i)
                }
            }
            _ = check(m, kind, apiVersion)
        }
    }

    @Test func randomBytes() {
        var rng = SeededRNG(state: 42)
        for _ in 0..<2000 {
            let m = (0..<Int.random(in: 0..<64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            _ = check(m, "Pod", "v1")
            _ = try? ProtoJSON.convert(envelope: ProtoEnvelope.magic + m)
        }
    }
}
