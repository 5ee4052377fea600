import FuzzSupport
import KubeRequest

// Input: `METHOD TARGET` on the first line (no space: the whole line is a GET's target), an
// optional second line with an Accept header value. Checks, beyond "never crashes":
// - a parsed target re-encodes (every byte outside the unreserved set percent-escaped) to a
//   target that parses to the same path, segments and query;
// - classification is consistent (resource requests have a resource, name and subresource
//   come from `parts`, a list/watch has no path name unless a field selector pinned it);
// - ListOptions decoding never accepts what validation or RequestInfo would read differently;
// - Accept negotiation picks a format some clause admits, and `accepts` agrees with it.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequest(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: inputBuffer(data, size), as: UTF8.self)
    let lines = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
    let requestLine = lines[0]
    let accept = lines.count > 1 ? String(lines[1]) : nil
    let method: String
    let target: String
    if let space = requestLine.firstIndex(of: " ") {
        method = String(requestLine[..<space])
        target = String(requestLine[requestLine.index(after: space)...])
    } else {
        method = "GET"
        target = String(requestLine)
    }
    checkTarget(target)
    checkClassification(method: method, target: target)
    checkAccept(accept)
    return 0
}

private func checkTarget(_ target: String) {
    guard let parsed = try? RequestTarget(target) else { return }
    require(parsed.path.hasPrefix("/"), "path \(parsed.path) does not start with /")
    require(!parsed.segments.contains { $0.isEmpty || $0 == "." || $0 == ".." || $0.contains("/") },
            "bad segment in \(parsed.segments)")
    // A value that is not UTF-8 is re-encoded from its bytes (Go keeps them as they are).
    let query = parsed.query.map { escape($0.name) + "=" + escape(bytes: $0.invalidUTF8Bytes ?? Array($0.value.utf8)) }
        .joined(separator: "&")
    let trailing = parsed.path.hasSuffix("/") && !parsed.segments.isEmpty ? "/" : ""
    let again = "/" + parsed.segments.map(escape).joined(separator: "/") + trailing + (query.isEmpty ? "" : "?" + query)
    do {
        let reparsed = try RequestTarget(again)
        require(reparsed.segments == parsed.segments, "segments \(parsed.segments) -> \(reparsed.segments) via \(again)")
        require(Array(reparsed.query) == Array(parsed.query), "query changed via \(again)")
    } catch {
        require(false, "re-encoded target \(again) of \(target) does not parse: \(error)")
    }
}

private func checkClassification(method: String, target: String) {
    let first = try? RequestInfo(method: method, target: target)
    let second = try? RequestInfo(method: method, target: target)
    require(first == second, "classification is not deterministic")
    guard let info = first else { return }
    switch info.kind {
    case .resource:
        require(!info.parts.isEmpty && info.resource == info.parts[0], "resource \(info.resource) vs parts \(info.parts)")
        require(info.apiPrefix == "api" || info.apiPrefix == "apis", "prefix \(info.apiPrefix)")
        require(info.apiPrefix == "apis" || info.apiGroup.isEmpty, "legacy path with group \(info.apiGroup)")
        require(info.groupVersionResource != nil && info.scope != nil, "resource request without scope")
        if info.parts.count >= 2 {
            require(info.name == info.parts[1], "name \(info.name) vs parts \(info.parts)")
        }
        // A list never names an object in its path (a `/watch/` path may: a watch of one object).
        if info.verb == .list {
            require(info.parts.count == 1, "list with parts \(info.parts)")
        }
        if (info.verb == .list || info.verb == .watch) && info.parts.count == 1 && !info.name.isEmpty {
            require(!info.name.contains("/") && !info.name.contains("%"), "pinned name \(info.name)")
        }
        if info.verb == .deleteCollection {
            require(info.parts.count == 1, "deletecollection with parts \(info.parts)")
        }
        if info.verb == .list || info.verb == .watch, let options = try? ListOptions.decode(info.query) {
            // `watch=true` makes a collection get a watch; a `/watch/` path is one whatever the option says.
            require(!options.watch || info.verb == .watch, "watch option set but verb \(info.verb)")
            _ = try? options.validate()
            _ = try? options.validate(watchListFeatureEnabled: false)
            let full = try? ListOptions(query: info.query)
            if let full { require(full == options, "validation changed the options") }
        }
    case .discovery, .nonResource:
        require(info.resource.isEmpty && info.parts.isEmpty && info.scope == nil, "non-resource with resource fields")
        require(info.verb.rawValue == method.lowercased(), "non-resource verb \(info.verb) for \(method)")
    }
}

private func checkAccept(_ value: String?) {
    let header = AcceptHeader(value)
    for range in header.rangesByPreference {
        require(range.quality > 0 && range.quality <= 1000, "quality \(range.quality)")
    }
    guard let chosen = header.negotiate() else {
        for format in ResponseFormat.allCases {
            require(!header.accepts(format), "406 for all offers but accepts \(format)")
        }
        return
    }
    if let range = chosen.range {
        require(range.admits(chosen.format), "\(range) chosen but does not admit \(chosen.format)")
    } else {
        require(header.isEmpty, "no clause chose \(chosen.format) from a non-empty header")
    }
    require(header.accepts(chosen.format), "negotiated \(chosen.format) but accepts() says no")
    _ = header.negotiate([.protobuf, .json])
}

/// Percent-encodes every byte outside RFC 3986's unreserved set.
private func escape(_ s: String) -> String { escape(bytes: Array(s.utf8)) }

private func escape(bytes: [UInt8]) -> String {
    let hex = Array("0123456789ABCDEF".utf8)
    var out: [UInt8] = []
    for b in bytes {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "~"):
            out.append(b)
        default:
            out += [UInt8(ascii: "%"), hex[Int(b >> 4)], hex[Int(b & 15)]]
        }
    }
    return String(decoding: out, as: UTF8.self)
}
