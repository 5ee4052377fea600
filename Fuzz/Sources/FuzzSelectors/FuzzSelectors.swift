import FuzzSupport
import Selectors

// Input: a selector on the first line, then `key=value` lines: an object's labels (and, read
// as fields, its field set). The first line is parsed as a label selector and as a field
// selector. Checks, beyond "never crashes":
// - both error wordings (1.22+ and legacy) accept exactly the same label selectors;
// - the canonical form (`description`) re-parses to the same selector (label) or the same
//   terms (field), and is a fixed point;
// - the three ways to match (dictionary, lookup, key/value pairs) agree;
// - field values survive `escapeValue` then `unescapeValue`;
// - validation against the apiserver's field labels (pods, nodes, secrets, events, jobs, a
//   custom resource) keeps the terms' order, values and operators and only yields supported labels.

private let resources: [ResourceFieldLabels] = [
    FieldLabelSupport.forResource(group: "", resource: "pods"),
    FieldLabelSupport.forResource(group: "", resource: "nodes"),
    FieldLabelSupport.forResource(group: "", resource: "secrets"),
    FieldLabelSupport.forResource(group: "", resource: "events"),
    FieldLabelSupport.forResource(group: "batch", resource: "jobs"),
    FieldLabelSupport.forCustomResource(group: "example.com", resource: "widgets", clusterScoped: false),
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSelectors(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: inputBuffer(data, size), as: UTF8.self)
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    let selector = String(lines.removeFirst())
    var pairs: [(String, String)] = []
    var labels: [String: String] = [:]
    for line in lines {
        let (k, v) = line.firstIndex(of: "=").map { (String(line[..<$0]), String(line[line.index(after: $0)...])) }
            ?? (String(line), "")
        pairs.append((k, v))
        if labels[k] == nil { labels[k] = v }
    }
    checkLabelSelector(selector, pairs: pairs, labels: labels)
    checkFieldSelector(selector, fields: labels)
    for s in [selector] + pairs.map(\.1) {
        let escaped = FieldSelector.escapeValue(s)
        do {
            let back = try FieldSelector.unescapeValue(escaped)
            require(back == s, "escape round trip: \(s.debugDescription) -> \(escaped.debugDescription) -> \(back.debugDescription)")
        } catch {
            require(false, "escaped value \(escaped.debugDescription) does not unescape: \(error)")
        }
    }
    return 0
}

private func checkLabelSelector(_ text: String, pairs: [(String, String)], labels: [String: String]) {
    let legacy = try? LabelSelector.parse(text, style: .legacy)
    let selector: LabelSelector
    do {
        selector = try LabelSelector.parse(text)
    } catch {
        require(error.kind == .invalidLabelSelector && !error.message.isEmpty, "label error \(error)")
        require(legacy == nil, "legacy wording accepted \(text.debugDescription), 1.22 wording did not")
        return
    }
    require(legacy == selector, "legacy wording parsed \(text.debugDescription) differently")
    let canonical = selector.description
    do {
        let again = try LabelSelector.parse(canonical)
        require(again == selector, "\(text.debugDescription) -> \(canonical.debugDescription) parses differently")
        require(again.description == canonical, "canonical form is not a fixed point: \(canonical.debugDescription)")
    } catch {
        require(false, "canonical form \(canonical.debugDescription) of \(text.debugDescription) does not parse: \(error)")
    }
    let byDictionary = selector.matches(labels)
    require(selector.matches { labels[$0] } == byDictionary, "lookup and dictionary matching differ")
    require(selector.matches(pairs: pairs) == byDictionary, "pairs and dictionary matching differ")
    if selector.isEmpty { require(byDictionary, "the empty selector refused \(labels)") }
    for r in selector.requirements {
        _ = selector.requiresExactMatch(r.key)
    }
}

private func checkFieldSelector(_ text: String, fields: [String: String]) {
    let selector: FieldSelector
    do {
        selector = try FieldSelector.parse(text)
    } catch {
        require(error.kind == .invalidFieldSelector && !error.message.isEmpty, "field error \(error)")
        return
    }
    let canonical = selector.description
    do {
        let again = try FieldSelector.parse(canonical)
        require(sorted(again.terms) == sorted(selector.terms),
                "\(text.debugDescription) -> \(canonical.debugDescription) parses to other terms")
    } catch {
        require(false, "canonical form \(canonical.debugDescription) of \(text.debugDescription) does not parse: \(error)")
    }
    let byDictionary = selector.matches(fields)
    require(selector.matches { fields[$0] } == byDictionary, "lookup and dictionary matching differ")
    for support in resources {
        guard let valid = try? support.validate(selector) else { continue }
        require(valid.terms.count <= selector.terms.count, "validation added terms")
        let supported = Set(support.supportedLabels)
        for after in valid.terms {
            require(supported.contains(after.field), "validated label \(after.field) is not supported by \(support.resource)")
        }
        // A term is only dropped when a conversion maps it to ("", ""): pair them up otherwise.
        guard valid.terms.count == selector.terms.count else { continue }
        for (before, after) in zip(selector.terms, valid.terms) {
            require(after.value == before.value && after.operator == before.operator, "validation changed a term's value")
        }
    }
}

private func sorted(_ terms: [FieldSelector.Term]) -> [String] {
    terms.map { "\($0.field)\u{0}\($0.operator)\u{0}\($0.value)" }.sorted()
}
