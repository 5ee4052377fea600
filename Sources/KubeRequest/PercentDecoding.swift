/// Percent-decoding shared by the path and the query parsers, so both reject
/// the same malformed escapes and the same invalid UTF-8.
enum PercentDecoding {
    enum Failure: Error, Equatable {
        /// A `%` not followed by two hex digits; `offset` is the `%`'s index in the sliced array.
        case invalidEscape(offset: Int)
        /// The decoded bytes are not valid UTF-8.
        case invalidUTF8
    }

    /// Decodes `bytes`, turning `%XX` into the byte XX and, when `plusAsSpace`
    /// is set (form encoding, used in queries), `+` into a space.
    /// Reported offsets are indices of the slice, i.e. of the array it was cut from.
    static func decodeBytes(
        _ bytes: ArraySlice<UInt8>,
        plusAsSpace: Bool
    ) throws(Failure) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%") {
                let offset = index
                guard bytes.endIndex - index >= 3,
                      let high = hexValue(bytes[index + 1]),
                      let low = hexValue(bytes[index + 2])
                else {
                    throw .invalidEscape(offset: offset)
                }
                out.append(high << 4 | low)
                index += 3
            } else if plusAsSpace && byte == UInt8(ascii: "+") {
                out.append(UInt8(ascii: " "))
                index += 1
            } else {
                out.append(byte)
                index += 1
            }
        }
        return out
    }

    /// Decodes `bytes` and requires the result to be valid UTF-8.
    static func decode(
        _ bytes: ArraySlice<UInt8>,
        plusAsSpace: Bool
    ) throws(Failure) -> String {
        let decoded = try decodeBytes(bytes, plusAsSpace: plusAsSpace)
        guard let string = validUTF8String(decoded) else { throw .invalidUTF8 }
        return string
    }

    /// Returns the string for `bytes` when they are valid UTF-8, nil otherwise.
    /// (Lossy decoding replaces bad sequences with U+FFFD, so a round trip that
    /// changes the bytes means the input was invalid.)
    static func validUTF8String(_ bytes: [UInt8]) -> String? {
        let string = String(decoding: bytes, as: UTF8.self)
        return string.utf8.elementsEqual(bytes) ? string : nil
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
