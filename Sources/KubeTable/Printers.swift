/// One cell of a Table row: the apiserver's printers emit strings and int64s.
public enum TableCell: Sendable, Equatable {
    case string(String)
    case int(Int64)
}

/// A row condition (`Completed` for finished pods).
public struct RowCondition: Sendable, Equatable {
    public var type: String
    public var status: String
    public var reason: String
    public var message: String
}

/// The cells (and conditions) of one row, for one object.
public struct PrintedRow: Sendable, Equatable {
    public var cells: [TableCell]
    public var conditions: [RowCondition] = []
}

/// The apiserver 1.20's printers (`pkg/printers/internalversion`) for the kinds an edge node lives
/// on, re-done over the object's v1 JSON. The server always prints wide (priority-1 columns
/// included); kubectl hides them unless `-o wide`. Every other resource gets the default
/// converter's Name and Created At.
public enum Printers {
    /// The printer of a resource, by group and resource (as the apiserver registers its storage);
    /// nil when the apiserver prints it with a printer of its own that is not re-done here (then
    /// the offline answer is the plain list, which kubectl prints as NAME and AGE).
    public static func printer(group: String, resource: String) -> TablePrinter? {
        switch (group, resource) {
        case ("", "pods"): return .pods
        case ("", "nodes"): return .nodes
        case ("", "services"): return .services
        case ("", "endpoints"): return .endpoints
        case ("", "configmaps"): return .configMaps
        case ("", "secrets"): return .secrets
        case ("", "namespaces"): return .namespaces
        case ("", "events"): return .events
        case ("events.k8s.io", "events"): return .eventsV1
        case ("coordination.k8s.io", "leases"): return .leases
        // The storages 1.20 builds with `rest.NewDefaultTableConvertor`.
        case ("", "limitranges"), ("rbac.authorization.k8s.io", "roles"), ("rbac.authorization.k8s.io", "clusterroles"),
             ("storage.k8s.io", "csistoragecapacities"), ("apiextensions.k8s.io", "customresourcedefinitions"),
             ("apiregistration.k8s.io", "apiservices"):
            return .defaultConverter
        default:
            return nil
        }
    }
}

/// Which printer renders a resource's rows.
public enum TablePrinter: Sendable, Equatable {
    case pods, nodes, services, endpoints, configMaps, secrets, namespaces, events, eventsV1, leases
    case defaultConverter

    /// The `columnDefinitions` array, exactly as the apiserver writes it.
    public var columnDefinitionsJSON: String {
        switch self {
        case .pods: return ColumnDefinitions.pods
        case .nodes: return ColumnDefinitions.nodes
        case .services: return ColumnDefinitions.services
        case .endpoints: return ColumnDefinitions.endpoints
        case .configMaps: return ColumnDefinitions.configMaps
        case .secrets: return ColumnDefinitions.secrets
        case .namespaces: return ColumnDefinitions.namespaces
        case .events, .eventsV1: return ColumnDefinitions.events
        case .leases: return ColumnDefinitions.leases
        case .defaultConverter: return ColumnDefinitions.defaultConverter
        }
    }

    /// The row for `object` (its v1 JSON, parsed) at `now` (seconds since the epoch).
    public func row(_ o: JSONNode, now: Double) -> PrintedRow {
        let meta = o["metadata"]
        let name = meta["name"].string
        let age = Age.since(meta["creationTimestamp"].string, now: now)
        switch self {
        case .pods: return Self.pod(o, now: now)
        case .nodes: return Self.node(o, now: now)
        case .services: return Self.service(o, now: now)
        case .endpoints:
            return PrintedRow(cells: [.string(name), .string(Self.formatEndpoints(o["subsets"].array)), .string(age)])
        case .configMaps:
            return PrintedRow(cells: [.string(name), .int(Int64(o["data"].members.count + o["binaryData"].members.count)), .string(age)])
        case .secrets:
            return PrintedRow(cells: [.string(name), .string(o["type"].string), .int(Int64(o["data"].members.count)), .string(age)])
        case .namespaces:
            return PrintedRow(cells: [.string(name), .string(o["status", "phase"].string), .string(age)])
        case .leases:
            return PrintedRow(cells: [.string(name), .string(o["spec", "holderIdentity"].string), .string(age)])
        case .events: return Self.event(EventFields(core: o), now: now)
        case .eventsV1: return Self.event(EventFields(eventsV1: o), now: now)
        case .defaultConverter:
            let created = meta["creationTimestamp"].string
            return PrintedRow(cells: [.string(name), .string(created.isEmpty ? "0001-01-01T00:00:00Z" : created)])
        }
    }

