import KubeProto

// Byte-level output helpers that reproduce what the apiserver's Go code writes: encoding/json
// string escaping (straight from wire bytes, so invalid UTF-8 is handled the way Go handles it,
// not the way Swift's String repairs it), base64 for []byte, and the custom marshallers of
// metav1.Time / MicroTime / Duration. `compactJSON` re-implements what encoding/json does with a
// Marshaler's output (validate, strip whitespace, HTML-escape) for RawExtension and FieldsV1.

enum GoJSON {
    static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// Appends `bytes` as a JSON string literal, exactly like Go's encodeState.string with
    /// escapeHTML: `"` `\` `\n` `\r` `\t` short escapes, `\b` `\f` (Go ≥ 1.22 and KubeJSON;
    /// Go 1.15 wrote `\u0008`/`\u000c`, equal after parsing), other controls and `<` `>` `&` as
    /// `\u00XX`, U+2028/U+2029 escaped, and every byte that does not start a valid UTF-8
    /// sequence (Go's DecodeRune: overlongs, surrogates and > U+10FFFF are invalid) as `\ufffd`.
    static func appendString(_ s: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        out.append(0x22)
        let n = s.count
        var i = 0
        var runStart = 0
        @inline(__always) func flush(_ end: Int, _ out: inout [UInt8]) {
            if end > runStart { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: s[runStart..<end])) }
        }
        while i < n {
            let c = s[i]
            if c < 0x80 {
                var short: UInt8 = 0
                switch c {
                case 0x22: short = 0x22
                case 0x5C: short = 0x5C
                case 0x0A: short = 0x6E
                case 0x0D: short = 0x72
                case 0x09: short = 0x74
                case 0x08: short = 0x62
                case 0x0C: short = 0x66
                case 0x3C, 0x3E, 0x26, 0..<0x20: break
                default: i += 1; continue
                }
                flush(i, &out)
                out.append(0x5C)
                if short != 0 {
                    out.append(short)
                } else {
                    out.append(contentsOf: [0x75, 0x30, 0x30, hex[Int(c >> 4)], hex[Int(c & 0xF)]])
                }
                i += 1
                runStart = i
                continue
            }
            let width = utf8Width(s, i)
            if width == 0 {
                flush(i, &out)
                out.append(contentsOf: [0x5C, 0x75, 0x66, 0x66, 0x66, 0x64])   // \ufffd
                i += 1
                runStart = i
            } else if width == 3 && c == 0xE2 && s[i + 1] == 0x80 && (s[i + 2] == 0xA8 || s[i + 2] == 0xA9) {
                flush(i, &out)
                out.append(contentsOf: [0x5C, 0x75, 0x32, 0x30, 0x32, s[i + 2] == 0xA8 ? 0x38 : 0x39])
                i += 3
                runStart = i
            } else {
                i += width
            }
        }
        flush(n, &out)
        out.append(0x22)
    }

    static func appendString(_ s: String, to out: inout [UInt8]) {
        var s = s
        s.withUTF8 { appendString(UnsafeRawBufferPointer($0), to: &out) }
    }

    /// Length of the valid UTF-8 sequence starting at `i` (a byte ≥ 0x80), or 0 if invalid —
    /// the table in Go's unicode/utf8 (acceptRanges).
    @inline(__always) static func utf8Width(_ s: UnsafeRawBufferPointer, _ i: Int) -> Int {
        GoUTF8.width(s, i)
    }

    static func appendInt(_ v: Int64, to out: inout [UInt8]) {
        if v == 0 { out.append(0x30); return }
        var u = v.magnitude
        var tmp: (UInt64, UInt64, UInt64) = (0, 0, 0)   // 24 bytes of scratch, no allocation
        var len = 0
        withUnsafeMutableBytes(of: &tmp) { b in
            while u > 0 { b[23 - len] = UInt8(u % 10) + 0x30; u /= 10; len += 1 }
            if v < 0 { out.append(0x2D) }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: b[(24 - len)...]))
        }
    }

    // MARK: base64 ([]byte)

    static let b64: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Go marshals []byte as a standard, padded base64 string.
    static func appendBase64(_ s: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        out.append(0x22)
        var i = 0
        let n = s.count
        while i + 3 <= n {
            let v = UInt32(s[i]) << 16 | UInt32(s[i + 1]) << 8 | UInt32(s[i + 2])
            out.append(b64[Int(v >> 18)]); out.append(b64[Int(v >> 12 & 63)])
            out.append(b64[Int(v >> 6 & 63)]); out.append(b64[Int(v & 63)])
            i += 3
        }
        if n - i == 1 {
            let v = UInt32(s[i]) << 16
            out.append(b64[Int(v >> 18)]); out.append(b64[Int(v >> 12 & 63)])
            out.append(0x3D); out.append(0x3D)
        } else if n - i == 2 {
            let v = UInt32(s[i]) << 16 | UInt32(s[i + 1]) << 8
            out.append(b64[Int(v >> 18)]); out.append(b64[Int(v >> 12 & 63)])
            out.append(b64[Int(v >> 6 & 63)]); out.append(0x3D)
        }
        out.append(0x22)
    }

    // MARK: metav1.Time / MicroTime

    /// Seconds from 0001-01-01T00:00:00Z to the Unix epoch: Go's zero time.Time, which
    /// metav1.Time marshals as `null`.
    static let zeroTimeUnixSeconds: Int64 = -62_135_596_800

    /// `metav1.Time` / `MicroTime` JSON from a google.protobuf.Timestamp-shaped message's
    /// seconds and nanos: `null` for the zero time, else RFC 3339 in UTC with no fraction
    /// (Time, truncated) or exactly 6 fractional digits (MicroTime, RFC3339Micro).
    static func appendTime(seconds: Int64, nanos: Int64, micro: Bool, to out: inout [UInt8]) {
        // time.Unix normalizes nanos outside [0, 1e9) into the seconds.
        var sec = seconds
        var ns = nanos
        if ns < 0 || ns >= 1_000_000_000 {
            let q = ns / 1_000_000_000
            sec &+= q
            ns -= q * 1_000_000_000
            if ns < 0 { ns += 1_000_000_000; sec &-= 1 }
        }
        if sec == zeroTimeUnixSeconds && ns == 0 {
            out.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])
            return
        }
        var days = sec / 86_400
        var rem = sec % 86_400
        if rem < 0 { rem += 86_400; days -= 1 }
        // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)

        out.append(0x22)
        // Go's appendInt(year, 4): sign, then at least 4 digits.
        if y < 0 { out.append(0x2D) }
        appendPadded(y.magnitude, width: 4, to: &out)
        out.append(0x2D); appendPadded(UInt64(m), width: 2, to: &out)
        out.append(0x2D); appendPadded(UInt64(d), width: 2, to: &out)
        out.append(0x54); appendPadded(UInt64(rem / 3600), width: 2, to: &out)
        out.append(0x3A); appendPadded(UInt64(rem / 60 % 60), width: 2, to: &out)
        out.append(0x3A); appendPadded(UInt64(rem % 60), width: 2, to: &out)
        if micro {
            out.append(0x2E); appendPadded(UInt64(ns / 1000), width: 6, to: &out)
        }
        out.append(0x5A)
        out.append(0x22)
    }

    static func appendPadded(_ v: UInt64, width: Int, to out: inout [UInt8]) {
        var digits = 1
        var p: UInt64 = 10
        while digits < 20 && v >= p { digits += 1; p = p &* 10 }
        if digits < width { out.append(contentsOf: repeatElement(0x30, count: width - digits)) }
        appendInt(Int64(bitPattern: v), to: &out)   // v < 1e19 here: years, days, nanos
    }

    // MARK: metav1.Duration

    /// Go's time.Duration.String, quoted: "1h0m0s", "1.5s", "300ms", "1µs", "0s".
    static func appendDuration(_ d: Int64, to out: inout [UInt8]) {
        var buf = [UInt8](repeating: 0, count: 32)
        var w = 32
        var u = d.magnitude
        func put(_ b: UInt8) { w -= 1; buf[w] = b }
        func frac(_ prec: Int) {
            var printed = false
            for _ in 0..<prec {
                let digit = UInt8(u % 10)
                printed = printed || digit != 0
                if printed { put(digit + 0x30) }
                u /= 10
            }
            if printed { put(0x2E) }
        }
        func int(_ v: UInt64) {
            var v = v
            if v == 0 { put(0x30); return }
            while v > 0 { put(UInt8(v % 10) + 0x30); v /= 10 }
        }
        if u == 0 {
            out.append(contentsOf: Array("\"0s\"".utf8))
            return
        }
        put(0x73)   // s
        if u < 1_000_000_000 {
            let prec: Int
            if u < 1000 { prec = 0; put(0x6E) }                    // ns
            else if u < 1_000_000 { prec = 3; put(0xB5); put(0xC2) } // µs (U+00B5)
            else { prec = 6; put(0x6D) }                             // ms
            frac(prec)
            int(u)
        } else {
            frac(9)
            int(u % 60)
            u /= 60
            if u > 0 {
                put(0x6D)
                int(u % 60)
                u /= 60
                if u > 0 { put(0x68); int(u) }
            }
        }
        if d < 0 { put(0x2D) }
        out.append(0x22)
        out.append(contentsOf: buf[w...])
        out.append(0x22)
    }

    // MARK: embedded JSON (RawExtension, FieldsV1)

    /// Validates `s` as exactly one JSON value and appends it compacted, like encoding/json does
    /// with a Marshaler's output: whitespace outside strings dropped, `<` `>` `&` and
    /// U+2028/U+2029 escaped. Returns false (appending nothing) if `s` is not valid JSON.
    static func compactJSON(_ s: UnsafeRawBufferPointer, to out: inout [UInt8]) -> Bool {
        let mark = out.count
        var i = 0
        if compactValue(s, &i, &out, depth: 0) {
            while i < s.count, isWS(s[i]) { i += 1 }
            if i == s.count { return true }
        }
        out.removeSubrange(mark...)
        return false
    }

    @inline(__always) static func isWS(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D }

    private static func compactValue(_ s: UnsafeRawBufferPointer, _ i: inout Int, _ out: inout [UInt8], depth: Int) -> Bool {
        let n = s.count
        while i < n, isWS(s[i]) { i += 1 }
        guard i < n, depth < 10_000 else { return false }
        switch s[i] {
        case 0x7B, 0x5B:   // { [
            let isObject = s[i] == 0x7B
            let close: UInt8 = isObject ? 0x7D : 0x5D
            out.append(s[i]); i += 1
            while i < n, isWS(s[i]) { i += 1 }
            if i < n, s[i] == close { out.append(close); i += 1; return true }
            while true {
                if isObject {
                    while i < n, isWS(s[i]) { i += 1 }
                    guard i < n, s[i] == 0x22, compactString(s, &i, &out) else { return false }
                    while i < n, isWS(s[i]) { i += 1 }
                    guard i < n, s[i] == 0x3A else { return false }
                    out.append(0x3A); i += 1
                }
                guard compactValue(s, &i, &out, depth: depth + 1) else { return false }
                while i < n, isWS(s[i]) { i += 1 }
                guard i < n else { return false }
                if s[i] == 0x2C { out.append(0x2C); i += 1; continue }
                if s[i] == close { out.append(close); i += 1; return true }
                return false
            }
        case 0x22:
            return compactString(s, &i, &out)
        case 0x74: return literal(s, &i, &out, [0x74, 0x72, 0x75, 0x65])
        case 0x66: return literal(s, &i, &out, [0x66, 0x61, 0x6C, 0x73, 0x65])
        case 0x6E: return literal(s, &i, &out, [0x6E, 0x75, 0x6C, 0x6C])
        default:
            return number(s, &i, &out)
        }
    }

    private static func literal(_ s: UnsafeRawBufferPointer, _ i: inout Int, _ out: inout [UInt8], _ lit: [UInt8]) -> Bool {
        guard s.count - i >= lit.count else { return false }
        for (k, b) in lit.enumerated() where s[i + k] != b { return false }
        out.append(contentsOf: lit)
        i += lit.count
        return true
    }

    private static func number(_ s: UnsafeRawBufferPointer, _ i: inout Int, _ out: inout [UInt8]) -> Bool {
        let n = s.count
        let start = i
        @inline(__always) func digit(_ j: Int) -> Bool { j < n && s[j] >= 0x30 && s[j] <= 0x39 }
        if i < n, s[i] == 0x2D { i += 1 }
        guard digit(i) else { return false }
        if s[i] == 0x30 { i += 1 } else { while digit(i) { i += 1 } }
        if i < n, s[i] == 0x2E {
            i += 1
            guard digit(i) else { return false }
            while digit(i) { i += 1 }
        }
        if i < n, s[i] == 0x65 || s[i] == 0x45 {
            i += 1
            if i < n, s[i] == 0x2B || s[i] == 0x2D { i += 1 }
            guard digit(i) else { return false }
            while digit(i) { i += 1 }
        }
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: s[start..<i]))
        return true
    }

    /// A string token copied as-is except for the HTML and line-separator escapes compact
    /// applies, and invalid UTF-8 (see below).
    private static func compactString(_ s: UnsafeRawBufferPointer, _ i: inout Int, _ out: inout [UInt8]) -> Bool {
        let n = s.count
        out.append(0x22)
        i += 1
        while i < n {
            let c = s[i]
            switch c {
            case 0x22:
                out.append(0x22); i += 1
                return true
            case 0x5C:
                guard i + 1 < n else { return false }
                let e = s[i + 1]
                switch e {
                case 0x22, 0x5C, 0x2F, 0x62, 0x66, 0x6E, 0x72, 0x74:
                    out.append(0x5C); out.append(e); i += 2
                case 0x75:
                    guard i + 5 < n else { return false }
                    for k in 2...5 {
                        let h = s[i + k]
                        guard (h >= 0x30 && h <= 0x39) || (h | 0x20 >= 0x61 && h | 0x20 <= 0x66) else { return false }
                    }
                    out.append(contentsOf: UnsafeRawBufferPointer(rebasing: s[i..<(i + 6)]))
                    i += 6
                default: return false
                }
            case 0..<0x20: return false
            case 0x3C, 0x3E, 0x26:
                out.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, hex[Int(c >> 4)], hex[Int(c & 0xF)]])
                i += 1
            case 0xE2 where i + 2 < n && s[i + 1] == 0x80 && (s[i + 2] == 0xA8 || s[i + 2] == 0xA9):
                out.append(contentsOf: [0x5C, 0x75, 0x32, 0x30, 0x32, s[i + 2] == 0xA8 ? 0x38 : 0x39])
                i += 3
            case 0x80...:
                // Go copies invalid UTF-8 here verbatim; we write \ufffd instead so the
                // response is always valid UTF-8 (the apiserver only stores valid JSON here).
                let w = utf8Width(s, i)
                if w == 0 {
                    out.append(contentsOf: [0x5C, 0x75, 0x66, 0x66, 0x66, 0x64])
                    i += 1
                } else {
                    out.append(contentsOf: UnsafeRawBufferPointer(rebasing: s[i..<(i + w)]))
                    i += w
                }
            default:
                out.append(c); i += 1
            }
        }
        return false
    }
}
