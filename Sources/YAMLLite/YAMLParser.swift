/// Entry points for the YAMLLite parser.
///
/// Supported: block mappings and sequences (including sequences indented at the same level as
/// their parent key and compact `- key: value` entries), flow collections (so JSON parses),
/// plain / single-quoted / double-quoted scalars, multi-line plain and quoted scalars, literal
/// `|` and folded `>` block scalars with chomping and indentation indicators, comments,
/// `---` / `...` document markers, `%` directives (skipped).
///
/// Not supported (rejected with a `YAMLError`): anchors `&`, aliases `*`, tags `!`,
/// explicit keys `? `, non-scalar mapping keys, duplicate keys.
public enum YAML {
    /// Default limit on collection nesting.
    public static let defaultMaxDepth = 100

    /// Parses a stream that holds at most one non-empty document (empty documents such as a
    /// trailing `---` are ignored). An empty stream yields `.null`.
    public static func parse(_ text: String, maxDepth: Int = defaultMaxDepth) throws(YAMLError) -> YAMLNode {
        try parse(bytes: Array(text.utf8), maxDepth: maxDepth)
    }

    /// Parses UTF-8 bytes holding at most one document. An empty stream yields `.null`.
    public static func parse(bytes: [UInt8], maxDepth: Int = defaultMaxDepth) throws(YAMLError) -> YAMLNode {
        var parser = Parser(bytes: bytes, maxDepth: maxDepth)
        var documents = try parser.parseStream()
        // Bare `---` markers (empty documents), e.g. a trailing one, do not count.
        if documents.count > 1 {
            documents.removeAll { $0.node.isNull }
        }
        if documents.count > 1 {
            let second = documents[1].start
            throw YAMLError(
                line: second.line,
                column: second.pos - second.lineStart + 1,
                message: "expected a single document but found \(documents.count); use YAML.parseDocuments"
            )
        }
        return documents.first?.node ?? .null
    }

    /// Parses every document of a stream.
    public static func parseDocuments(_ text: String, maxDepth: Int = defaultMaxDepth) throws(YAMLError) -> [YAMLNode] {
        var parser = Parser(bytes: Array(text.utf8), maxDepth: maxDepth)
        return try parser.parseStream().map(\.node)
    }
}

// MARK: - Byte constants

private let SP = UInt8(ascii: " ")
private let TAB = UInt8(ascii: "\t")
private let LF = UInt8(ascii: "\n")
private let CR = UInt8(ascii: "\r")
private let HASH = UInt8(ascii: "#")
private let COLON = UInt8(ascii: ":")
private let DASH = UInt8(ascii: "-")
private let DOT = UInt8(ascii: ".")
private let QMARK = UInt8(ascii: "?")
private let COMMA = UInt8(ascii: ",")
private let LBRACKET = UInt8(ascii: "[")
private let RBRACKET = UInt8(ascii: "]")
private let LBRACE = UInt8(ascii: "{")
private let RBRACE = UInt8(ascii: "}")
private let DQ = UInt8(ascii: "\"")
private let SQ = UInt8(ascii: "'")
private let BACKSLASH = UInt8(ascii: "\\")
private let PIPE = UInt8(ascii: "|")
private let GT = UInt8(ascii: ">")
private let AMP = UInt8(ascii: "&")
private let STAR = UInt8(ascii: "*")
private let BANG = UInt8(ascii: "!")
private let PERCENT = UInt8(ascii: "%")
private let AT = UInt8(ascii: "@")
private let BACKTICK = UInt8(ascii: "`")
private let PLUS = UInt8(ascii: "+")

@inline(__always) private func isSpaceOrTab(_ c: UInt8) -> Bool { c == SP || c == TAB }

/// Space, tab, line break or end of input.
@inline(__always) private func isBlank(_ c: UInt8?) -> Bool {
    guard let c else { return true }
    return c == SP || c == TAB || c == LF
}

@inline(__always) private func isFlowIndicator(_ c: UInt8?) -> Bool {
    guard let c else { return false }
    return c == COMMA || c == LBRACKET || c == RBRACKET || c == LBRACE || c == RBRACE
}

private func describe(_ c: UInt8) -> String {
    if c >= 0x21 && c < 0x7F { return "'\(Character(Unicode.Scalar(c)))'" }
    if c == SP { return "space" }
    if c == TAB { return "tab" }
    return "byte 0x" + String(c, radix: 16, uppercase: true)
}

