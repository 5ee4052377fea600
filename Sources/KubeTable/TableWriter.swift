import KubeJSON

/// What a Table row's `object` holds (`includeObject`): PartialObjectMetadata by default.
public enum IncludeObject: String, Sendable, Equatable {
    case metadata = "Metadata"
    case object = "Object"
    case none = "None"

    /// The query value as the apiserver reads it: empty means Metadata; nil for a value it refuses
    /// (400 "unrecognized includeObject value").
    public init?(query value: String?) {
        switch value ?? "" {
        case "", "Metadata": self = .metadata
        case "Object": self = .object
        case "None": self = .none
        default: return nil
        }
    }
}

/// Writes `meta.k8s.io` Table and PartialObjectMetadata(List) bodies the way the apiserver's
/// encoder does (field order and omissions of the Go types), a piece at a time so a long list
/// streams.
public struct TableWriter: Sendable {
    /// `meta.k8s.io/v1` or `meta.k8s.io/v1beta1`, as the client asked.
    public var apiVersion: String
    public var printer: TablePrinter
    public var include: IncludeObject
    private var rows = 0

    public init(apiVersion: String = "meta.k8s.io/v1", printer: TablePrinter, include: IncludeObject) {
        self.apiVersion = apiVersion
        self.printer = printer
        self.include = include
    }

    /// Members no printer reads (their bytes are still copied where the object or its metadata is).
    static let unprinted: Set<String> = ["managedFields", "annotations"]

    /// Everything up to the `[` of `rows`.
    public func begin(resourceVersion: String, continueToken: String = "", remainingItemCount: Int64? = nil, into out: inout [UInt8]) {
        JSONWriter.appendRaw("{\"kind\":\"Table\",\"apiVersion\":", to: &out)
        JSONWriter.appendString(apiVersion, to: &out)
        JSONWriter.appendRaw(",\"metadata\":", to: &out)
        Self.appendListMeta(resourceVersion: resourceVersion, continueToken: continueToken, remainingItemCount: remainingItemCount, into: &out)
        JSONWriter.appendRaw(",\"columnDefinitions\":", to: &out)
        out.append(contentsOf: printer.columnDefinitionsJSON.utf8)
        JSONWriter.appendRaw(",\"rows\":[", to: &out)
    }

    /// One row for `object` (the object's JSON with kind and apiVersion) at `now`.
    public mutating func appendRow(object: [UInt8], now: Double, into out: inout [UInt8]) throws(TableError) {
        let node = try JSONNode.parse(object, skipping: Self.unprinted)
        guard case .object = node else { throw TableError.notAnObject }
        if rows > 0 { out.append(UInt8(ascii: ",")) }
        rows += 1
        Self.appendRow(printer.row(node, now: now), object: object, node: node, include: include, apiVersion: apiVersion, into: &out)
    }

    /// The Table of one watch event's object, as the apiserver writes it in a Table watch: the
    /// object's resourceVersion as the Table's, `columnDefinitions` on the stream's first event
    /// only (`null` after), one row; no trailing newline (the event framing adds it).
    public static func watchEventTable(object: [UInt8], printer: TablePrinter, include: IncludeObject,
                                       apiVersion: String = "meta.k8s.io/v1", withColumns: Bool, now: Double) throws(TableError) -> [UInt8] {
        let node = try JSONNode.parse(object, skipping: unprinted)
        guard case .object = node else { throw TableError.notAnObject }
        var out: [UInt8] = []
        JSONWriter.appendRaw("{\"kind\":\"Table\",\"apiVersion\":", to: &out)
        JSONWriter.appendString(apiVersion, to: &out)
        JSONWriter.appendRaw(",\"metadata\":", to: &out)
        appendListMeta(resourceVersion: node["metadata", "resourceVersion"].string, continueToken: "", remainingItemCount: nil, into: &out)
        JSONWriter.appendRaw(",\"columnDefinitions\":", to: &out)
        if withColumns { out.append(contentsOf: printer.columnDefinitionsJSON.utf8) } else { JSONWriter.appendRaw("null", to: &out) }
        JSONWriter.appendRaw(",\"rows\":[", to: &out)
        appendRow(printer.row(node, now: now), object: object, node: node, include: include, apiVersion: apiVersion, into: &out)
        JSONWriter.appendRaw("]}", to: &out)
        return out
    }

