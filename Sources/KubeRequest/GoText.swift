import Selectors

/// Go's text conventions that appear in the apiserver's error messages, so answers given in
/// its place read the same: `%q` / `strconv.Quote`, encoding/json's quoting of one byte, and
/// `strconv`'s parse errors.

/// Go's `%q` (`strconv.Quote`) of a string: Selectors' (the overload below hides the imported name).
func goQuote(_ value: String) -> String { Selectors.goQuote(value) }

/// Go's `%q` of a string that holds bytes which are not UTF-8: each byte of an invalid
/// sequence is written `\xNN`, as Go does.
func goQuote(bytes: [UInt8]) -> String {
    var out = "\""
    var i = 0
    while i < bytes.count {
        if let (scalar, length) = decodeScalar(bytes, at: i) {
            goAppendQuoted(scalar, to: &out)
            i += length
        } else {
            out += "\\x" + hex2(bytes[i])
            i += 1
        }
    }
    return out + "\""
}

/// encoding/json's `quoteChar`: the byte as a rune (so 0x81 is U+0081), quoted with `'`.
func goQuoteChar(_ byte: UInt8) -> String {
    if byte == UInt8(ascii: "'") { return "'\\''" }
    if byte == UInt8(ascii: "\"") { return "'\"'" }
    let quoted = goQuote(String(Unicode.Scalar(byte)))
    return "'" + quoted.dropFirst().dropLast() + "'"
}

/// `strconv.ParseInt(s, 10, 64)`'s error text for `s`, or nil when it parses.
func goParseIntError(_ text: String, quoted: String? = nil) -> String? {
    switch goParseInt64(text) {
    case .success: return nil
    case .failure(let reason):
        return "strconv.ParseInt: parsing \(quoted ?? goQuote(text)): \(reason.rawValue)"
    }
}

/// `strconv.ParseUint(s, 10, 64)`'s error text for `s`, or nil when it parses.
func goParseUintError(_ text: String, quoted: String? = nil) -> String? {
    switch goParseUint64(text) {
    case .success: return nil
    case .failure(let reason):
        return "strconv.ParseUint: parsing \(quoted ?? goQuote(text)): \(reason.rawValue)"
    }
}

enum GoNumberError: String, Error {
    case syntax = "invalid syntax"
    case range = "value out of range"
}

/// Go's `strconv.ParseUint(s, 10, 64)`: ASCII digits only (no sign, no spaces).
func goParseUint64(_ text: String) -> Result<UInt64, GoNumberError> {
    guard !text.isEmpty else { return .failure(.syntax) }
    var value: UInt64 = 0
    var overflow = false
    for byte in text.utf8 {
        guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return .failure(.syntax) }
        let (times10, o1) = value.multipliedReportingOverflow(by: 10)
        let (sum, o2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
        if o1 || o2 { overflow = true }
        value = sum
    }
    return overflow ? .failure(.range) : .success(value)
}

/// Go's `strconv.ParseInt(s, 10, 64)`: an optional sign, then ParseUint's digits.
func goParseInt64(_ text: String) -> Result<Int64, GoNumberError> {
    var digits = Substring(text)
    var negative = false
    if let sign = digits.first, sign == "+" || sign == "-" {
        negative = sign == "-"
        digits = digits.dropFirst()
    }
    switch goParseUint64(String(digits)) {
    case .failure(let error): return .failure(error)
    case .success(let magnitude):
        if negative {
            if magnitude == UInt64(Int64.max) + 1 { return .success(Int64.min) }
            return magnitude <= UInt64(Int64.max) ? .success(-Int64(magnitude)) : .failure(.range)
        }
        return magnitude <= UInt64(Int64.max) ? .success(Int64(magnitude)) : .failure(.range)
    }
}

// MARK: - helpers

private func hex2(_ byte: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
}

/// One UTF-8 sequence at `i` (shortest form, no surrogates), or nil when the byte at `i`
/// does not start one (Go then takes that byte alone as an error).
private func decodeScalar(_ b: [UInt8], at i: Int) -> (Unicode.Scalar, Int)? {
    let lead = b[i]
    if lead < 0x80 { return (Unicode.Scalar(lead), 1) }
    let length: Int
    var value: UInt32
    var low: UInt8 = 0x80, high: UInt8 = 0xBF
    switch lead {
    case 0xC2...0xDF: length = 2; value = UInt32(lead & 0x1F)
    case 0xE0: length = 3; value = UInt32(lead & 0x0F); low = 0xA0
    case 0xE1...0xEC, 0xEE...0xEF: length = 3; value = UInt32(lead & 0x0F)
    case 0xED: length = 3; value = UInt32(lead & 0x0F); high = 0x9F
    case 0xF0: length = 4; value = UInt32(lead & 0x07); low = 0x90
    case 0xF1...0xF3: length = 4; value = UInt32(lead & 0x07)
    case 0xF4: length = 4; value = UInt32(lead & 0x07); high = 0x8F
    default: return nil
    }
    guard i + length <= b.count else { return nil }
    for k in 1..<length {
        let c = b[i + k]
        let (lo, hi) = k == 1 ? (low, high) : (UInt8(0x80), UInt8(0xBF))
        guard c >= lo && c <= hi else { return nil }
        value = value << 6 | UInt32(c & 0x3F)
    }
    guard let scalar = Unicode.Scalar(value) else { return nil }
    return (scalar, length)
}
