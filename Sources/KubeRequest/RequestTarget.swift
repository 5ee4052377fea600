/// An HTTP request target (`/path?query`) split, decoded and checked once.
///
/// Exists so the proxy decides, in one place, which paths it is willing to
/// interpret. kube-apiserver classifies the *decoded* path split on `/`
/// (after trimming slashes at both ends). Shapes where a proxy and the
/// upstream could read a path differently are rejected instead of guessed:
///
/// - the target must be origin-form (start with `/`) and contain only
///   visible ASCII (no spaces, controls, raw UTF-8 or `#`);
/// - `%2F` (an encoded slash), invalid `%` escapes, escapes that decode to
///   control characters or to invalid UTF-8 are errors;
/// - empty segments (`/api//v1`, a leading `//`) and dot segments
///   (`.`, `..`, also when percent-encoded) are errors;
/// - trailing slashes are ignored, as the apiserver's `strings.Trim` does,
///   and a path made only of slashes is the root `/`.
public struct RequestTarget: Sendable, Hashable {
    /// The decoded path, trailing slashes kept (what Go calls `URL.Path`).
    public var path: String
    /// The decoded path segments; empty for `/`.
    public var segments: [String]
    /// The query exactly as sent, without the leading `?` (empty when absent).
    public var rawQuery: String
    /// The decoded query.
    public var query: QueryItems

    /// Parses `target`, the request-line target of an HTTP/1.1 request or
    /// the `:path` pseudo-header of an HTTP/2 request.
    public init(_ target: String) throws(RequestTargetError) {
        let bytes = Array(target.utf8)
        guard let first = bytes.first else { throw .empty }
        guard first == UInt8(ascii: "/") else { throw .notOriginForm }
        for (offset, byte) in bytes.enumerated() where !Self.isAllowedRaw(byte) {
            throw .invalidCharacter(offset: offset)
        }

        let questionMark = bytes.firstIndex(of: UInt8(ascii: "?"))
        let pathBytes = bytes[0..<(questionMark ?? bytes.count)]
        let queryBytes = questionMark.map { bytes[($0 + 1)...] } ?? []
        let rawQuery = String(decoding: queryBytes, as: UTF8.self)

        let (path, segments) = try Self.parsePath(pathBytes)
        self.path = path
        self.segments = segments
        self.rawQuery = rawQuery
        // Never fails: pairs Go cannot decode are dropped, as the apiserver drops them.
        self.query = QueryItems(parsing: rawQuery)
    }

    /// Visible ASCII except `#` (a fragment has no business in a request target).
    private static func isAllowedRaw(_ byte: UInt8) -> Bool {
        byte > 0x20 && byte < 0x7F && byte != UInt8(ascii: "#")
    }

    private static func parsePath(_ raw: ArraySlice<UInt8>) throws(RequestTargetError) -> (String, [String]) {
        let slash = UInt8(ascii: "/")
        var end = raw.endIndex
        while end > raw.startIndex && raw[end - 1] == slash {
            end -= 1
        }
        if end == raw.startIndex {
            // Only slashes: the root, as the apiserver's trim makes it.
            return ("/", [])
        }

        var segments: [String] = []
        var segmentStart = raw.startIndex + 1
        while segmentStart <= end {
            var segmentEnd = segmentStart
            while segmentEnd < end && raw[segmentEnd] != slash {
                segmentEnd += 1
            }
            if segmentEnd == segmentStart {
                throw .emptySegment(offset: segmentStart)
            }
            segments.append(try decodeSegment(raw[segmentStart..<segmentEnd]))
            segmentStart = segmentEnd + 1
        }

        let trailing = String(repeating: "/", count: raw.endIndex - end)
        return ("/" + segments.joined(separator: "/") + trailing, segments)
    }

    private static func decodeSegment(_ raw: ArraySlice<UInt8>) throws(RequestTargetError) -> String {
        let decoded: [UInt8]
        do {
            decoded = try PercentDecoding.decodeBytes(raw, plusAsSpace: false)
        } catch {
            switch error {
            case .invalidEscape(let offset): throw .invalidPercentEscape(offset: offset)
            case .invalidUTF8: throw .invalidUTF8(offset: raw.startIndex)
            }
        }
        if decoded.contains(UInt8(ascii: "/")) {
            throw .encodedSlash(offset: raw.startIndex)
        }
        if decoded.contains(where: { $0 < 0x20 || $0 == 0x7F }) {
            throw .encodedControlCharacter(offset: raw.startIndex)
        }
        guard let segment = PercentDecoding.validUTF8String(decoded) else {
            throw .invalidUTF8(offset: raw.startIndex)
        }
        if segment == "." || segment == ".." {
            throw .dotSegment(offset: raw.startIndex)
        }
        return segment
    }
}

/// Why a request target was refused; `message` is fit for a 400 BadRequest Status.
/// Offsets are byte offsets into the target.
public enum RequestTargetError: Error, Sendable, Hashable, CustomStringConvertible {
    case empty
    /// Not `/path...` (absolute-form, authority-form and `*` are not proxied).
    case notOriginForm
    /// A space, control character, non-ASCII byte or `#` in the raw target.
    case invalidCharacter(offset: Int)
    case invalidPercentEscape(offset: Int)
    case invalidUTF8(offset: Int)
    /// `%2F` inside a segment: the apiserver would split there, other hops might not.
    case encodedSlash(offset: Int)
    case encodedControlCharacter(offset: Int)
    /// `//` inside the path (or at its start).
    case emptySegment(offset: Int)
    /// A `.` or `..` segment.
    case dotSegment(offset: Int)

    public var message: String {
        switch self {
        case .empty:
            return "invalid request target: empty"
        case .notOriginForm:
            return "invalid request target: must start with \"/\""
        case .invalidCharacter(let offset):
            return "invalid request target: invalid character at offset \(offset)"
        case .invalidPercentEscape(let offset):
            return "invalid request path: invalid URL escape at offset \(offset)"
        case .invalidUTF8(let offset):
            return "invalid request path: segment at offset \(offset) does not decode to UTF-8"
        case .encodedSlash(let offset):
            return "invalid request path: encoded \"/\" in segment at offset \(offset)"
        case .encodedControlCharacter(let offset):
            return "invalid request path: encoded control character in segment at offset \(offset)"
        case .emptySegment(let offset):
            return "invalid request path: empty segment at offset \(offset)"
        case .dotSegment(let offset):
            return "invalid request path: \".\" or \"..\" segment at offset \(offset)"
        }
    }

    public var description: String { message }
}
