import Testing
@testable import KubeTable

@Suite struct AgeTests {
    @Test func humanDurationMatchesGo() {
        let cases: [(Double, String)] = [
            (-3, "<invalid>"), (-1.5, "0s"), (0, "0s"), (59.9, "59s"), (119, "119s"), (120, "2m"), (121, "2m1s"),
            (599, "9m59s"), (600, "10m"), (3 * 3600 - 1, "179m"), (3 * 3600, "3h"), (3 * 3600 + 60, "3h1m"),
            (8 * 3600, "8h"), (47 * 3600, "47h"), (48 * 3600, "2d"), (49 * 3600, "2d1h"), (8 * 86400, "8d"),
            (729 * 86400, "729d"), (730 * 86400, "2y"), (731 * 86400, "2y1d"), (8 * 365 * 86400, "8y"),
        ]
        for (seconds, text) in cases {
            #expect(Age.humanDuration(seconds: seconds) == text, "\(seconds)")
        }
    }

    @Test func parsesTimestamps() {
        #expect(Age.parseRFC3339("1970-01-01T00:00:00Z") == 0)
        #expect(Age.parseRFC3339("2026-12-02T17:35:42Z") == 1_796_232_942)
        #expect(Age.parseRFC3339("2026-12-02T17:35:42.5Z") == 1_796_232_942.5)
        #expect(Age.parseRFC3339("2026-12-02T18:35:42+01:00") == 1_796_232_942)
        #expect(Age.parseRFC3339("2026-12-02") == nil)
        #expect(Age.since("", now: 5) == "<unknown>")
        #expect(Age.since("1970-01-01T00:00:00Z", now: 3661) == "61m")
    }
}
