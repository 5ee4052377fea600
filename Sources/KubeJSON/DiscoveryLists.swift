/// The versions named by the apiserver's discovery roots, so Outpost can fetch every resource
/// list kubectl and client-go will ask for (`/api/V`, `/apis/G/V`) before any client does.
///
/// Reads only what it needs and skips the rest: `/api` is an `APIVersions`
/// (`{"versions":["v1"],...}`), `/apis` an `APIGroupList`
/// (`{"groups":[{"name":"apps","versions":[{"groupVersion":"apps/v1","version":"v1"}],...}]}`).
public enum DiscoveryLists {
    /// The legacy versions of an `/api` body (`["v1"]`).
    public static func legacyVersions(_ body: [UInt8]) throws(JSONError) -> [String] {
        try scan(body) { (c: inout Cursor, out: inout [String]) throws(JSONError) in
            guard try c.beginObject() else { return }
            repeat {
                let k = try c.key()
                if c.keyEquals(k, "versions"), try c.peek() == ASCII.lbracket {
                    out = try strings(&c)
                } else {
                    try c.skipValue()
                }
            } while try c.commaOrClose(ASCII.rbrace)
        }
    }

    /// Every `groupVersion` of every group of an `/apis` body (`["apps/v1", "batch/v1", "batch/v1beta1"]`),
    /// in document order.
    public static func groupVersions(_ body: [UInt8]) throws(JSONError) -> [String] {
        try scan(body) { (c: inout Cursor, out: inout [String]) throws(JSONError) in
            guard try c.beginObject() else { return }
            repeat {
                let k = try c.key()
                guard c.keyEquals(k, "groups"), try c.peek() == ASCII.lbracket else {
                    try c.skipValue()
                    continue
                }
                c.pos += 1
                if try c.peek() == ASCII.rbracket { c.pos += 1; continue }
                repeat {
                    try group(&c, into: &out)
                } while try c.commaOrClose(ASCII.rbracket)
            } while try c.commaOrClose(ASCII.rbrace)
        }
    }

    /// Runs `body` over a cursor on `bytes`; what it collects in `out` is the result.
    private static func scan(_ bytes: [UInt8], _ body: (inout Cursor, inout [String]) throws(JSONError) -> Void) throws(JSONError) -> [String] {
        let r: Result<[String], JSONError> = bytes.withUnsafeBytes { b in
            Result { () throws(JSONError) -> [String] in
                var c = Cursor(b)
                var out: [String] = []
                try body(&c, &out)
                return out
            }
        }
        return try r.get()
    }

    /// One `APIGroup`: its `versions[].groupVersion`.
    private static func group(_ c: inout Cursor, into out: inout [String]) throws(JSONError) {
        guard try c.peek() == ASCII.lbrace else { try c.skipValue(); return }
        guard try c.beginObject() else { return }
        repeat {
            let k = try c.key()
            guard c.keyEquals(k, "versions"), try c.peek() == ASCII.lbracket else {
                try c.skipValue()
                continue
            }
            c.pos += 1
            if try c.peek() == ASCII.rbracket { c.pos += 1; continue }
            repeat {
                guard try c.peek() == ASCII.lbrace else { try c.skipValue(); continue }
                if try c.beginObject() {
                    repeat {
                        let vk = try c.key()
                        if c.keyEquals(vk, "groupVersion"), try c.peek() == ASCII.quote {
                            out.append(try c.readString())
                        } else {
                            try c.skipValue()
                        }
                    } while try c.commaOrClose(ASCII.rbrace)
                }
            } while try c.commaOrClose(ASCII.rbracket)
        } while try c.commaOrClose(ASCII.rbrace)
    }

    /// A JSON array of strings (other elements are skipped).
    private static func strings(_ c: inout Cursor) throws(JSONError) -> [String] {
        var out: [String] = []
        try c.expect(ASCII.lbracket)
        if try c.peek() == ASCII.rbracket { c.pos += 1; return out }
        repeat {
            if try c.peek() == ASCII.quote { out.append(try c.readString()) } else { try c.skipValue() }
        } while try c.commaOrClose(ASCII.rbracket)
        return out
    }
}
