import Filters
import KubeRequest
import KubeTable
import NIOHTTP1

/// How a Table list of a filtered resource is forwarded: the Accept as the client sent it, and
/// `includeObject` raised when the filter needs more of each row's object than the client asked
/// for (a field rule reads `spec`/`status`, which only `Object` carries; `None` carries no name
/// at all). `strip` is then what the rows are cut back to (see `TableTee`).
struct TablePlan {
    var head: HTTPRequestHead
    var strip: IncludeObject?
    /// `meta.k8s.io/v1` or `v1beta1`, as the client's Table clause says.
    var apiVersion: String

    /// nil when the client's `includeObject` is one the apiserver refuses: the plain forwarding
    /// path then gets its 400.
    init?(_ original: HTTPRequestHead, query: QueryItems, filter: ResourceFilter) {
        guard let asked = IncludeObject(query: query.first("includeObject")?.value),
              let target = OutputTarget.candidates(accept: original.headers.first(name: "accept")).first, target.conversion == .table
        else { return nil }
        apiVersion = "meta.k8s.io/" + target.version
        let needed: IncludeObject = filter.usesFieldsBeyondMetadata ? .object : (asked == .none ? .metadata : asked)
        var h = original
        h.headers.remove(name: "accept-encoding")
        if needed != asked {
            h.uri = Self.uri(original.uri, settingIncludeObject: needed.rawValue)
            strip = asked
        } else {
            strip = nil
        }
        head = h
    }

    /// `uri` with every `includeObject` pair replaced by one with `value`.
    static func uri(_ uri: String, settingIncludeObject value: String) -> String {
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let path = parts[0]
        var pairs: [Substring] = parts.count > 1 ? parts[1].split(separator: "&", omittingEmptySubsequences: true) : []
        pairs.removeAll { pair in
            QueryItems(parsing: pair).items.first?.name == "includeObject"
        }
        pairs.append("includeObject=\(value)")
        return path + "?" + pairs.joined(separator: "&")
    }
}