    // MARK: pods

    static func pod(_ pod: JSONNode, now: Double) -> PrintedRow {
        let spec = pod["spec"], status = pod["status"], meta = pod["metadata"]
        var restarts: Int64 = 0
        let totalContainers = spec["containers"].array.count
        var readyContainers = 0
        var reason = status["phase"].string
        if !status["reason"].string.isEmpty { reason = status["reason"].string }
        var conditions: [RowCondition] = []
        switch status["phase"].string {
        case "Succeeded":
            conditions = [RowCondition(type: "Completed", status: "True", reason: "Succeeded", message: "The pod has completed successfully.")]
        case "Failed":
            conditions = [RowCondition(type: "Completed", status: "True", reason: "Failed", message: "The pod failed.")]
        default: break
        }
        var initializing = false
        let initStatuses = status["initContainerStatuses"].array
        let initCount = spec["initContainers"].array.count
        for (i, container) in initStatuses.enumerated() {
            restarts += container["restartCount"].int
            let terminated = container["state", "terminated"], waiting = container["state", "waiting"]
            if !terminated.isNull && terminated["exitCode"].int == 0 {
                continue
            } else if !terminated.isNull {
                if terminated["reason"].string.isEmpty {
                    if terminated["signal"].int != 0 {
                        reason = "Init:Signal:\(terminated["signal"].int)"
                    } else {
                        reason = "Init:ExitCode:\(terminated["exitCode"].int)"
                    }
                } else {
                    reason = "Init:" + terminated["reason"].string
                }
            } else if !waiting.isNull && !waiting["reason"].string.isEmpty && waiting["reason"].string != "PodInitializing" {
                reason = "Init:" + waiting["reason"].string
            } else {
                reason = "Init:\(i)/\(initCount)"
            }
            initializing = true
            break
        }
        if !initializing {
            restarts = 0
            var hasRunning = false
            for container in status["containerStatuses"].array.reversed() {
                restarts += container["restartCount"].int
                let state = container["state"]
                let waiting = state["waiting"], terminated = state["terminated"]
                if !waiting.isNull && !waiting["reason"].string.isEmpty {
                    reason = waiting["reason"].string
                } else if !terminated.isNull && !terminated["reason"].string.isEmpty {
                    reason = terminated["reason"].string
                } else if !terminated.isNull {
                    if terminated["signal"].int != 0 {
                        reason = "Signal:\(terminated["signal"].int)"
                    } else {
                        reason = "ExitCode:\(terminated["exitCode"].int)"
                    }
                } else if container["ready"].bool && !state["running"].isNull {
                    hasRunning = true
                    readyContainers += 1
                }
            }
            if reason == "Completed" && hasRunning {
                let ready = status["conditions"].array.contains { $0["type"].string == "Ready" && $0["status"].string == "True" }
                reason = ready ? "Running" : "NotReady"
            }
        }
        let deleting = !meta["deletionTimestamp"].isNull
        if deleting && status["reason"].string == "NodeLost" {
            reason = "Unknown"
        } else if deleting {
            reason = "Terminating"
        }
        var podIP = status["podIPs"].array.first?["ip"].string ?? ""
        if podIP.isEmpty { podIP = status["podIP"].string }
        var readinessGates = "<none>"
        let gates = spec["readinessGates"].array
        if !gates.isEmpty {
            var trueConditions = 0
            for gate in gates {
                if let c = status["conditions"].array.first(where: { $0["type"].string == gate["conditionType"].string }),
                   c["status"].string == "True" {
                    trueConditions += 1
                }
            }
            readinessGates = "\(trueConditions)/\(gates.count)"
        }
        return PrintedRow(cells: [
            .string(meta["name"].string), .string("\(readyContainers)/\(totalContainers)"), .string(reason), .int(restarts),
            .string(Age.since(meta["creationTimestamp"].string, now: now)),
            .string(orNone(podIP)), .string(orNone(spec["nodeName"].string)), .string(orNone(status["nominatedNodeName"].string)),
            .string(readinessGates),
        ], conditions: conditions)
    }

    // MARK: nodes

