import OutpostCLI
import Testing

@Suite("operator commands: parsing and text")
struct OperatorCommandTests {
    private func error(_ args: [String]) -> String? {
        do { _ = try OutpostCommandLine.parse(args); return nil } catch { return error.message }
    }

    @Test func statusOptions() throws {
        guard case .status(let o) = try OutpostCommandLine.parse(["status", "--admin-addr", "127.0.0.1:9999", "-o", "json"]) else {
            Issue.record("not status"); return
        }
        #expect(o.adminAddr == HostPort(host: "127.0.0.1", port: 9999))
        #expect(o.output == .json)
        guard case .status(let d) = try OutpostCommandLine.parse(["status"]) else { Issue.record("not status"); return }
        #expect(d.adminAddr == HostPort(host: "127.0.0.1", port: 10267))
        #expect(d.output == .text)
        #expect(error(["status", "--cache-dir", "/x"]) == "unknown option '--cache-dir' for 'outpost status'")
        #expect(error(["status", "-o", "yaml"]) == "-o: 'yaml' is not text or json")
        #expect(error(["status", "extra"]) == "unexpected argument 'extra' for 'outpost status'")
    }

    @Test func cacheCommands() throws {
        #expect(try OutpostCommandLine.parse(["cache", "get", "secrets", "ns1/s1", "--cache-dir=/d", "--encryption-key-file", "/k"])
                == .cache(.get(resource: "secrets", namespace: "ns1", name: "s1"),
                          { var o = OperatorOptions(); o.cacheDir = "/d"; o.encryptionKeyFile = "/k"; return o }()))
        guard case .cache(.get(_, let ns, let name), let o) = try OutpostCommandLine.parse(["cache", "get", "nodes", "n1", "--cache-dir", "/c/"]) else {
            Issue.record("not get"); return
        }
        #expect(ns == "" && name == "n1")
        #expect(o.keyFilePath == "/c/cache.key")
        #expect(try OutpostCommandLine.parse(["cache", "ls"]) == .cache(.ls, OperatorOptions()))
        #expect(error(["cache"]) == "usage: outpost cache ls|stats|get RESOURCE [NAMESPACE/]NAME")
        #expect(error(["cache", "get", "pods"]) == "usage: outpost cache get RESOURCE [NAMESPACE/]NAME")
        #expect(error(["cache", "get", "pods", "a/b/c"]) == "'a/b/c' is not NAME or NAMESPACE/NAME")
        #expect(error(["cache", "rm"]) == "unknown 'outpost cache' command 'rm' (ls, stats, get)")
        #expect(error(["cache", "ls", "--kubeconfig", "x"]) == "unknown option '--kubeconfig' for 'outpost cache'")
        if case .help(let text) = try OutpostCommandLine.parse(["cache", "--help"]) { #expect(text.contains("outpost cache get RESOURCE")) }
        else { Issue.record("no help") }
    }

    @Test func logFormat() throws {
        guard case .serve(let o) = try OutpostCommandLine.parse(["--log-format=json"]) else { Issue.record("not serve"); return }
        #expect(o.logFormat == "json")
        guard case .serve(let d) = try OutpostCommandLine.parse([]) else { Issue.record("not serve"); return }
        #expect(d.logFormat == "text")
        #expect(error(["--log-format", "xml"]) == "--log-format: 'xml' is not text or json")
    }

    @Test func ages() {
        #expect(TerminalText.age(-3) == "0s")
        #expect(TerminalText.age(42) == "42s")
        #expect(TerminalText.age(312) == "5m12s")
        #expect(TerminalText.age(3 * 3600 + 4 * 60 + 9) == "3h04m")
        #expect(TerminalText.age(2 * 86_400 + 5 * 3600) == "2d05h")
    }

    @Test func utcTimes() {
        #expect(TerminalText.utc(0) == "1970-01-01T00:00:00Z")
        #expect(TerminalText.utc(951_782_400) == "2000-02-29T00:00:00Z")
        #expect(TerminalText.utc(1_796_223_845) == "2026-12-02T15:04:05Z")
    }

    @Test func sizesAndNames() {
        #expect(TerminalText.bytes(812) == "812 B")
        #expect(TerminalText.bytes(4096) == "4.0 KiB")
        #expect(TerminalText.bytes(12_897_485) == "12.3 MiB")
        #expect(TerminalText.resourceName("/v1/pods") == "pods")
        #expect(TerminalText.resourceName("coordination.k8s.io/v1/leases") == "leases.coordination.k8s.io")
    }

