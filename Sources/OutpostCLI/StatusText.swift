/// `outpost status` as a person reads it, from the `/status` document (see `StatusDocument` in
/// the executable for its fields). Pure: tests render documents they write.
public enum StatusText {
    public static func render(_ doc: JSONValue, style: TerminalStyle) -> String {
        let now = doc["now"].int ?? 0
        func ago(_ t: Int?) -> String { t.map { TerminalText.age(now - $0) + " ago" } ?? "never" }
        var out = ""
        let api = doc["apiserver"]
        let state = api["state"].string ?? "unknown"
        let painted: String = switch state {
        case "online": style.green(style.bold("ONLINE"))
        case "offline": style.red(style.bold("OFFLINE"))
        default: style.yellow(style.bold(state.uppercased()))
        }
        var head = "apiserver  \(painted)"
        if let since = api["since"].int { head += " since \(TerminalText.utc(since)) (\(TerminalText.age(now - since)))" }
        out += head + "\n"
        out += "           last contact \(ago(api["lastContact"].int))"
        if state != "online", let e = api["lastError"].string { out += style.dim(" · \(e)") }
        out += "\n"

        let cache = doc["cache"]
        if cache["mode"].string == "pass-through" {
            out += "cache      " + style.red(style.bold("PASS-THROUGH")) + " (no cache: every request is forwarded; nothing is served offline)\n"
            if let r = cache["reason"].string { out += "           " + style.dim(r) + "\n" }
        } else {
            let healthy = cache["healthy"].bool ?? true
            var line = "cache      " + (healthy ? style.green("ok") : style.red(style.bold("WRITES FAILING")))
            line += "  \(cache["objects"].int ?? 0) objects, \(TerminalText.bytes(cache["bodyBytes"].int ?? 0)) of bodies, "
            line += "file \(TerminalText.bytes(cache["fileBytes"].int ?? 0))"
            out += line + "\n"
            let failures = cache["writeFailures"].int ?? 0, dropped = cache["droppedWrites"].int ?? 0
            var w = "           write failures \(failures), dropped writes \(dropped)"
            if failures + dropped > 0 { w = style.yellow(w) }
            if !healthy, let e = cache["lastError"].string { w += " · " + style.red(e) }
            out += w + "\n"
            if let dir = cache["dir"].string { out += "           " + style.dim(dir) + "\n" }
        }

        let scopes = doc["scopes"].array
        if !scopes.isEmpty {
            out += "\n"
            var rows: [[String]] = [["RESOURCE", "NAMESPACE", "SELECTOR", "OBJECTS", "FORMAT", "RV", "LAST SYNC", "AGE"].map(style.bold)]
            for s in scopes {
                let complete = s["complete"].bool ?? false
                let synced = s["lastSync"].int
                let age = synced.map { TerminalText.age(now - $0) } ?? "-"
                rows.append([
                    TerminalText.resourceName(s["resource"].string ?? "?"),
                    s["namespace"].string.flatMap { $0.isEmpty ? nil : $0 } ?? style.dim("(all)"),
                    s["selector"].string.flatMap { $0.isEmpty ? nil : $0 } ?? "-",
                    s["objects"].int.map(String.init) ?? "-",
                    s["format"].string ?? "-",
                    s["resourceVersion"].string ?? "",
                    complete ? (synced.map(TerminalText.utc) ?? "-") : style.yellow("incomplete"),
                    age,
                ])
            }
            out += TerminalText.table(rows)
        }
        let filters = doc["filters"].array
        if !filters.isEmpty {
            out += "\nfilters\n"
            out += TerminalText.table(filters.map { [style.bold($0["name"].string ?? "?"), $0["rule"].string ?? ""] }, indent: "  ")
        }
        return out
    }
}