    static func node(_ node: JSONNode, now: Double) -> PrintedRow {
        let meta = node["metadata"], status = node["status"]
        var states: [String] = []
        // Only Ready counts (NodeAllConditions); the last condition of a type wins, as in Go's map.
        if let ready = status["conditions"].array.last(where: { $0["type"].string == "Ready" }) {
            states.append(ready["status"].string == "True" ? "Ready" : "NotReady")
        }
        if states.isEmpty { states.append("Unknown") }
        if node["spec", "unschedulable"].bool { states.append("SchedulingDisabled") }
        var roles = Set<String>()
        for label in meta["labels"].members {
            let prefix = "node-role.kubernetes.io/"
            if label.key.hasPrefix(prefix) {
                let role = String(label.key.dropFirst(prefix.count))
                if !role.isEmpty { roles.insert(role) }
            } else if label.key == "kubernetes.io/role" && !label.value.string.isEmpty {
                roles.insert(label.value.string)
            }
        }
        let roleText = roles.sorted(by: goLess).joined(separator: ",")
        let info = status["nodeInfo"]
        func address(_ type: String) -> String {
            status["addresses"].array.first { $0["type"].string == type }?["address"].string ?? "<none>"
        }
        func unknown(_ s: String) -> String { s.isEmpty ? "<unknown>" : s }
        return PrintedRow(cells: [
            .string(meta["name"].string), .string(states.joined(separator: ",")), .string(roleText.isEmpty ? "<none>" : roleText),
            .string(Age.since(meta["creationTimestamp"].string, now: now)), .string(info["kubeletVersion"].string),
            .string(address("InternalIP")), .string(address("ExternalIP")),
            .string(unknown(info["osImage"].string)), .string(unknown(info["kernelVersion"].string)),
            .string(unknown(info["containerRuntimeVersion"].string)),
        ])
    }

    // MARK: services

    static func service(_ svc: JSONNode, now: Double) -> PrintedRow {
        let meta = svc["metadata"], spec = svc["spec"]
        var clusterIP = spec["clusterIPs"].array.first?.string ?? ""
        if spec["clusterIPs"].array.isEmpty { clusterIP = spec["clusterIP"].string }
        let internalIP = spec["clusterIPs"].array.isEmpty && clusterIP.isEmpty ? "<none>" : clusterIP
        let externalIPs = spec["externalIPs"].array.map(\.string)
        let external: String
        switch spec["type"].string {
        case "ClusterIP", "NodePort":
            external = externalIPs.isEmpty ? "<none>" : externalIPs.joined(separator: ",")
        case "LoadBalancer":
            var ingress = Set<String>()
            for i in svc["status", "loadBalancer", "ingress"].array {
                if !i["ip"].string.isEmpty { ingress.insert(i["ip"].string) } else if !i["hostname"].string.isEmpty { ingress.insert(i["hostname"].string) }
            }
            let lb = ingress.sorted(by: goLess).joined(separator: ",")   // wide: never shortened
            if !externalIPs.isEmpty {
                external = ((lb.isEmpty ? [] : lb.split(separator: ",", omittingEmptySubsequences: false).map(String.init)) + externalIPs).joined(separator: ",")
            } else {
                external = lb.isEmpty ? "<pending>" : lb
            }
        case "ExternalName":
            external = spec["externalName"].string
        default:
            external = "<unknown>"
        }
        let ports = spec["ports"].array.map { p -> String in
            let nodePort = p["nodePort"].int
            return nodePort > 0 ? "\(p["port"].int):\(nodePort)/\(p["protocol"].string)" : "\(p["port"].int)/\(p["protocol"].string)"
        }.joined(separator: ",")
        return PrintedRow(cells: [
            .string(meta["name"].string), .string(spec["type"].string), .string(internalIP), .string(external),
            .string(ports.isEmpty ? "<none>" : ports), .string(Age.since(meta["creationTimestamp"].string, now: now)),
            .string(formatLabels(spec["selector"])),
        ])
    }

    /// `labels.FormatLabels`: sorted `k=v` joined by commas, `<none>` when empty.
    static func formatLabels(_ map: JSONNode) -> String {
        let pairs = map.members.map { $0.key + "=" + $0.value.string }.sorted(by: goLess)
        return pairs.isEmpty ? "<none>" : pairs.joined(separator: ",")
    }

    // MARK: endpoints

