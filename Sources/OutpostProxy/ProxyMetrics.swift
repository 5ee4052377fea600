import Synchronization

/// Outpost's counters, rendered as Prometheus text on the admin port. Deliberately tiny (no
/// metrics framework): a handful of maps behind one lock, touched once per request.
public final class ProxyMetrics: Sendable {
    struct RequestKey: Hashable {
        var verb: String
        var resource: String
        var code: Int
    }

    struct State {
        var requests: [RequestKey: Int] = [:]
        var inFlight: [String: Int] = [:]  // by verb
        var upstreamErrors: [String: Int] = [:]  // by kind
        var bytesToClients = 0
        var bytesFromClients = 0
        var tunnelsOpened = 0
        var servedLocally = 0
        var healthTransitions: [String: Int] = [:]
        var openConnections = 0
        var connectionsClosed: [String: Int] = [:]  // by reason
    }

    private let state = Mutex(State())

    public init() {}

    func requestStarted(verb: String) {
        state.withLock { $0.inFlight[verb, default: 0] += 1 }
    }

    func requestFinished(verb: String, resource: String, code: Int, bytesOut: Int, bytesIn: Int) {
        state.withLock {
            $0.inFlight[verb, default: 0] -= 1
            $0.requests[RequestKey(verb: verb, resource: resource, code: code), default: 0] += 1
            $0.bytesToClients += bytesOut
            $0.bytesFromClients += bytesIn
        }
    }

    func upstreamError(_ kind: String) {
        state.withLock { $0.upstreamErrors[kind, default: 0] += 1 }
    }

    func tunnelOpened() {
        state.withLock { $0.tunnelsOpened += 1 }
    }

    func servedLocally() {
        state.withLock { $0.servedLocally += 1 }
    }

    func connectionOpened() {
        state.withLock { $0.openConnections += 1 }
    }

    func connectionEnded() {
        state.withLock { $0.openConnections -= 1 }
    }

    /// A connection Outpost closed or refused itself: `timeout` (request head or idle),
    /// `evicted` (the oldest idle one, at the limit), `refused` (429), `refused_at_once`.
    func connectionClosed(_ reason: String) {
        state.withLock { $0.connectionsClosed[reason, default: 0] += 1 }
    }

    public func healthTransition(_ to: String) {
        state.withLock { $0.healthTransitions[to, default: 0] += 1 }
    }

    /// Prometheus text exposition format 0.0.4.
    /// `extra`: process-level samples (RSS, CPU) with their Prometheus type (`gauge`/`counter`).
    public func render(extra: [(name: String, type: String, help: String, value: Double)] = []) -> String {
        let s = state.withLock { $0 }
        var out = ""
        out += "# HELP outpost_requests_total Requests answered, by verb, resource and HTTP code.\n"
        out += "# TYPE outpost_requests_total counter\n"
        for (k, v) in s.requests.sorted(by: { ($0.key.verb, $0.key.resource, $0.key.code) < ($1.key.verb, $1.key.resource, $1.key.code) }) {
            out += "outpost_requests_total{verb=\"\(k.verb)\",resource=\"\(escape(k.resource))\",code=\"\(k.code)\"} \(v)\n"
        }
        out += "# HELP outpost_requests_in_flight Requests being answered now, by verb.\n"
        out += "# TYPE outpost_requests_in_flight gauge\n"
        for (verb, v) in s.inFlight.sorted(by: { $0.key < $1.key }) {
            out += "outpost_requests_in_flight{verb=\"\(verb)\"} \(v)\n"
        }
        out += "# HELP outpost_upstream_errors_total Failures talking to the apiserver, by kind.\n"
        out += "# TYPE outpost_upstream_errors_total counter\n"
        for (kind, v) in s.upstreamErrors.sorted(by: { $0.key < $1.key }) {
            out += "outpost_upstream_errors_total{kind=\"\(kind)\"} \(v)\n"
        }
        out += "# HELP outpost_client_bytes_total Body bytes exchanged with local clients.\n"
        out += "# TYPE outpost_client_bytes_total counter\n"
        out += "outpost_client_bytes_total{direction=\"out\"} \(s.bytesToClients)\n"
        out += "outpost_client_bytes_total{direction=\"in\"} \(s.bytesFromClients)\n"
        out += "# HELP outpost_tunnels_total Upgraded connections (exec/attach/port-forward) tunnelled.\n"
        out += "# TYPE outpost_tunnels_total counter\n"
        out += "outpost_tunnels_total \(s.tunnelsOpened)\n"
        out += "# HELP outpost_local_responses_total Requests answered from the local cache instead of the apiserver.\n"
        out += "# TYPE outpost_local_responses_total counter\n"
        out += "outpost_local_responses_total \(s.servedLocally)\n"
        out += "# HELP outpost_upstream_transitions_total Upstream health transitions, by new state.\n"
        out += "# TYPE outpost_upstream_transitions_total counter\n"
        for (to, v) in s.healthTransitions.sorted(by: { $0.key < $1.key }) {
            out += "outpost_upstream_transitions_total{to=\"\(to)\"} \(v)\n"
        }
        out += "# HELP outpost_client_connections Client connections open now.\n"
        out += "# TYPE outpost_client_connections gauge\n"
        out += "outpost_client_connections \(s.openConnections)\n"
        out += "# HELP outpost_client_connections_closed_total Client connections Outpost closed or refused, by reason.\n"
        out += "# TYPE outpost_client_connections_closed_total counter\n"
        for (reason, v) in s.connectionsClosed.sorted(by: { $0.key < $1.key }) {
            out += "outpost_client_connections_closed_total{reason=\"\(reason)\"} \(v)\n"
        }
        // A sample name may carry labels (`name{kind="list"}`); HELP/TYPE go once per family.
        var described = Set<Substring>()
        for e in extra {
            let family = e.name.prefix { $0 != "{" }
            if described.insert(family).inserted {
                out += "# HELP \(family) \(e.help)\n# TYPE \(family) \(e.type)\n"
            }
            out += "\(e.name) \(e.value)\n"
        }
        return out
    }

    private func escape(_ s: String) -> String { Self.labelValue(s) }

    /// `s` as a Prometheus label value (backslash, quote and newline escaped).
    public static func labelValue(_ s: String) -> String {
        var o = ""
        for c in s {
            switch c {
            case "\\": o += "\\\\"
            case "\"": o += "\\\""
            case "\n": o += "\\n"
            default: o.append(c)
            }
        }
        return o
    }
}
