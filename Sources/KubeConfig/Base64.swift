/// Standard-alphabet base64 (RFC 4648 §4), as Kubernetes uses for `*-data` fields.
public enum KubeBase64 {
    public struct DecodingError: Error, Equatable, Sendable, CustomStringConvertible {
        public var reason: String
        public var description: String { reason }
    }

    /// Decodes base64 text. Whitespace (spaces, tabs, line breaks) anywhere is ignored; padding
    /// is required (as Go's `base64.StdEncoding`); any other character, misplaced `=` or a
    /// truncated final group is rejected. Error reasons never echo the input.
    public static func decode(_ text: String) throws(DecodingError) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(text.utf8.count * 3 / 4)
        var accumulator: UInt32 = 0
        var dataChars = 0
        var padding = 0
        var offset = -1
        for byte in text.utf8 {
            offset += 1
            switch byte {
            case 0x20, 0x09, 0x0A, 0x0D, 0x0B, 0x0C:
                continue
            case UInt8(ascii: "="):
                padding += 1
                continue
            default:
                break
            }
            if padding > 0 {
                throw DecodingError(reason: "data after padding at offset \(offset)")
            }
            let value: UInt32
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = UInt32(byte - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = UInt32(byte - UInt8(ascii: "a")) + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = UInt32(byte - UInt8(ascii: "0")) + 52
            case UInt8(ascii: "+"): value = 62
            case UInt8(ascii: "/"): value = 63
            default:
                throw DecodingError(reason: "invalid base64 character at offset \(offset)")
            }
            accumulator = accumulator << 6 | value
            dataChars += 1
            if dataChars % 4 == 0 {
                output.append(UInt8(truncatingIfNeeded: accumulator >> 16))
                output.append(UInt8(truncatingIfNeeded: accumulator >> 8))
                output.append(UInt8(truncatingIfNeeded: accumulator))
                accumulator = 0
            }
        }
        switch (dataChars % 4, padding) {
        case (0, 0):
            break
        case (2, 2):
            output.append(UInt8(truncatingIfNeeded: accumulator >> 4))
        case (3, 1):
            output.append(UInt8(truncatingIfNeeded: accumulator >> 10))
            output.append(UInt8(truncatingIfNeeded: accumulator >> 2))
        case (1, _):
            throw DecodingError(reason: "truncated input (a final group of a single character)")
        case (_, 0):
            throw DecodingError(reason: "missing '=' padding")
        default:
            throw DecodingError(reason: "incorrect '=' padding")
        }
        return output
    }

    /// Encodes bytes with padding.
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var iterator = bytes.makeIterator()
        while let b0 = iterator.next() {
            let b1 = iterator.next()
            let b2 = iterator.next()
            let group = UInt32(b0) << 16 | UInt32(b1 ?? 0) << 8 | UInt32(b2 ?? 0)
            out.append(alphabet[Int(group >> 18 & 63)])
            out.append(alphabet[Int(group >> 12 & 63)])
            out.append(b1 == nil ? UInt8(ascii: "=") : alphabet[Int(group >> 6 & 63)])
            out.append(b2 == nil ? UInt8(ascii: "=") : alphabet[Int(group & 63)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
