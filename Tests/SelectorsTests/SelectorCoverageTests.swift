import Testing
@testable import Selectors

struct CoverageCase: Sendable, CustomStringConvertible {
    let wide: String, narrow: String, covers: Bool
    var description: String { "'\(wide)' ⊇ '\(narrow)': \(covers)" }
}

let labelCoverage: [CoverageCase] = [
    .init(wide: "", narrow: "", covers: true),
    .init(wide: "", narrow: "a=b", covers: true),
    .init(wide: "a=b", narrow: "", covers: false),
    .init(wide: "a=b", narrow: "a=b", covers: true),
    .init(wide: "a=b", narrow: "a==b", covers: true),
    .init(wide: "a=b", narrow: "a=b,c=d", covers: true),
    .init(wide: "a=b,c=d", narrow: "a=b", covers: false),
    .init(wide: "a=b", narrow: "a=c", covers: false),
    .init(wide: "a in (x,y)", narrow: "a=x", covers: true),
    .init(wide: "a in (x,y)", narrow: "a in (x,y)", covers: true),
    .init(wide: "a in (x,y)", narrow: "a in (x,y,z)", covers: false),
    .init(wide: "a=x", narrow: "a in (x,y)", covers: false),
    // `a in (x,y)` and `a notin (y)` leave only x
    .init(wide: "a=x", narrow: "a in (x,y),a notin (y)", covers: true),
    .init(wide: "a", narrow: "a=x", covers: true),
    .init(wide: "a", narrow: "a in (x,y)", covers: true),
    .init(wide: "a", narrow: "a!=x", covers: false),      // a!=x matches objects without a
    .init(wide: "a", narrow: "a,a!=x", covers: true),
    .init(wide: "a!=x", narrow: "a=y", covers: true),
    .init(wide: "a!=x", narrow: "a=x", covers: false),
    .init(wide: "a!=x", narrow: "!a", covers: true),
    .init(wide: "!a", narrow: "a!=x", covers: false),
    .init(wide: "!a", narrow: "!a", covers: true),
    .init(wide: "!a", narrow: "!a,b=c", covers: true),
    .init(wide: "!a", narrow: "a=x", covers: false),
    .init(wide: "a notin (x,y)", narrow: "a notin (x,y,z)", covers: true),
    .init(wide: "a notin (x,y,z)", narrow: "a notin (x,y)", covers: false),
    .init(wide: "a notin (x,y)", narrow: "a!=x,a!=y", covers: true),
    .init(wide: "a!=x,a!=y", narrow: "a notin (x,y)", covers: true),
    .init(wide: "a notin (x)", narrow: "a in (y,z)", covers: true),
    .init(wide: "a notin (x)", narrow: "a in (x,z)", covers: false),
    // kube-proxy's selector
    .init(wide: "!service.kubernetes.io/headless", narrow: "!service.kubernetes.io/headless,!service.kubernetes.io/service-proxy-name", covers: true),
    .init(wide: "!service.kubernetes.io/headless,!service.kubernetes.io/service-proxy-name", narrow: "!service.kubernetes.io/headless", covers: false),
    // integers
    .init(wide: "a>3", narrow: "a>5", covers: true),
    .init(wide: "a>5", narrow: "a>3", covers: false),
    .init(wide: "a<5", narrow: "a<3", covers: true),
    .init(wide: "a>3", narrow: "a=7", covers: true),
    .init(wide: "a>3", narrow: "a=2", covers: false),
    .init(wide: "a>3", narrow: "a=x", covers: false),
    .init(wide: "a>3", narrow: "a in (4,5)", covers: true),
    .init(wide: "a>3", narrow: "a", covers: false),
    .init(wide: "a", narrow: "a>3", covers: true),
    .init(wide: "a!=7", narrow: "a>5", covers: false),
    .init(wide: "a!=3", narrow: "a>5", covers: true),
    .init(wide: "a=6", narrow: "a>5,a<7", covers: false),  // "6", "06", "+6" all match a>5,a<7
    // unsatisfiable requests are covered by anything
    .init(wide: "z=1", narrow: "a=x,a=y", covers: true),
    .init(wide: "z=1", narrow: "a,!a", covers: true),
    .init(wide: "z=1", narrow: "a>5,a<6", covers: true),
    .init(wide: "z=1", narrow: "a=x,a notin (x)", covers: true),
]