    /// Closes the rows and the Table (and the encoder's trailing newline).
    public func end(into out: inout [UInt8]) {
        JSONWriter.appendRaw("]}\n", to: &out)
    }

    static func appendRow(_ row: PrintedRow, object: [UInt8], node: JSONNode, include: IncludeObject, apiVersion: String, into out: inout [UInt8]) {
        JSONWriter.appendRaw("{\"cells\":[", to: &out)
        for (i, cell) in row.cells.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            switch cell {
            case .string(let s): JSONWriter.appendString(s, to: &out)
            case .int(let n): JSONWriter.appendInt(n, to: &out)
            }
        }
        out.append(UInt8(ascii: "]"))
        if !row.conditions.isEmpty {
            JSONWriter.appendRaw(",\"conditions\":[", to: &out)
            for (i, c) in row.conditions.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSONWriter.appendRaw("{\"type\":", to: &out)
                JSONWriter.appendString(c.type, to: &out)
                JSONWriter.appendRaw(",\"status\":", to: &out)
                JSONWriter.appendString(c.status, to: &out)
                if !c.reason.isEmpty {
                    JSONWriter.appendRaw(",\"reason\":", to: &out)
                    JSONWriter.appendString(c.reason, to: &out)
                }
                if !c.message.isEmpty {
                    JSONWriter.appendRaw(",\"message\":", to: &out)
                    JSONWriter.appendString(c.message, to: &out)
                }
                out.append(UInt8(ascii: "}"))
            }
            out.append(UInt8(ascii: "]"))
        }
        JSONWriter.appendRaw(",\"object\":", to: &out)
        switch include {
        case .none: JSONWriter.appendRaw("null", to: &out)
        case .object: out.append(contentsOf: object)
        case .metadata: PartialObjectMetadata.append(object: object, node: node, apiVersion: apiVersion, into: &out)
        }
        out.append(UInt8(ascii: "}"))
    }

    /// `ListMeta` as Go writes it: every member omitted when empty, so often `{}`.
    public static func appendListMeta(resourceVersion: String, continueToken: String, remainingItemCount: Int64?, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        var first = true
        func sep() { if !first { out.append(UInt8(ascii: ",")) }; first = false }
        if !resourceVersion.isEmpty {
            sep()
            JSONWriter.appendRaw("\"resourceVersion\":", to: &out)
            JSONWriter.appendString(resourceVersion, to: &out)
        }
        if !continueToken.isEmpty {
            sep()
            JSONWriter.appendRaw("\"continue\":", to: &out)
            JSONWriter.appendString(continueToken, to: &out)
        }
        if let remainingItemCount {
            sep()
            JSONWriter.appendRaw("\"remainingItemCount\":", to: &out)
            JSONWriter.appendInt(remainingItemCount, to: &out)
        }
        out.append(UInt8(ascii: "}"))
    }
}

/// `meta.AsPartialObjectMetadata`: the object's metadata under the PartialObjectMetadata kind. The
/// metadata bytes are copied as they are: the apiserver encodes the same ObjectMeta both times.
public enum PartialObjectMetadata {
    public static func append(object: [UInt8], node: JSONNode, apiVersion: String, into out: inout [UInt8]) {
        JSONWriter.appendRaw("{\"kind\":\"PartialObjectMetadata\",\"apiVersion\":", to: &out)
        JSONWriter.appendString(apiVersion, to: &out)
        JSONWriter.appendRaw(",\"metadata\":", to: &out)
        if let r = node.range(of: "metadata") {
            out.append(contentsOf: object[r])
        } else {
            JSONWriter.appendRaw("{}", to: &out)
        }
        out.append(UInt8(ascii: "}"))
    }

    /// The PartialObjectMetadata of one object's JSON.
    public static func of(object: [UInt8], apiVersion: String = "meta.k8s.io/v1") throws(TableError) -> [UInt8] {
        let node = try JSONNode.parse(object, shallow: true)   // only the range of `metadata` is read
        guard case .object = node else { throw TableError.notAnObject }
        var out: [UInt8] = []
        append(object: object, node: node, apiVersion: apiVersion, into: &out)
        return out
    }
}
