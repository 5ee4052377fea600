/// One clause of an `Accept` header: `type/subtype;param=value;q=0.5`.
///
/// Exists so response-format decisions (serve from a JSON cache, pass
/// protobuf through, render a Table for kubectl) look at parsed clauses, not
/// substrings. Type, subtype and parameter names are lowercased; parameter
/// values lose surrounding quotes; `q` is taken out of the parameters.
public struct MediaRange: Sendable, Hashable, CustomStringConvertible {
    /// One `name=value` parameter.
    public struct Parameter: Sendable, Hashable {
        public var name: String
        public var value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// `application`, or `*`.
    public var type: String
    /// `json`, `vnd.kubernetes.protobuf`, or `*`.
    public var subtype: String
    /// Parameters other than `q`, in header order.
    public var parameters: [Parameter]
    /// The `q` weight in thousandths: 1000 is `q=1` (the default), 0 is "not acceptable".
    public var quality: Int

    public init(type: String, subtype: String, parameters: [Parameter] = [], quality: Int = 1000) {
        self.type = type
        self.subtype = subtype
        self.parameters = parameters
        self.quality = quality
    }

    /// The value of parameter `name` (lowercase), if present.
    public subscript(parameter name: String) -> String? {
        parameters.first { $0.name == name }?.value
    }

    /// 2 for `type/subtype`, 1 for `type/*`, 0 for `*/*`.
    public var specificity: Int {
        if type == "*" { return 0 }
        return subtype == "*" ? 1 : 2
    }

    /// Whether this clause asks for the watch event stream (`stream=watch`).
    public var isWatchStream: Bool { self[parameter: "stream"] == "watch" }

    public var description: String {
        var text = type + "/" + subtype
        for parameter in parameters {
            text += ";" + parameter.name + "=" + parameter.value
        }
        if quality != 1000 {
            text += ";q=" + Self.formatQuality(quality)
        }
        return text
    }

    /// Whether this clause admits `format` by the apiserver's rules: the media
    /// type matches exactly, by `type/*` or by `*/*`; `as`/`g`/`v` ask for a
    /// conversion, which only the Table format satisfies; `stream` other than
    /// `watch` and any `sv` are refused; other parameters are ignored.
    /// A clause with `q=0` admits nothing.
    public func admits(_ format: ResponseFormat) -> Bool {
        quality > 0 && matches(format)
    }

    /// `admits` without looking at `q`: whether this clause is about `format` at all.
    func matches(_ format: ResponseFormat) -> Bool {
        let typeMatches = (type == "*" && subtype == "*")
            || (type == format.mediaType && (subtype == "*" || subtype == format.mediaSubtype))
        guard typeMatches else { return false }
        if let stream = self[parameter: "stream"], !stream.isEmpty, stream != "watch" {
            return false
        }
        if let serverVersion = self[parameter: "sv"], !serverVersion.isEmpty {
            return false
        }
        let conversion = (self[parameter: "as"], self[parameter: "g"], self[parameter: "v"])
        let wantsConversion = conversion.0 != nil || conversion.1 != nil || conversion.2 != nil
        switch format {
        case .json, .protobuf:
            return !wantsConversion
        case .tableJSON:
            return conversion.0 == "Table" && conversion.1 == "meta.k8s.io" && conversion.2 == "v1"
        }
    }

    static func formatQuality(_ quality: Int) -> String {
        if quality >= 1000 { return "1" }
        var fraction = String(quality)
        while fraction.count < 3 { fraction = "0" + fraction }
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return fraction.isEmpty ? "0" : "0." + fraction
    }
}

/// The response encodings the proxy knows how to produce or pass through.
public enum ResponseFormat: String, Sendable, Hashable, CaseIterable {
    /// `application/json`.
    case json
    /// `application/vnd.kubernetes.protobuf`.
    case protobuf
    /// `application/json;as=Table;v=v1;g=meta.k8s.io`: server-side printing (`kubectl get`).
    case tableJSON

    /// The `Content-Type` of a response in this format.
    public var contentType: String {
        switch self {
        case .json: return "application/json"
        case .protobuf: return "application/vnd.kubernetes.protobuf"
        case .tableJSON: return "application/json;as=Table;v=v1;g=meta.k8s.io"
        }
    }

    var mediaType: String { "application" }

    var mediaSubtype: String {
        switch self {
        case .json, .tableJSON: return "json"
        case .protobuf: return "vnd.kubernetes.protobuf"
        }
    }
}

/// The outcome of negotiating a response format.
public struct MediaNegotiation: Sendable, Hashable {
    public var format: ResponseFormat
    /// The client clause that selected `format`; nil when the request had no `Accept`.
    public var range: MediaRange?

    /// Whether the chosen clause asked for the watch stream encoding.
    public var isWatchStream: Bool { range?.isWatchStream ?? false }
}

/// A parsed `Accept` header.
///
/// Exists so every handler negotiates like the apiserver: clauses ordered by
/// `q` (highest first), then by specificity (`type/subtype` before `type/*`
/// before `*/*`), then in client order; for each clause the server's offers
/// are tried in the server's order and the first the clause admits wins.
/// An absent or empty header takes the first offer; a header nothing
/// matches is a 406. Unparsable clauses are skipped and an unparsable `q`
/// counts as 0. Where the apiserver merely sorts `q=0` clauses last, this
/// follows RFC 9110: a `q=0` clause accepts nothing, and refuses what it
/// names unless a more specific clause accepts it
/// (`application/json;q=0, application/*` never yields JSON).
public struct AcceptHeader: Sendable, Hashable {
    /// The clauses in the order the client wrote them.
    public var ranges: [MediaRange]
    /// True when the request had no `Accept` header, or an empty one: the
    /// server then picks. (A header whose clauses are all unparsable is
    /// present, and matches nothing.)
    public var isEmpty: Bool