    @Test func tablesAlignIgnoringColour() {
        let st = TerminalStyle(color: true)
        let t = TerminalText.table([[st.bold("A"), "B"], ["long", "x"]])
        #expect(t == "\u{1B}[1mA\u{1B}[0m     B\nlong  x\n")
        #expect(TerminalStyle.wantsColor(isTerminal: true, noColor: nil))
        #expect(!TerminalStyle.wantsColor(isTerminal: true, noColor: "1"))
        #expect(TerminalStyle.wantsColor(isTerminal: true, noColor: ""))
        #expect(!TerminalStyle.wantsColor(isTerminal: false, noColor: nil))
    }

    @Test func jsonRoundTrip() throws {
        let doc: JSONValue = .object([("a", .array([.number(1), .string("x\"\n\u{1}"), .null, .bool(true)])), ("b", .object([]))])
        let text = doc.serialized()
        #expect(text == #"{"a":[1,"x\"\n\u0001",null,true],"b":{}}"#)
        #expect(JSONValue.parse(text) == doc)
        #expect(JSONValue.parse(doc.serialized(pretty: true)) == doc)
        #expect(JSONValue.parse("{\"a\":1,}") == nil)
        #expect(JSONValue.parse("[1] x") == nil)
        #expect(JSONValue.parse(#""\u00e9""#) == .string("é"))
    }

    @Test func statusTextOfflineWithScopes() throws {
        let doc = try #require(JSONValue.parse("""
            {"now":1000,"apiserver":{"state":"offline","since":880,"lastContact":870,"lastError":"connect refused"},
             "cache":{"mode":"cache","healthy":false,"objects":3,"bodyBytes":2048,"fileBytes":8192,"writeFailures":2,
                      "droppedWrites":0,"lastError":"disk full","dir":"/var/lib/outpost"},
             "scopes":[{"resource":"/v1/pods","namespace":"","selector":"","complete":true,"resourceVersion":"77",
                        "objects":3,"format":"protobuf","lastSync":700},
                       {"resource":"coordination.k8s.io/v1/leases","namespace":"kube-node-lease","selector":"a=b",
                        "complete":false,"resourceVersion":"5","objects":null,"format":"-","lastSync":990}],
             "filters":[{"name":"skip-prefixed","rule":"resources pods,configmaps; namePrefix skip-"}]}
            """))
        let text = StatusText.render(doc, style: TerminalStyle(color: false))
        #expect(text.contains("apiserver  OFFLINE since 1970-01-01T00:14:40Z (2m00s)\n"))
        #expect(text.contains("last contact 2m10s ago · connect refused\n"))
        #expect(text.contains("cache      WRITES FAILING  3 objects, 2.0 KiB of bodies, file 8.0 KiB\n"))
        #expect(text.contains("write failures 2, dropped writes 0 · disk full\n"))
        #expect(text.contains("pods                        (all)            -         3        protobuf  77  1970-01-01T00:11:40Z  5m00s\n"))
        #expect(text.contains("leases.coordination.k8s.io  kube-node-lease  a=b       -        -         5   incomplete            10s\n"))
        #expect(text.contains("  skip-prefixed  resources pods,configmaps; namePrefix skip-\n"))
        #expect(!text.contains("\u{1B}["))
        #expect(StatusText.render(doc, style: TerminalStyle(color: true)).contains("\u{1B}[31m\u{1B}[1mOFFLINE\u{1B}[0m\u{1B}[0m"))
    }

    @Test func statusTextPassThrough() throws {
        let doc = try #require(JSONValue.parse("""
            {"now":50,"apiserver":{"state":"online","since":40,"lastContact":49},
             "cache":{"mode":"pass-through","reason":"cache directory /x is unusable"},"scopes":[],"filters":[]}
            """))
        let text = StatusText.render(doc, style: TerminalStyle(color: false))
        #expect(text.hasPrefix("apiserver  ONLINE since 1970-01-01T00:00:40Z (10s)\n           last contact 1s ago\n"))
        #expect(text.contains("cache      PASS-THROUGH"))
        #expect(text.contains("cache directory /x is unusable"))
    }
}
