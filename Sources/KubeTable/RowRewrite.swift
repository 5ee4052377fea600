import KubeJSON

/// Turns a Table row the apiserver printed with more of the object than the client asked for back
/// into what it would have printed for the client's `includeObject`.
///
/// Exists for filtered Tables online: a filter rule on fields (`spec.nodeName`, `status.phase`) needs
/// the whole object, which a row carries only with `includeObject=Object`; Outpost asks for that,
/// filters on it, and strips each kept row back (the cells do not depend on `includeObject`).
public enum RowRewrite {
    /// The row `{"cells":...,"conditions":...,"object":{...}}` with its object replaced by the
    /// object's PartialObjectMetadata (`.metadata`) or `null` (`.none`); `.object` keeps it.
    public static func strip(row: [UInt8], to include: IncludeObject, apiVersion: String) throws(TableError) -> [UInt8] {
        if include == .object { return row }
        // Only ranges are read here: the big members need not be built.
        let node = try JSONNode.parse(row, skipping: ["cells", "conditions", "managedFields", "annotations", "spec", "status", "data", "binaryData"])
        guard case .object(let members) = node else { throw TableError.notAnObject }
        var out: [UInt8] = []
        out.reserveCapacity(include == .none ? 256 : row.count / 2)
        out.append(UInt8(ascii: "{"))
        for (i, m) in members.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            JSONWriter.appendString(m.key, to: &out)
            out.append(UInt8(ascii: ":"))
            guard m.key == "object", case .object = m.value else {
                out.append(contentsOf: row[m.range])
                continue
            }
            switch include {
            case .none: JSONWriter.appendRaw("null", to: &out)
            case .metadata:
                let object = Array(row[m.range])
                let inner = m.value.range(of: "metadata").map { ($0.lowerBound - m.range.lowerBound)..<($0.upperBound - m.range.lowerBound) }
                JSONWriter.appendRaw("{\"kind\":\"PartialObjectMetadata\",\"apiVersion\":", to: &out)
                JSONWriter.appendString(apiVersion, to: &out)
                JSONWriter.appendRaw(",\"metadata\":", to: &out)
                if let inner { out.append(contentsOf: object[inner]) } else { JSONWriter.appendRaw("{}", to: &out) }
                out.append(UInt8(ascii: "}"))
            case .object: out.append(contentsOf: row[m.range])
            }
        }
        out.append(UInt8(ascii: "}"))
        return out
    }
}