    public init(ranges: [MediaRange]) {
        self.ranges = ranges
        self.isEmpty = ranges.isEmpty
    }

    /// Parses the header's value; nil or empty means "no Accept header".
    public init(_ header: String?) {
        self.ranges = []
        self.isEmpty = header?.isEmpty ?? true
        guard let header else { return }
        for clause in header.split(separator: ",", omittingEmptySubsequences: false) {
            if let range = Self.parseClause(clause) {
                ranges.append(range)
            }
        }
    }

    /// The clauses in preference order (see the type's documentation), `q=0` ones dropped.
    public var rangesByPreference: [MediaRange] {
        ranges.enumerated()
            .filter { $0.element.quality > 0 }
            .sorted { lhs, rhs in
                if lhs.element.quality != rhs.element.quality {
                    return lhs.element.quality > rhs.element.quality
                }
                if lhs.element.specificity != rhs.element.specificity {
                    return lhs.element.specificity > rhs.element.specificity
                }
                return lhs.offset < rhs.offset
            }
            .map(\.element)
    }

    /// Chooses among `offers` (in the server's preference order); nil means 406 Not Acceptable.
    public func negotiate(_ offers: [ResponseFormat] = ResponseFormat.allCases) -> MediaNegotiation? {
        if isEmpty {
            return offers.first.map { MediaNegotiation(format: $0, range: nil) }
        }
        let refusals = ranges.filter { $0.quality == 0 }
        for range in rangesByPreference {
            for offer in offers where range.admits(offer) {
                // A `q=0` clause at least as specific as the one admitting
                // the offer overrides it (`application/json;q=0, */*`).
                let refused = refusals.contains {
                    $0.specificity >= range.specificity && $0.matches(offer)
                }
                if !refused {
                    return MediaNegotiation(format: offer, range: range)
                }
            }
        }
        return nil
    }

    /// Whether the client would take `format` at all.
    public func accepts(_ format: ResponseFormat) -> Bool {
        negotiate([format]) != nil
    }

    private static func parseClause(_ clause: Substring) -> MediaRange? {
        let pieces = clause.split(separator: ";", omittingEmptySubsequences: false)
        let mediaRange = trim(pieces[0])
        let typeParts = mediaRange.split(separator: "/", omittingEmptySubsequences: false)
        let type: String
        let subtype: String
        switch typeParts.count {
        case 1 where trim(typeParts[0]) == "*":
            // A bare `*`, seen in the wild, means `*/*` (as in goautoneg).
            (type, subtype) = ("*", "*")
        case 2:
            (type, subtype) = (trim(typeParts[0]).lowercased(), trim(typeParts[1]).lowercased())
        default:
            return nil
        }
        guard isToken(type), isToken(subtype), type != "*" || subtype == "*" else { return nil }

        var range = MediaRange(type: type, subtype: subtype)
        for piece in pieces.dropFirst() {
            guard let equals = piece.firstIndex(of: "=") else { continue }
            let name = trim(piece[..<equals]).lowercased()
            var value = trim(piece[piece.index(after: equals)...])
            if value.count >= 2 && value.hasPrefix("\"") && value.hasSuffix("\"") {
                value = String(value.dropFirst().dropLast())
            }
            if name == "q" {
                range.quality = parseQuality(value)
            } else if !name.isEmpty {
                range.parameters.append(.init(name: name, value: value))
            }
        }
        return range
    }

    /// `0`, `0.5`, `.5`, `1`, `1.000`...: thousandths, clamped to 0...1000,
    /// digits past the third decimal ignored; anything else is 0.
    static func parseQuality(_ text: String) -> Int {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let whole = parts[0]
        let fraction = parts.count > 1 ? parts[1] : ""
        guard !(whole.isEmpty && fraction.isEmpty),
              whole.allSatisfy(\.isASCIIDigit),
              fraction.allSatisfy(\.isASCIIDigit)
        else { return 0 }
        if whole.contains(where: { $0 != "0" }) { return 1000 }
        var thousandths = 0
        for (index, digit) in fraction.prefix(3).enumerated() {
            let weight = index == 0 ? 100 : (index == 1 ? 10 : 1)
            thousandths += Int(digit.asciiValue! - UInt8(ascii: "0")) * weight
        }
        return thousandths
    }

    private static func trim(_ text: Substring) -> String {
        var slice = text
        while let first = slice.first, first == " " || first == "\t" { slice.removeFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice.removeLast() }
        return String(slice)
    }

    private static func isToken(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { byte in
            byte > 0x20 && byte < 0x7F && !"()<>@,;:\\\"/[]?={}".utf8.contains(byte)
        }
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool {
        asciiValue.map { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") } ?? false
    }
}
