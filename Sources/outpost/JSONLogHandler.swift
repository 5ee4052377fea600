import Logging
import OutpostCLI

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `--log-format json`: one JSON object per line on standard error (`time` UTC with
/// milliseconds, `level`, `source`, `message`, then the metadata as strings), for a log shipper.
/// What is logged is the same as in text: tokens and keys never are.
struct JSONLogHandler: LogHandler {
    var label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    init(label: String) { self.label = label }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let ms = Int(ts.tv_nsec) / 1_000_000
        var time = TerminalText.utc(Int(ts.tv_sec))
        time.removeLast()
        time += "." + (ms < 10 ? "00" : ms < 100 ? "0" : "") + "\(ms)Z"
        var members: [(String, JSONValue)] = [
            ("time", .string(time)), ("level", .string(event.level.rawValue)), ("source", .string(event.source)),
            ("message", .string(event.message.description)),
        ]
        var all = metadata
        if let p = metadataProvider { all.merge(p.get(), uniquingKeysWith: { _, b in b }) }
        if let m = event.metadata { all.merge(m, uniquingKeysWith: { _, b in b }) }
        for (k, v) in all.sorted(by: { $0.key < $1.key }) where !["time", "level", "source", "message"].contains(k) {
            members.append((k, .string("\(v)")))
        }
        var line = Array((JSONValue.object(members).serialized() + "\n").utf8)
        _ = line.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
    }
}
