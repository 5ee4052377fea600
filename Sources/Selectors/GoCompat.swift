// Small helpers reproducing Go standard-library behaviour the apiserver relies on.

/// Byte-wise (UTF-8) string equality, as Go's `==` on strings.
/// Swift's `==` uses canonical equivalence ("K" == "\u{212A}"), which Go does not.
@inline(__always)
func bytesEqual(_ a: String, _ b: String) -> Bool {
    let au = a.utf8, bu = b.utf8
    if au.count != bu.count { return false }
    if let r = au.withContiguousStorageIfAvailable({ ap in
        bu.withContiguousStorageIfAvailable({ bp in ap.elementsEqual(bp) })
    }), let eq = r {
        return eq
    }
    return au.elementsEqual(bu)
}

/// Byte-wise (UTF-8) ordering, as Go's `<` on strings / `sort.Strings`.
@inline(__always)
func bytesLess(_ a: String, _ b: String) -> Bool {
    a.utf8.lexicographicallyPrecedes(b.utf8)
}

/// Go `strconv.ParseInt(s, 10, 64)`: optional sign, ASCII digits only, no underscores, 64-bit range.
func goParseInt64(_ s: String) -> Int64? {
    var it = s.utf8.makeIterator()
    guard var c = it.next() else { return nil }
    var negative = false
    if c == UInt8(ascii: "+") || c == UInt8(ascii: "-") {
        negative = c == UInt8(ascii: "-")
        guard let n = it.next() else { return nil }
        c = n
    }
    // Accumulate as a negative number so Int64.min parses.
    var acc: Int64 = 0
    while true {
        guard c >= 0x30 && c <= 0x39 else { return nil }
        let d = Int64(c - 0x30)
        let (m, o1) = acc.multipliedReportingOverflow(by: 10)
        if o1 { return nil }
        let (r, o2) = m.subtractingReportingOverflow(d)
        if o2 { return nil }
        acc = r
        guard let n = it.next() else { break }
        c = n
    }
    if negative { return acc }
    if acc == Int64.min { return nil }
    return -acc
}

/// Go `strconv.Quote` (what `%q` prints for a string).
public func goQuote(_ s: String) -> String {
    var out = "\""
    out.reserveCapacity(s.utf8.count + 2)
    for u in s.unicodeScalars { goAppendQuoted(u, to: &out) }
    out += "\""
    return out
}

/// One scalar as Go's `strconv.Quote` writes it inside the quotes.
public func goAppendQuoted(_ u: Unicode.Scalar, to out: inout String) {
    switch u {
    case "\"": out += "\\\""
    case "\\": out += "\\\\"
    case "\u{07}": out += "\\a"
    case "\u{08}": out += "\\b"
    case "\u{0C}": out += "\\f"
    case "\n": out += "\\n"
    case "\r": out += "\\r"
    case "\t": out += "\\t"
    case "\u{0B}": out += "\\v"
    default:
        if goIsPrint(u) {
            out.unicodeScalars.append(u)
        } else if u.value < 0x20 || u.value == 0x7F {
            out += "\\x" + hex(u.value, width: 2)
        } else if u.value < 0x10000 {
            out += "\\u" + hex(u.value, width: 4)
        } else {
            out += "\\U" + hex(u.value, width: 8)
        }
    }
}

private func hex(_ v: UInt32, width: Int) -> String {
    let s = String(v, radix: 16)
    return String(repeating: "0", count: max(0, width - s.count)) + s
}

/// Go `strconv.IsPrint`: letters, marks, numbers, punctuation, symbols and U+0020.
private func goIsPrint(_ u: Unicode.Scalar) -> Bool {
    if u.value < 0x80 { return u.value >= 0x20 && u.value < 0x7F }
    switch u.properties.generalCategory {
    case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
         .nonspacingMark, .spacingMark, .enclosingMark,
         .decimalNumber, .letterNumber, .otherNumber,
         .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
         .initialPunctuation, .finalPunctuation, .otherPunctuation,
         .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
        return true
    default:
        return false
    }
}
