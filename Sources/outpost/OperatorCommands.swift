import CacheStore
import EdgeCache
import OutpostCLI

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `outpost status` and `outpost cache ...`: they only read (the admin listener, the cache file).
enum OperatorCommands {
    static var style: TerminalStyle {
        TerminalStyle(color: TerminalStyle.wantsColor(isTerminal: isatty(1) == 1, noColor: getenv("NO_COLOR").map { String(cString: $0) }))
    }

    // MARK: status

    static func status(_ o: OperatorOptions) {
        let body: String
        do {
            body = try httpGet(host: o.adminAddr.host, port: o.adminAddr.port, path: "/status")
        } catch {
            Outpost.fail("Error: cannot ask Outpost at \(o.adminAddr.host):\(o.adminAddr.port) (\(error.message)); is it running, with this --admin-listen?", code: 2)
        }
        guard let doc = JSONValue.parse(body) else { Outpost.fail("Error: /status did not answer JSON", code: 2) }
        if o.output == .json { print(doc.serialized(pretty: true)) } else { print(StatusText.render(doc, style: style), terminator: "") }
    }

    struct HTTPFailure: Error { var message: String }

    /// A plain HTTP/1.0 GET over loopback TCP (the admin listener), returning the body of a 200.
    static func httpGet(host: String, port: Int, path: String) throws(HTTPFailure) -> String {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else {
            throw HTTPFailure(message: "cannot resolve \(host)")
        }
        defer { freeaddrinfo(list) }
        let fd = socket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
        guard fd >= 0 else { throw HTTPFailure(message: String(cString: strerror(errno))) }
        defer { close(fd) }
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        guard connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else {
            throw HTTPFailure(message: String(cString: strerror(errno)))
        }
        let request = Array("GET \(path) HTTP/1.0\r\nHost: \(host)\r\nConnection: close\r\n\r\n".utf8)
        var sent = 0
        while sent < request.count {
            let n = request.withUnsafeBytes { send(fd, $0.baseAddress! + sent, request.count - sent, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw HTTPFailure(message: String(cString: strerror(errno))) }
            sent += n
        }
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw HTTPFailure(message: String(cString: strerror(errno))) }
            if n == 0 { break }
            response += chunk[0..<n]
            guard response.count < 64 << 20 else { throw HTTPFailure(message: "answer larger than 64 MiB") }
        }
        let text = String(decoding: response, as: UTF8.self)
        guard let split = text.firstRange(of: "\r\n\r\n") else { throw HTTPFailure(message: "not an HTTP answer") }
        let statusLine = text[..<split.lowerBound].prefix(while: { $0 != "\r" })
        guard statusLine.split(separator: " ").dropFirst().first == "200" else {
            throw HTTPFailure(message: "answered \(statusLine)")
        }
        return String(text[split.upperBound...])
    }

    // MARK: cache

    static func cache(_ command: CacheSubcommand, _ o: OperatorOptions) {
        let inspection: CacheInspection
        do {
            inspection = try CacheInspection(directory: o.cacheDir, keyFile: o.keyFilePath)
        } catch {
            Outpost.fail("Error: cannot read the cache in \(o.cacheDir): \(error)", code: 2)
        }
        defer { inspection.close() }
        do {
            switch command {
            case .ls: try ls(inspection, o)
            case .stats: try stats(inspection, o)
            case .get(let resource, let namespace, let name): try get(inspection, resource, namespace, name)
            }
        } catch {
            Outpost.fail("Error: \(error)", code: 2)
        }
    }

    static func ls(_ c: CacheInspection, _ o: OperatorOptions) throws {
        let resources = try c.store.resourceSummaries()
        let scopes = try c.store.scopeSummaries()
        if o.output == .json {
            let doc: JSONValue = .object([
                ("resources", .array(resources.map { r in
                    .object([("resource", .string(r.gvr)), ("objects", .int(r.objects)), ("protobufObjects", .int(r.protobufObjects)),
                             ("sealedObjects", .int(r.sealedObjects))])
                })),
                ("scopes", .array(scopes.map { s in
                    .object([("resource", .string(s.scope.gvr)), ("namespace", .string(s.scope.namespace)),
                             ("selector", .string(s.scope.selector)), ("complete", .bool(s.scope.complete)),
                             ("resourceVersion", .string(s.scope.resourceVersion)), ("objects", .int(s.objects)),
                             ("lastSync", .int(Int(s.scope.updatedAt)))])
                })),
            ])
            print(doc.serialized(pretty: true))
            return
        }
        let st = style
        var rows = [["RESOURCE", "OBJECTS", "PROTOBUF", "SEALED"].map(st.bold)]
        for r in resources {
            rows.append([TerminalText.resourceName(r.gvr), "\(r.objects)", "\(r.protobufObjects)", "\(r.sealedObjects)"])
        }
        print(TerminalText.table(rows), terminator: "")
        let now = Int(time(nil))
        var srows = [["SCOPE", "NAMESPACE", "SELECTOR", "OBJECTS", "RV", "STATE", "LAST SYNC"].map(st.bold)]
        for s in scopes {
            srows.append([TerminalText.resourceName(s.scope.gvr), s.scope.namespace.isEmpty ? "(all)" : s.scope.namespace,
                          s.scope.selector.isEmpty ? "-" : s.scope.selector, s.objects.map(String.init) ?? "-",
                          s.scope.resourceVersion, s.scope.complete ? st.green("complete") : st.yellow("incomplete"),
                          "\(TerminalText.utc(Int(s.scope.updatedAt))) (\(TerminalText.age(now - Int(s.scope.updatedAt))) ago)"])
        }
        print("")
        print(TerminalText.table(srows), terminator: "")
    }

    static func stats(_ c: CacheInspection, _ o: OperatorOptions) throws {
        let resources = try c.store.resourceSummaries()
        let totals = try c.store.stats()
        let files = c.store.fileSizes()
        if o.output == .json {
            let doc: JSONValue = .object([
                ("path", .string(c.store.path)), ("databaseBytes", .int(files.database)), ("walBytes", .int(files.wal)),
                ("shmBytes", .int(files.shm)), ("objects", .int(totals.objects)), ("bodyBytes", .int(totals.bodyBytes)),
                ("scopes", .int(totals.scopes)),
                ("resources", .array(resources.map { r in
                    .object([("resource", .string(r.gvr)), ("objects", .int(r.objects)), ("bodyBytes", .int(r.bodyBytes))])
                })),
            ])
            print(doc.serialized(pretty: true))
            return
        }
        let st = style
        print(TerminalText.table([
            [st.bold("file"), c.store.path],
            [st.bold("database"), TerminalText.bytes(files.database)],
            [st.bold("wal"), TerminalText.bytes(files.wal)],
            [st.bold("objects"), "\(totals.objects) in \(totals.scopes) scopes, \(TerminalText.bytes(totals.bodyBytes)) of bodies"],
        ]), terminator: "")
        print("")
        var rows = [["RESOURCE", "OBJECTS", "BYTES", "AVG"].map(st.bold)]
        for r in resources {
            rows.append([TerminalText.resourceName(r.gvr), "\(r.objects)", TerminalText.bytes(r.bodyBytes),
                         TerminalText.bytes(r.objects > 0 ? r.bodyBytes / r.objects : 0)])
        }
        print(TerminalText.table(rows), terminator: "")
    }

    static func get(_ c: CacheInspection, _ resource: String, _ namespace: String, _ name: String) throws {
        let gvrs = try c.resolve(resource)
        guard !gvrs.isEmpty else { Outpost.fail("Error: the cache holds no \(resource) (see outpost cache ls)", code: 1) }
        for gvr in gvrs {
            switch try c.object(gvr: gvr, namespace: namespace, name: name) {
            case .notFound: continue
            case .object(_, let json):
                var out = json
                if out.last != 0x0A { out.append(0x0A) }
                _ = out.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
                return
            case .sealed(let why):
                Outpost.fail("Error: \(TerminalText.resourceName(gvr)) \(namespace.isEmpty ? name : namespace + "/" + name) is cached, but \(why). "
                             + "Run this as a user who can read the key file, or name it with --encryption-key-file.", code: 3)
            }
        }
        Outpost.fail("Error: \(resource) \(namespace.isEmpty ? name : namespace + "/" + name) is not in the cache", code: 1)
    }
}