private func nullish(_ text: [UInt8]) -> Bool {
    switch text.count {
    case 0: return true
    case 1: return text[0] == UInt8(ascii: "~")
    case 4:
        let s = String(decoding: text, as: UTF8.self)
        return s == "null" || s == "Null" || s == "NULL"
    default: return false
    }
}

private func plainNode(_ text: [UInt8]) -> YAMLNode {
    nullish(text) ? .null : .scalar(String(decoding: text, as: UTF8.self), .plain)
}

// MARK: - Parser

private struct Parser {
    struct Mark {
        var pos: Int
        var line: Int
        var lineStart: Int
    }

    enum Context {
        /// Value after `key:`; a sequence may sit at the key's own indentation.
        case mappingValue
        /// Value after `- `; compact nested collections (`- a: 1`, `- - x`) are allowed.
        case sequenceItem
        /// Value after `---` on the same line.
        case documentMarker
    }

    enum Chomping { case clip, strip, keep }

    let b: [UInt8]
    let maxDepth: Int
    var pos = 0
    var line = 1
    var lineStart = 0
    var depth = 0

    init(bytes input: [UInt8], maxDepth: Int) {
        var bytes = input
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
            bytes.removeFirst(3)
        }
        if bytes.contains(CR) {
            var normalized: [UInt8] = []
            normalized.reserveCapacity(bytes.count)
            var i = 0
            while i < bytes.count {
                if bytes[i] == CR {
                    normalized.append(LF)
                    if i + 1 < bytes.count && bytes[i + 1] == LF { i += 1 }
                } else {
                    normalized.append(bytes[i])
                }
                i += 1
            }
            bytes = normalized
        }
        self.b = bytes
        self.maxDepth = maxDepth
    }

    // MARK: Cursor

    var mark: Mark { Mark(pos: pos, line: line, lineStart: lineStart) }

    mutating func reset(_ m: Mark) {
        pos = m.pos
        line = m.line
        lineStart = m.lineStart
    }

    var column: Int { pos - lineStart }
    var atEOF: Bool { pos >= b.count }

    @inline(__always) func peek(_ offset: Int = 0) -> UInt8? {
        let i = pos + offset
        return i < b.count ? b[i] : nil
    }

    @inline(__always) mutating func advance() {
        if b[pos] == LF {
            line += 1
            lineStart = pos + 1
        }
        pos += 1
    }

    mutating func advance(_ n: Int) {
        for _ in 0..<n where pos < b.count { advance() }
    }

    func error(_ message: String) -> YAMLError {
        YAMLError(line: line, column: column + 1, message: message)
    }

    func error(_ message: String, at m: Mark) -> YAMLError {
        YAMLError(line: m.line, column: m.pos - m.lineStart + 1, message: message)
    }

    mutating func enter() throws(YAMLError) {
        depth += 1
        if depth > maxDepth {
            throw error("nesting exceeds the maximum depth of \(maxDepth)")
        }
    }

    mutating func skipInlineSpace() {
        while let c = peek(), isSpaceOrTab(c) { advance() }
    }

    mutating func skipToLineEnd() {
        while let c = peek(), c != LF { advance() }
    }

    /// `#` that starts a comment: at line start or after whitespace.
    func atCommentStart() -> Bool {
        peek() == HASH && (pos == lineStart || isSpaceOrTab(b[pos - 1]))
    }

    func atCommentOrLineEnd() -> Bool {
        guard let c = peek() else { return true }
        return c == LF || atCommentStart()
    }

    func isDocumentMarker() -> Bool {
        guard pos == lineStart, pos + 2 < b.count else { return false }
        let c = b[pos]
        guard (c == DASH || c == DOT), b[pos + 1] == c, b[pos + 2] == c else { return false }
        return isBlank(peek(3))
    }

    func isSequenceEntry() -> Bool {
        peek() == DASH && isBlank(peek(1))
    }

    /// Indentation of the content under the cursor for block structure; -1 at end of input
    /// or a document marker (which closes every open block collection).
    func blockIndent() -> Int {
        if atEOF || isDocumentMarker() { return -1 }
        return column
    }

    /// Skips whitespace, comments and empty lines up to the next content (or end of input).
    /// Rejects tabs in the indentation of a content line.
    mutating func skipToContent() throws(YAMLError) {
        while true {
            let atLineStart = pos == lineStart
            var firstTab: Mark?
            while let c = peek(), isSpaceOrTab(c) {
                if c == TAB && atLineStart && firstTab == nil { firstTab = mark }
                advance()
            }
            guard let c = peek() else { return }
            if c == LF {
                advance()
                continue
            }
            if atCommentStart() {
                skipToLineEnd()
                continue
            }
            if let tab = firstTab {
                throw error("tab character used for indentation; YAML indentation must use spaces", at: tab)
            }
            return
        }
    }

    /// After an inline value: only whitespace or a comment may remain on the line.
    mutating func finishLine(after what: String) throws(YAMLError) {
        skipInlineSpace()
        if atCommentOrLineEnd() {
            try skipToContent()
            return
        }
        if peek() == COLON {
            throw error("unexpected ':' after \(what); mapping values are not allowed here (check indentation or quote the value)")
        }
        throw error("unexpected \(describe(peek()!)) after \(what)")
    }

    // MARK: Stream

    mutating func parseStream() throws(YAMLError) -> [(node: YAMLNode, start: Mark)] {
        var documents: [(node: YAMLNode, start: Mark)] = []
        while true {
            try skipToContent()
            while peek() == PERCENT && pos == lineStart {
                skipToLineEnd()
                try skipToContent()
            }
            if atEOF { break }
            let start = mark
            let node: YAMLNode
            if isDocumentMarker() && b[pos] == DASH {
                advance(3)
                node = try parseBlockValue(parentIndent: -1, context: .documentMarker)
            } else if isDocumentMarker() {
                // `...` without a document.
                advance(3)
                try finishLine(after: "document end marker")
                continue
            } else {
                node = try parseBlockNodeAtLineStart(indent: column, parentIndent: -1)
            }
            documents.append((node, start))
            if atEOF { break }
            if isDocumentMarker() {
                if b[pos] == DOT {
                    advance(3)
                    try finishLine(after: "document end marker")
                }
                continue
            }
            throw error("unexpected content after the end of the document (bad indentation or a missing '---'?)")
        }
        return documents
    }

    // MARK: Block structure

    /// Cursor is just after `key:`, `-`, or `---`.
    mutating func parseBlockValue(parentIndent: Int, context: Context) throws(YAMLError) -> YAMLNode {
        skipInlineSpace()
        if atCommentOrLineEnd() {
            try skipToContent()
            let indent = blockIndent()
            if indent < 0 { return .null }
            if context == .mappingValue && indent == parentIndent && isSequenceEntry() {
                return try parseBlockSequence(indent: indent, endsAtKey: true)
            }
            if indent > parentIndent {
                return try parseBlockNodeAtLineStart(indent: indent, parentIndent: parentIndent)
            }
            return .null
        }
        if context == .sequenceItem {
            let indent = column
            if isSequenceEntry() {
                return try parseBlockSequence(indent: indent, endsAtKey: false)
            }
            if lineHasImplicitKey() {
                return try parseBlockMapping(indent: indent)
            }
        }
        return try parseInlineValue(parentIndent: parentIndent)
    }

    /// Cursor is at the first content character of a line indented by `indent`.
    mutating func parseBlockNodeAtLineStart(indent: Int, parentIndent: Int) throws(YAMLError) -> YAMLNode {
        if isSequenceEntry() {
            return try parseBlockSequence(indent: indent, endsAtKey: false)
        }
        if lineHasImplicitKey() {
            return try parseBlockMapping(indent: indent)
        }
        return try parseInlineValue(parentIndent: parentIndent)
    }

    mutating func parseBlockSequence(indent: Int, endsAtKey: Bool) throws(YAMLError) -> YAMLNode {
        try enter()
        defer { depth -= 1 }
        var items: [YAMLNode] = []
        while true {
            advance() // '-'
            items.append(try parseBlockValue(parentIndent: indent, context: .sequenceItem))
            let next = blockIndent()
            if next < indent { break }
            if next > indent {
                throw error("bad indentation: expected a sequence entry at column \(indent + 1)")
            }
            if isSequenceEntry() { continue }
            if endsAtKey { break }
            throw error("expected a sequence entry ('- ') at this indentation")
        }
        return .sequence(items)
    }

    mutating func parseBlockMapping(indent: Int) throws(YAMLError) -> YAMLNode {
        try enter()
        defer { depth -= 1 }
        var entries: [(key: String, value: YAMLNode)] = []
        var seen = Set<String>()
        while true {
            let keyMark = mark
            let key = try parseBlockKey()
            if !seen.insert(key).inserted {
                throw error("duplicate mapping key \"\(key)\"", at: keyMark)
            }
            let value = try parseBlockValue(parentIndent: indent, context: .mappingValue)
            entries.append((key, value))
            let next = blockIndent()
            if next < indent { break }
            if next > indent {
                throw error("bad indentation: expected a mapping key at column \(indent + 1)")
            }
            if isSequenceEntry() {
                throw error("unexpected sequence entry ('- ') in a mapping; expected \"key: value\"")
            }
            if !lineHasImplicitKey() {
                throw error("expected a mapping key (\"key: value\")")
            }
        }
        return .mapping(entries)
    }

    /// Whether the line from the cursor starts with `key:` (plain or single-line quoted key).
    func lineHasImplicitKey() -> Bool {
        var i = pos
        guard i < b.count else { return false }
        let c = b[i]
        if c == DQ || c == SQ {
            i += 1
            var closed = false
            while i < b.count && b[i] != LF {
                if c == DQ && b[i] == BACKSLASH {
                    if i + 1 < b.count && b[i + 1] != LF { i += 2; continue }
                    return false
                }
                if b[i] == c {
                    if c == SQ && i + 1 < b.count && b[i + 1] == SQ { i += 2; continue }
                    closed = true
                    break
                }
                i += 1
            }
            guard closed else { return false }
            i += 1
            while i < b.count && isSpaceOrTab(b[i]) { i += 1 }
            return i < b.count && b[i] == COLON && (i + 1 >= b.count || isBlank(b[i + 1]))
        }
        switch c {
        case LBRACKET, LBRACE, RBRACKET, RBRACE, COMMA, PIPE, GT, AMP, STAR, BANG, PERCENT, AT, BACKTICK, HASH:
            return false
        case QMARK where i + 1 >= b.count || isBlank(b[i + 1]):
            return false
        default:
            break
        }
        while i < b.count && b[i] != LF {
            if b[i] == COLON && (i + 1 >= b.count || isBlank(b[i + 1])) { return true }
            if b[i] == HASH && i > pos && isSpaceOrTab(b[i - 1]) { return false }
            i += 1
        }
        return false
    }

    /// Parses `key:` (cursor at the key) and consumes the colon.
    mutating func parseBlockKey() throws(YAMLError) -> String {
        let start = mark
        let key: String
        if peek() == DQ {
            key = try parseDoubleQuoted()
            skipInlineSpace()
        } else if peek() == SQ {
            key = try parseSingleQuoted()
            skipInlineSpace()
        } else {
            var end = pos
            while let c = peek(), c != LF {
                if c == COLON && isBlank(peek(1)) { break }
                advance()
                if !isSpaceOrTab(c) { end = pos }
            }
            if end == start.pos {
                throw error("empty mapping key", at: start)
            }
            key = String(decoding: b[start.pos..<end], as: UTF8.self)
        }
        guard peek() == COLON else {
            throw error("expected ':' after mapping key")
        }
        advance()
        return key
    }

    /// Rejects node starts this parser does not support.
    func checkNodeStart(inFlow: Bool) throws(YAMLError) {
        guard let c = peek() else { return }
        switch c {
        case AMP: throw error("anchors ('&') are not supported")
        case STAR: throw error("aliases ('*') are not supported")
        case BANG: throw error("tags ('!') are not supported")
        case PERCENT, AT, BACKTICK: throw error("\(describe(c)) is reserved and cannot start a plain scalar; quote the value")
        case QMARK where isBlank(peek(1)): throw error("explicit mapping keys ('? ') are not supported")
        case COLON where isBlank(peek(1)) || (inFlow && isFlowIndicator(peek(1))): throw error("empty mapping key")
        case DASH where isBlank(peek(1)):
            throw error(inFlow ? "block sequence entries ('- ') are not allowed inside a flow collection"
                               : "a block sequence entry ('- ') is not allowed here (start it on its own line)")
        case COMMA, RBRACKET, RBRACE, HASH:
            throw error("unexpected \(describe(c))")
        default:
            return
        }
    }

    /// A value that starts on the current line at the cursor.
    mutating func parseInlineValue(parentIndent: Int) throws(YAMLError) -> YAMLNode {
        guard let c = peek() else { return .null }
        switch c {
        case PIPE, GT:
            return try parseBlockScalar(parentIndent: parentIndent)
        case LBRACKET, LBRACE:
            let node = try parseFlowNode()
            skipInlineSpace()
            if peek() == COLON {
                throw error("flow collections cannot be used as mapping keys")
            }
            try finishLine(after: "flow collection")
            return node
        case DQ:
            let text = try parseDoubleQuoted()
            try finishLine(after: "quoted scalar")
            return .scalar(text, .doubleQuoted)
        case SQ:
            let text = try parseSingleQuoted()
            try finishLine(after: "quoted scalar")
            return .scalar(text, .singleQuoted)
        default:
            try checkNodeStart(inFlow: false)
            let text = try parseBlockPlain(parentIndent: parentIndent)
            try finishLine(after: "value")
            return plainNode(text)
        }
    }

    // MARK: Plain scalars

    /// Scans plain text on the current line; stops at `: `, ` #`, a line break, and in flow
    /// context at flow indicators. Returns the text without trailing whitespace; the cursor is
    /// left at the terminator.
    mutating func scanPlainLine(inFlow: Bool) -> [UInt8] {
        let start = pos
        var end = pos
        while let c = peek(), c != LF {
            if c == COLON {
                let n = peek(1)
                if isBlank(n) || (inFlow && isFlowIndicator(n)) { break }
            }
            if c == HASH && pos > lineStart && isSpaceOrTab(b[pos - 1]) { break }
            if inFlow && isFlowIndicator(c) { break }
            advance()
            if !isSpaceOrTab(c) { end = pos }
        }
        return Array(b[start..<end])
    }

    mutating func parseBlockPlain(parentIndent: Int) throws(YAMLError) -> [UInt8] {
        var text = scanPlainLine(inFlow: false)
        // Multi-line plain scalar: continuation lines indented deeper than the parent.
        while peek() == LF {
            let save = mark
            var breaks = 0
            var continuation = false
            while peek() == LF {
                advance()
                breaks += 1
                if isDocumentMarker() { break }
                var indent = 0
                while peek() == SP { advance(); indent += 1 }
                if indent <= parentIndent && !(peek() == LF) { break }
                while let c = peek(), isSpaceOrTab(c) { advance() }
                guard let c = peek() else { break }
                if c == LF { continue }
                if atCommentStart() { break }
                continuation = indent > parentIndent
                break
            }
            guard continuation else {
                reset(save)
                break
            }
            let more = scanPlainLine(inFlow: false)
            if more.isEmpty {
                // e.g. a line starting with ": " — let finishLine report it.
                break
            }
            if breaks == 1 {
                text.append(SP)
            } else {
                text.append(contentsOf: repeatElement(LF, count: breaks - 1))
            }
            text.append(contentsOf: more)
        }
        return text
    }

    mutating func parseFlowPlain() throws(YAMLError) -> [UInt8] {
        let start = mark
        var text = scanPlainLine(inFlow: true)
        if pos == start.pos {
            throw error("unexpected \(peek().map(describe) ?? "end of input") in flow collection")
        }
        while peek() == LF {
            let save = mark
            var breaks = 0
            while peek() == LF {
                advance()
                breaks += 1
                skipInlineSpace()
            }
            guard let c = peek(), !isDocumentMarker(), !isFlowIndicator(c), !atCommentStart(),
                  !(c == COLON && (isBlank(peek(1)) || isFlowIndicator(peek(1)))) else {
                reset(save)
                break
            }
            let more = scanPlainLine(inFlow: true)
            if more.isEmpty {
                reset(save)
                break
            }
            if breaks == 1 {
                text.append(SP)
            } else {
                text.append(contentsOf: repeatElement(LF, count: breaks - 1))
            }
            text.append(contentsOf: more)
        }
        return text
    }

    // MARK: Quoted scalars

    /// Folds a line break inside a quoted scalar (cursor at the break).
    mutating func foldQuotedLineBreak(into out: inout [UInt8], open: Mark, what: String) throws(YAMLError) {
        var breaks = 0
        while peek() == LF {
            advance()
            breaks += 1
            if isDocumentMarker() {
                throw error("unterminated \(what)", at: open)
            }
            skipInlineSpace()
        }
        if breaks == 1 {
            out.append(SP)
        } else {
            out.append(contentsOf: repeatElement(LF, count: breaks - 1))
        }
    }

    mutating func parseSingleQuoted() throws(YAMLError) -> String {
        let open = mark
        advance()
        var out: [UInt8] = []
        while true {
            guard let c = peek() else {
                throw error("unterminated single-quoted string (missing closing ')", at: open)
            }
            switch c {
            case SQ:
                if peek(1) == SQ {
                    out.append(SQ)
                    advance(2)
                } else {
                    advance()
                    return String(decoding: out, as: UTF8.self)
                }
            case SP, TAB, LF:
                let runStart = pos
                skipInlineSpace()
                if peek() == LF {
                    try foldQuotedLineBreak(into: &out, open: open, what: "single-quoted string (missing closing ')")
                } else {
                    out.append(contentsOf: b[runStart..<pos])
                }
            default:
                out.append(c)
                advance()
            }
        }
    }

    mutating func parseHex(digits: Int, escape: Mark) throws(YAMLError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<digits {
            guard let c = peek() else {
                throw error("truncated escape sequence", at: escape)
            }
            let digit: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw error("invalid hexadecimal digit in escape sequence", at: escape)
            }
            value = value << 4 | digit
            advance()
        }
        return value
    }

    mutating func appendScalar(_ value: UInt32, to out: inout [UInt8], escape: Mark) throws(YAMLError) {
        guard let scalar = Unicode.Scalar(value) else {
            throw error("invalid Unicode code point in escape sequence", at: escape)
        }
        UTF8.encode(scalar) { out.append($0) }
    }

    mutating func parseDoubleQuoted() throws(YAMLError) -> String {
        let open = mark
        let unterminated = "double-quoted string (missing closing \")"
        advance()
        var out: [UInt8] = []
        while true {
            guard let c = peek() else {
                throw error("unterminated \(unterminated)", at: open)
            }
            switch c {
            case DQ:
                advance()
                return String(decoding: out, as: UTF8.self)
            case BACKSLASH:
                let escape = mark
                advance()
                guard let e = peek() else {
                    throw error("unterminated \(unterminated)", at: open)
                }
                if e == LF {
                    // Escaped line break: joins lines without a space.
                    advance()
                    if isDocumentMarker() { throw error("unterminated \(unterminated)", at: open) }
                    skipInlineSpace()
                    continue
                }
                advance()
                switch e {
                case UInt8(ascii: "0"): out.append(0)
                case UInt8(ascii: "a"): out.append(0x07)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "t"), TAB: out.append(TAB)
                case UInt8(ascii: "n"): out.append(LF)
                case UInt8(ascii: "v"): out.append(0x0B)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "r"): out.append(CR)
                case UInt8(ascii: "e"): out.append(0x1B)
                case SP: out.append(SP)
                case DQ: out.append(DQ)
                case UInt8(ascii: "/"): out.append(UInt8(ascii: "/"))
                case BACKSLASH: out.append(BACKSLASH)
                case UInt8(ascii: "N"): try appendScalar(0x85, to: &out, escape: escape)
                case UInt8(ascii: "_"): try appendScalar(0xA0, to: &out, escape: escape)
                case UInt8(ascii: "L"): try appendScalar(0x2028, to: &out, escape: escape)
                case UInt8(ascii: "P"): try appendScalar(0x2029, to: &out, escape: escape)
                case UInt8(ascii: "x"):
                    try appendScalar(try parseHex(digits: 2, escape: escape), to: &out, escape: escape)
                case UInt8(ascii: "U"):
                    try appendScalar(try parseHex(digits: 8, escape: escape), to: &out, escape: escape)
                case UInt8(ascii: "u"):
                    var value = try parseHex(digits: 4, escape: escape)
                    if (0xD800...0xDBFF).contains(value) {
                        // JSON-style surrogate pair.
                        guard peek() == BACKSLASH, peek(1) == UInt8(ascii: "u") else {
                            throw error("unpaired UTF-16 surrogate in \\u escape", at: escape)
                        }
                        advance(2)
                        let low = try parseHex(digits: 4, escape: escape)
                        guard (0xDC00...0xDFFF).contains(low) else {
                            throw error("unpaired UTF-16 surrogate in \\u escape", at: escape)
                        }
                        value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(value) {
                        throw error("unpaired UTF-16 surrogate in \\u escape", at: escape)
                    }
                    try appendScalar(value, to: &out, escape: escape)
                default:
                    throw error("invalid escape sequence \\\(describe(e)) in double-quoted string", at: escape)
                }
            case SP, TAB, LF:
                let runStart = pos
                skipInlineSpace()
                if peek() == LF {
                    try foldQuotedLineBreak(into: &out, open: open, what: unterminated)
                } else {
                    out.append(contentsOf: b[runStart..<pos])
                }
            default:
                out.append(c)
                advance()
            }
        }
    }

    // MARK: Block scalars

    mutating func parseBlockScalar(parentIndent: Int) throws(YAMLError) -> YAMLNode {
        let literal = peek() == PIPE
        advance()
        var chomping: Chomping?
        var explicitIndent: Int?
        for _ in 0..<2 {
            guard let c = peek() else { break }
            if c == DASH || c == PLUS {
                if chomping != nil { throw error("duplicate chomping indicator in block scalar header") }
                chomping = c == DASH ? .strip : .keep
                advance()
            } else if c >= UInt8(ascii: "1") && c <= UInt8(ascii: "9") {
                if explicitIndent != nil { throw error("duplicate indentation indicator in block scalar header") }
                explicitIndent = Int(c - UInt8(ascii: "0"))
                advance()
            } else if c == UInt8(ascii: "0") {
                throw error("block scalar indentation indicator must be between 1 and 9")
            } else {
                break
            }
        }
        let hadSpace = peek().map(isSpaceOrTab) ?? false
        skipInlineSpace()
        if peek() == HASH {
            guard hadSpace else { throw error("invalid block scalar header") }
            skipToLineEnd()
        }
        if let c = peek(), c != LF {
            throw error("invalid block scalar header: expected '|' or '>' optionally followed by '-', '+' or an indentation digit")
        }
        if peek() == LF { advance() }

        var contentIndent: Int? = explicitIndent.map { max(parentIndent, 0) + $0 }
        var lines: [ArraySlice<UInt8>] = []
        while !atEOF {
            let lineMark = mark
            var spaces = 0
            while peek() == SP { advance(); spaces += 1 }
            var j = pos
            while j < b.count && isSpaceOrTab(b[j]) { j += 1 }
            let blank = j >= b.count || b[j] == LF
            var lineEnd = pos
            while lineEnd < b.count && b[lineEnd] != LF { lineEnd += 1 }
            if spaces == 0 && !blank && isDocumentMarker() {
                break
            }
            if contentIndent == nil {
                if blank {
                    lines.append([])
                    moveToNextLine(from: lineEnd)
                    continue
                }
                if spaces <= parentIndent {
                    reset(lineMark)
                    break
                }
                contentIndent = spaces
            }
            let indent = contentIndent!
            if spaces >= indent {
                let contentStart = lineMark.pos + indent
                lines.append(b[contentStart..<max(contentStart, lineEnd)])
            } else if blank {
                lines.append([])
            } else {
                reset(lineMark)
                break
            }
            moveToNextLine(from: lineEnd)
        }

        var lastContent = lines.count - 1
        while lastContent >= 0 && lines[lastContent].isEmpty { lastContent -= 1 }
        let body = lines[0..<(lastContent + 1)]
        let trailingEmpty = lines.count - body.count

        var out: [UInt8] = []
        if literal {
            for (i, l) in body.enumerated() {
                if i > 0 { out.append(LF) }
                out.append(contentsOf: l)
            }
        } else {
            var previous: ArraySlice<UInt8>?
            var emptyRun = 0
            for l in body {
                if l.isEmpty {
                    emptyRun += 1
                    continue
                }
                if let prev = previous {
                    let moreIndented = isSpaceOrTab(prev.first!) || isSpaceOrTab(l.first!)
                    if moreIndented {
                        out.append(contentsOf: repeatElement(LF, count: emptyRun + 1))
                    } else if emptyRun == 0 {
                        out.append(SP)
                    } else {
                        out.append(contentsOf: repeatElement(LF, count: emptyRun))
                    }
                } else {
                    out.append(contentsOf: repeatElement(LF, count: emptyRun))
                }
                out.append(contentsOf: l)
                previous = l
                emptyRun = 0
            }
        }
        switch chomping ?? .clip {
        case .strip:
            break
        case .clip:
            if !body.isEmpty { out.append(LF) }
        case .keep:
            if !body.isEmpty { out.append(LF) }
            out.append(contentsOf: repeatElement(LF, count: trailingEmpty))
        }
        try skipToContent()
        return .scalar(String(decoding: out, as: UTF8.self), literal ? .literal : .folded)
    }

    /// Moves the cursor to the start of the line after the line ending at `lineEnd`.
    mutating func moveToNextLine(from lineEnd: Int) {
        while pos < lineEnd { advance() }
        if pos < b.count { advance() }
    }

    // MARK: Flow collections

    mutating func skipFlowSpace(open: Mark, what: String) throws(YAMLError) {
        while let c = peek() {
            if isSpaceOrTab(c) {
                advance()
            } else if c == LF {
                advance()
                if isDocumentMarker() {
                    throw error("unterminated \(what)", at: open)
                }
            } else if atCommentStart() {
                skipToLineEnd()
            } else {
                return
            }
        }
    }

    mutating func parseFlowNode() throws(YAMLError) -> YAMLNode {
        guard let c = peek() else {
            throw error("unexpected end of input")
        }
        switch c {
        case LBRACKET: return try parseFlowSequence()
        case LBRACE: return try parseFlowMapping()
        case DQ: return .scalar(try parseDoubleQuoted(), .doubleQuoted)
        case SQ: return .scalar(try parseSingleQuoted(), .singleQuoted)
        default:
            try checkNodeStart(inFlow: true)
            if c == PIPE || c == GT {
                throw error("block scalars ('|', '>') are not allowed inside a flow collection")
            }
            return plainNode(try parseFlowPlain())
        }
    }

    mutating func parseFlowSequence() throws(YAMLError) -> YAMLNode {
        let open = mark
        let what = "flow sequence (missing ']')"
        try enter()
        defer { depth -= 1 }
        advance()
        var items: [YAMLNode] = []
        while true {
            try skipFlowSpace(open: open, what: what)
            guard let c = peek() else { throw error("unterminated \(what)", at: open) }
            if c == RBRACKET {
                advance()
                break
            }
            let itemMark = mark
            var item = try parseFlowNode()
            try skipFlowSpace(open: open, what: what)
            if peek() == COLON {
                // Single-pair mapping: `[key: value]`.
                let key: String
                switch item {
                case .scalar(let text, _): key = text
                case .null: key = "null"
                default: throw error("only scalar mapping keys are supported", at: itemMark)
                }
                advance()
                try skipFlowSpace(open: open, what: what)
                var value: YAMLNode = .null
                if let d = peek(), d != COMMA && d != RBRACKET {
                    value = try parseFlowNode()
                    try skipFlowSpace(open: open, what: what)
                }
                item = .mapping([(key, value)])
            }
            items.append(item)
            guard let d = peek() else { throw error("unterminated \(what)", at: open) }
            if d == COMMA {
                advance()
                continue
            }
            if d == RBRACKET {
                advance()
                break
            }
            throw error("expected ',' or ']' in flow sequence but found \(describe(d))")
        }
        return .sequence(items)
    }

    mutating func parseFlowMapping() throws(YAMLError) -> YAMLNode {
        let open = mark
        let what = "flow mapping (missing '}')"
        try enter()
        defer { depth -= 1 }
        advance()
        var entries: [(key: String, value: YAMLNode)] = []
        var seen = Set<String>()
        while true {
            try skipFlowSpace(open: open, what: what)
            guard let c = peek() else { throw error("unterminated \(what)", at: open) }
            if c == RBRACE {
                advance()
                break
            }
            let keyMark = mark
            let key: String
            switch c {
            case DQ: key = try parseDoubleQuoted()
            case SQ: key = try parseSingleQuoted()
            case LBRACKET, LBRACE: throw error("only scalar mapping keys are supported")
            default:
                try checkNodeStart(inFlow: true)
                if c == PIPE || c == GT { throw error("unexpected \(describe(c)) in flow mapping") }
                key = String(decoding: try parseFlowPlain(), as: UTF8.self)
            }
            try skipFlowSpace(open: open, what: what)
            var value: YAMLNode = .null
            if peek() == COLON {
                advance()
                try skipFlowSpace(open: open, what: what)
                if let d = peek(), d != COMMA && d != RBRACE {
                    value = try parseFlowNode()
                    try skipFlowSpace(open: open, what: what)
                }
            }
            if !seen.insert(key).inserted {
                throw error("duplicate mapping key \"\(key)\"", at: keyMark)
            }
            entries.append((key, value))
            guard let d = peek() else { throw error("unterminated \(what)", at: open) }
            if d == COMMA {
                advance()
                continue
            }
            if d == RBRACE {
                advance()
                break
            }
            throw error("expected ',' or '}' in flow mapping but found \(describe(d))")
        }
        return .mapping(entries)
    }
}
