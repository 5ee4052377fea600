import Testing
@testable import Selectors

/// Deterministic xorshift generator so failures reproduce.
struct XorShift: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        return state
    }
}

let fuzzAlphabet: [String] = ["a", "b", "x", "1", "0", "-", "_", ".", "/", "=", "==", "!", "!=", "(", ")", ",", ">", "<",
                              " ", "\t", "\n", "\\", "\\,", "\\=", "in", "notin", "\u{0}", "é", "K", "\u{212A}", "\"", "$", "🙂"]

func randomString(_ g: inout XorShift) -> String {
    let n = Int(g.next() % 16)
    var s = ""
    for _ in 0..<n { s += fuzzAlphabet[Int(g.next() % UInt64(fuzzAlphabet.count))] }
    return s
}

@Test func fuzzLabelSelectorsNeverCrashAndRoundTrip() {
    var g = XorShift(state: 0x9E3779B97F4A7C15)
    var parsed = 0
    for _ in 0..<20_000 {
        let s = randomString(&g)
        do {
            let sel = try LabelSelector.parse(s)
            parsed += 1
            // Canonical form re-parses to the same canonical form.
            let again = try LabelSelector.parse(sel.description)
            #expect(again.description == sel.description, "\(s.debugDescription)")
            _ = sel.matches(["a": "1", "x": "b", "b": ""])
            _ = sel.matches([:])
        } catch {
            #expect(!error.message.isEmpty)
            #expect(error.kind == .invalidLabelSelector)
        }
    }
    #expect(parsed > 100)
}

@Test func fuzzFieldSelectorsNeverCrashAndRoundTrip() {
    var g = XorShift(state: 0xDEADBEEFCAFEF00D)
    var parsed = 0
    for _ in 0..<20_000 {
        let s = randomString(&g)
        do {
            let sel = try FieldSelector.parse(s)
            parsed += 1
            let again = try FieldSelector.parse(sel.description)
            #expect(Set(again.terms) == Set(sel.terms), "\(s.debugDescription)")
            _ = sel.matches(["a": "b"])
            _ = try? FieldLabelSupport.forResource(group: "", resource: "pods").validate(sel)
        } catch {
            #expect(!error.message.isEmpty)
        }
    }
    #expect(parsed > 100)
}
