import Testing
import YAMLLite

/// Deterministic xorshift generator so failures reproduce.
private struct XorShift: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
}

private let seeds: [String] = [
    """
    apiVersion: v1
    kind: Config
    clusters:
    - name: kube-lab
      cluster:
        server: https://127.0.0.1:6443
        certificate-authority-data: LS0tLS1CRUdJTi...
    users:
    - name: admin
      user:
        token: kube-lab-admin-token
    contexts:
    - name: kube-lab-admin
      context: {cluster: kube-lab, user: admin}
    current-context: kube-lab-admin
    """,
    """
    {"a": [1, 2, {"b": "c\\u00e9"}], "d": {"e": null}, 'f': 'g''h'}
    """,
    """
    --- # doc
    lit: |+2
        keep
      this

    fold: >-
      a
       b
    q: "x\\ny \\
      z"
    seq:
    - - a
      - b: [c, {d: e}]
    ...
    """,
]

/// Parsing arbitrary input must return or throw a YAMLError — never crash or hang.
private func mustNotCrash(_ bytes: [UInt8]) {
    do {
        _ = try YAML.parse(bytes: bytes)
    } catch {
        #expect(error.line >= 1)
        #expect(error.column >= 1)
        #expect(!error.message.isEmpty)
    }
}

@Suite("YAMLLite fuzz")
struct YAMLFuzzTests {
    @Test func seedsParse() throws {
        for seed in seeds {
            _ = try YAML.parse(seed)
        }
    }

    @Test func truncationsOfValidDocuments() {
        for seed in seeds {
            let bytes = Array(seed.utf8)
            for end in 0...bytes.count {
                mustNotCrash(Array(bytes[0..<end]))
                mustNotCrash(Array(bytes[end...]))
            }
        }
    }

    @Test func randomMutations() {
        var rng = XorShift(state: 0x9E37_79B9_7F4A_7C15)
        let interesting = Array(" \t\n\r-:?[]{},#&*!|>'\"%@`\\~.0aZ\u{7F}".utf8) + [0x00, 0xC3, 0xFF]
        for iteration in 0..<3000 {
            var bytes = Array(seeds[iteration % seeds.count].utf8)
            let edits = Int.random(in: 1...8, using: &rng)
            for _ in 0..<edits where !bytes.isEmpty {
                let i = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: bytes[i] = interesting.randomElement(using: &rng)!
                case 1: bytes.insert(interesting.randomElement(using: &rng)!, at: i)
                case 2: bytes.remove(at: i)
                default:
                    let j = Int.random(in: i..<bytes.count, using: &rng)
                    bytes.insert(contentsOf: bytes[i...j], at: j)
                }
            }
            mustNotCrash(bytes)
        }
    }

    @Test func randomBytes() {
        var rng = XorShift(state: 0xDEAD_BEEF_CAFE_F00D)
        let alphabet = Array(" \t\n-:?[]{},#|>'\"\\ab1".utf8)
        for _ in 0..<3000 {
            let length = Int.random(in: 0...120, using: &rng)
            let useAlphabet = Bool.random(using: &rng)
            let bytes: [UInt8] = (0..<length).map { _ in
                useAlphabet ? alphabet.randomElement(using: &rng)! : UInt8.random(in: 0...255, using: &rng)
            }
            mustNotCrash(bytes)
        }
    }
}
