/// Pure text helpers for the operator commands: ages, UTC times, sizes, aligned tables and
/// colours (only when the caller says the output is a terminal and NO_COLOR is unset).
public struct TerminalStyle: Sendable, Equatable {
    public var color: Bool
    public init(color: Bool) { self.color = color }

    /// ANSI SGR codes used: bold 1, red 31, green 32, yellow 33, dim 2.
    public func paint(_ s: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s }
    public func bold(_ s: String) -> String { paint(s, "1") }
    public func red(_ s: String) -> String { paint(s, "31") }
    public func green(_ s: String) -> String { paint(s, "32") }
    public func yellow(_ s: String) -> String { paint(s, "33") }
    public func dim(_ s: String) -> String { paint(s, "2") }

    /// Whether to colour: a terminal, and NO_COLOR unset or empty (https://no-color.org).
    public static func wantsColor(isTerminal: Bool, noColor: String?) -> Bool {
        isTerminal && (noColor ?? "").isEmpty
    }
}

public enum TerminalText {
    /// `42s`, `5m12s`, `3h04m`, `2d05h` (negative ages, from clock skew, are 0s).
    public static func age(_ seconds: Int) -> String {
        let s = max(0, seconds)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m\(two(s % 60))s" }
        if s < 86_400 { return "\(s / 3600)h\(two(s % 3600 / 60))m" }
        return "\(s / 86_400)d\(two(s % 86_400 / 3600))h"
    }

    /// Unix seconds as `2026-12-02T15:04:05Z`.
    public static func utc(_ unix: Int) -> String {
        let days = unix >= 0 ? unix / 86_400 : (unix - 86_399) / 86_400
        let secs = unix - days * 86_400
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(y)-\(two(m))-\(two(d))T\(two(secs / 3600)):\(two(secs % 3600 / 60)):\(two(secs % 60))Z"
    }

    /// `812 B`, `4.0 KiB`, `12.3 MiB`.
    public static func bytes(_ n: Int) -> String {
        if n < 1024 { return "\(n) B" }
        let units = ["KiB", "MiB", "GiB", "TiB"]
        var v = Double(n) / 1024, u = 0
        while v >= 1024, u < units.count - 1 { v /= 1024; u += 1 }
        let tenths = Int((v * 10).rounded())
        return "\(tenths / 10).\(tenths % 10) \(units[u])"
    }

    /// Visible width of `s` (ANSI escape sequences do not count).
    public static func width(_ s: String) -> Int {
        var n = 0, inEscape = false
        for c in s.unicodeScalars {
            if inEscape { if c == "m" { inEscape = false }; continue }
            if c == "\u{1B}" { inEscape = true; continue }
            n += 1
        }
        return n
    }

    /// Rows aligned in columns two spaces apart (the last column unpadded); cells may be coloured.
    public static func table(_ rows: [[String]], indent: String = "") -> String {
        guard let columns = rows.map(\.count).max(), columns > 0 else { return "" }
        var widths = [Int](repeating: 0, count: columns)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], width(c)) } }
        var out = ""
        for r in rows {
            var line = indent
            for (i, c) in r.enumerated() {
                line += c
                if i < r.count - 1 { line += String(repeating: " ", count: widths[i] - width(c) + 2) }
            }
            out += line + "\n"
        }
        return out
    }

    /// "group/version/resource" as kubectl names it: `pods`, `leases.coordination.k8s.io`.
    public static func resourceName(_ gvr: String) -> String {
        let p = gvr.split(separator: "/", omittingEmptySubsequences: false)
        guard p.count == 3 else { return gvr }
        return p[0].isEmpty ? String(p[2]) : "\(p[2]).\(p[0])"
    }
}