@Test("label selector coverage", arguments: labelCoverage)
func labelCoverageCase(_ c: CoverageCase) throws {
    let wide = try LabelSelector.parse(c.wide), narrow = try LabelSelector.parse(c.narrow)
    #expect(SelectorCoverage.covers(wide: wide, narrow: narrow) == c.covers)
}

let fieldCoverage: [CoverageCase] = [
    .init(wide: "", narrow: "spec.nodeName=n", covers: true),
    .init(wide: "spec.nodeName=n", narrow: "", covers: false),
    .init(wide: "spec.nodeName=n", narrow: "spec.nodeName=n", covers: true),
    .init(wide: "spec.nodeName=n", narrow: "spec.nodeName==n", covers: true),
    .init(wide: "spec.nodeName=n", narrow: "spec.nodeName=n,status.phase=Running", covers: true),
    .init(wide: "spec.nodeName=n", narrow: "spec.nodeName=m", covers: false),
    .init(wide: "spec.nodeName!=n", narrow: "spec.nodeName=m", covers: true),
    .init(wide: "spec.nodeName!=n", narrow: "spec.nodeName=n", covers: false),
    // a missing field reads as "": `f!=x` is not "f is set"
    .init(wide: "spec.nodeName!=", narrow: "spec.nodeName!=n", covers: false),
    .init(wide: "spec.nodeName!=", narrow: "spec.nodeName=n", covers: true),
    .init(wide: "status.phase!=Failed", narrow: "status.phase!=Failed,status.phase!=Succeeded", covers: true),
    .init(wide: "status.phase!=Failed,status.phase!=Succeeded", narrow: "status.phase!=Failed", covers: false),
    .init(wide: "metadata.name=a\\,b", narrow: "metadata.name=a\\,b", covers: true),
    .init(wide: "z=1", narrow: "a=x,a=y", covers: true),
    .init(wide: "z=1", narrow: "a=x,a!=x", covers: true),
]

@Test("field selector coverage", arguments: fieldCoverage)
func fieldCoverageCase(_ c: CoverageCase) throws {
    let wide = try FieldSelector.parse(c.wide), narrow = try FieldSelector.parse(c.narrow)
    #expect(SelectorCoverage.covers(wide: wide, narrow: narrow) == c.covers)
}

@Test func combinedCoverage() throws {
    let node = try FieldSelector.parse("spec.nodeName=n")
    // kubelet's scope answers kubelet's scope plus a label selector
    #expect(SelectorCoverage.covers(wideLabels: .everything, wideFields: node,
                                    narrowLabels: try LabelSelector.parse("app=x"), narrowFields: node))
    // but not the label selector alone
    #expect(!SelectorCoverage.covers(wideLabels: .everything, wideFields: node,
                                     narrowLabels: try LabelSelector.parse("app=x"), narrowFields: .everything))
    // an unsatisfiable field selector makes the request empty whatever its labels
    #expect(SelectorCoverage.covers(wideLabels: try LabelSelector.parse("z=1"), wideFields: node,
                                    narrowLabels: .everything, narrowFields: try FieldSelector.parse("a=x,a=y")))
}

/// Exhaustive check against the matcher: for every pair of selectors from a small vocabulary,
/// whenever coverage is claimed, no label set over the same small universe matches the narrow
/// selector without matching the wide one (soundness: a "yes" is never wrong).
@Test func coverageIsSoundOverASmallUniverse() throws {
    let atoms = ["a=x", "a!=x", "a in (x,y)", "a notin (x,y)", "a", "!a", "a=y", "b=x", "!b", "a>1", "a<3", "a=2"]
    var selectors = atoms
    for i in atoms.indices { for j in atoms.indices where j > i { selectors.append(atoms[i] + "," + atoms[j]) } }
    let values: [String?] = [nil, "x", "y", "z", "1", "2", "3", "02"]
    var universe: [[String: String]] = []
    for a in values { for b in [nil, "x"] as [String?] {
        var m: [String: String] = [:]
        if let a { m["a"] = a }
        if let b { m["b"] = b }
        universe.append(m)
    } }
    var claimed = 0
    for w in selectors {
        let wide = try LabelSelector.parse(w)
        for n in selectors {
            let narrow = try LabelSelector.parse(n)
            guard SelectorCoverage.covers(wide: wide, narrow: narrow) else { continue }
            claimed += 1
            for labels in universe where narrow.matches(labels) {
                #expect(wide.matches(labels), "'\(w)' claimed to cover '\(n)' but misses \(labels)")
            }
        }
    }
    #expect(claimed > 100)
}