    /// `formatEndpoints` with no port filter: the first three `ip:port`, then "+ N more...".
    static func formatEndpoints(_ subsets: [JSONNode]) -> String {
        if subsets.isEmpty { return "<none>" }
        var list: [String] = []
        let max = 3
        var more = false
        var count = 0
        for ss in subsets {
            let addresses = ss["addresses"].array
            let ports = ss["ports"].array
            if ports.isEmpty {
                for a in addresses {
                    if list.count == max { more = true }
                    if !more { list.append(a["ip"].string) }
                    count += 1
                }
            } else {
                for port in ports {
                    for a in addresses {
                        if list.count == max { more = true }
                        if !more { list.append(joinHostPort(a["ip"].string, port["port"].int)) }
                        count += 1
                    }
                }
            }
        }
        let joined = list.joined(separator: ",")
        return more ? "\(joined) + \(count - max) more..." : joined
    }

    static func joinHostPort(_ host: String, _ port: Int64) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    // MARK: events

    /// The fields the event printer reads, from core/v1 or events.k8s.io/v1 JSON (one internal type
    /// behind both).
    struct EventFields {
        var name, type, reason, message, fieldPath, kind, objectName: String
        var component, host, reportingController, reportingInstance: String
        var firstTimestamp, lastTimestamp, eventTime: String
        var count: Int64
        var series: JSONNode

        init(core o: JSONNode) {
            name = o["metadata", "name"].string
            type = o["type"].string; reason = o["reason"].string; message = o["message"].string
            let inv = o["involvedObject"]
            fieldPath = inv["fieldPath"].string; kind = inv["kind"].string; objectName = inv["name"].string
            component = o["source", "component"].string; host = o["source", "host"].string
            reportingController = o["reportingComponent"].string; reportingInstance = o["reportingInstance"].string
            firstTimestamp = o["firstTimestamp"].string; lastTimestamp = o["lastTimestamp"].string
            eventTime = o["eventTime"].string
            count = o["count"].int
            series = o["series"]
        }

        init(eventsV1 o: JSONNode) {
            name = o["metadata", "name"].string
            type = o["type"].string; reason = o["reason"].string; message = o["note"].string
            let reg = o["regarding"]
            fieldPath = reg["fieldPath"].string; kind = reg["kind"].string; objectName = reg["name"].string
            component = o["deprecatedSource", "component"].string; host = o["deprecatedSource", "host"].string
            reportingController = o["reportingController"].string; reportingInstance = o["reportingInstance"].string
            firstTimestamp = o["deprecatedFirstTimestamp"].string; lastTimestamp = o["deprecatedLastTimestamp"].string
            eventTime = o["eventTime"].string
            count = o["deprecatedCount"].int
            series = o["series"]
        }
    }

    static func event(_ e: EventFields, now: Double) -> PrintedRow {
        var first = Age.since(e.firstTimestamp, now: now)
        if e.firstTimestamp.isEmpty { first = Age.since(e.eventTime, now: now) }
        var last = Age.since(e.lastTimestamp, now: now)
        if e.lastTimestamp.isEmpty { last = first }
        var count = e.count
        if !e.series.isNull {
            last = Age.since(e.series["lastObservedTime"].string, now: now)
            count = e.series["count"].int + 1
        } else if count == 0 {
            count = 1
        }
        let target = e.objectName.isEmpty ? e.kind.lowercased() : "\(e.kind.lowercased())/\(e.objectName)"
        let component = e.component.isEmpty ? e.reportingController : e.component
        let instance = e.host.isEmpty ? e.reportingInstance : e.host
        let source = instance.isEmpty ? component : component + ", " + instance
        return PrintedRow(cells: [
            .string(last), .string(e.type), .string(e.reason), .string(target), .string(e.fieldPath), .string(source),
            .string(trimSpace(e.message)), .string(first), .int(count), .string(e.name),
        ])
    }

    /// Go's `strings.TrimSpace` (ASCII and Unicode white space).
    static func trimSpace(_ s: String) -> String {
        var scalars = Substring(s).unicodeScalars[...]
        while let f = scalars.first, f.properties.isWhitespace { scalars = scalars.dropFirst() }
        while let l = scalars.last, l.properties.isWhitespace { scalars = scalars.dropLast() }
        return String(String.UnicodeScalarView(scalars))
    }

    static func orNone(_ s: String) -> String { s.isEmpty ? "<none>" : s }
}

/// Go's string order (bytewise), which `sort.Strings` and `sets.String.List` use.
func goLess(_ a: String, _ b: String) -> Bool {
    a.utf8.lexicographicallyPrecedes(b.utf8)
}
