import Testing
@testable import KubeRequest

@Suite("Accept header parsing")
struct AcceptParsingTests {
    @Test func kubectlTableHeader() {
        let header = AcceptHeader("application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json")
        #expect(header.ranges.count == 3)
        #expect(header.ranges[0] == MediaRange(type: "application", subtype: "json", parameters: [
            .init(name: "as", value: "Table"), .init(name: "v", value: "v1"), .init(name: "g", value: "meta.k8s.io"),
        ]))
        #expect(header.ranges[1][parameter: "v"] == "v1beta1")
        #expect(header.ranges[2] == MediaRange(type: "application", subtype: "json"))
    }

    @Test func kubeletHeader() {
        let header = AcceptHeader("application/vnd.kubernetes.protobuf, */*")
        #expect(header.ranges == [
            MediaRange(type: "application", subtype: "vnd.kubernetes.protobuf"),
            MediaRange(type: "*", subtype: "*"),
        ])
    }

    @Test func qualityAndWhitespaceAndCase() {
        let header = AcceptHeader(" Application/JSON ; Q=0.5 ;\tcharset=\"utf-8\" , text/*;q=0 ,*;q=.25")
        #expect(header.ranges == [
            MediaRange(type: "application", subtype: "json", parameters: [.init(name: "charset", value: "utf-8")], quality: 500),
            MediaRange(type: "text", subtype: "*", quality: 0),
            MediaRange(type: "*", subtype: "*", quality: 250),
        ])
    }

    @Test func watchStreamParameter() {
        let header = AcceptHeader("application/vnd.kubernetes.protobuf;stream=watch")
        #expect(header.ranges.first?.isWatchStream == true)
        #expect(header.ranges.first?[parameter: "stream"] == "watch")
    }

    @Test(arguments: [
        ("1", 1000), ("1.0", 1000), ("1.000", 1000), ("0", 0), ("0.", 0), ("0.5", 500), (".5", 500),
        ("0.001", 1), ("0.0005", 0), ("0.12345", 123), ("2", 1000), ("abc", 0), ("", 0), ("-1", 0), ("0.5x", 0),
    ])
    func qualityValues(_ text: String, _ thousandths: Int) {
        #expect(AcceptHeader.parseQuality(text) == thousandths)
    }

    @Test func skipsGarbageClauses() {
        let header = AcceptHeader("garbage, /json, application/, a/b/c, ;q=1, , application/json;novalue;x=1")
        #expect(header.ranges == [
            MediaRange(type: "application", subtype: "json", parameters: [.init(name: "x", value: "1")]),
        ])
    }

    @Test func absentAndEmpty() {
        #expect(AcceptHeader(nil).isEmpty)
        #expect(AcceptHeader("").isEmpty)
        // Present but unparsable is not "absent": it matches nothing (406).
        #expect(!AcceptHeader("garbage").isEmpty)
        #expect(AcceptHeader("garbage").ranges.isEmpty)
        #expect(!AcceptHeader(" ").isEmpty)
    }

    @Test func descriptionRoundTrips() {
        let range = MediaRange(type: "application", subtype: "json", parameters: [.init(name: "as", value: "Table")], quality: 50)
        #expect(range.description == "application/json;as=Table;q=0.05")
        #expect(AcceptHeader(range.description).ranges == [range])
        #expect(MediaRange(type: "*", subtype: "*", quality: 900).description == "*/*;q=0.9")
    }

    @Test func specificity() {
        #expect(MediaRange(type: "application", subtype: "json").specificity == 2)
        #expect(MediaRange(type: "application", subtype: "*").specificity == 1)
        #expect(MediaRange(type: "*", subtype: "*").specificity == 0)
    }
}

@Suite("Accept negotiation")
struct AcceptNegotiationTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var client: String
        var header: String?
        var offers: [ResponseFormat] = ResponseFormat.allCases
        var expected: ResponseFormat?
        var testDescription: String { client }
    }

    static let cases: [Case] = [
        .init(client: "kubelet", header: "application/vnd.kubernetes.protobuf, */*", expected: .protobuf),
        .init(client: "client-go protobuf", header: "application/vnd.kubernetes.protobuf,application/json", expected: .protobuf),
        .init(client: "client-go json", header: "application/json, */*", expected: .json),
        .init(client: "kubectl get", header: "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json",
              expected: .tableJSON),
        .init(client: "kubectl get, table not offered",
              header: "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json",
              offers: [.json, .protobuf], expected: .json),
        .init(client: "kubectl get, only v1beta1 table",
              header: "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json", expected: .json),
        .init(client: "python client", header: "application/json", expected: .json),
        .init(client: "python client watch", header: "application/json;stream=watch", expected: .json),
        .init(client: "curl", header: "*/*", expected: .json),
        .init(client: "curl, protobuf preferred by server", header: "*/*", offers: [.protobuf, .json], expected: .protobuf),
        .init(client: "no Accept header", header: nil, expected: .json),
        .init(client: "empty Accept header", header: "", expected: .json),
        .init(client: "no Accept, protobuf first", header: nil, offers: [.protobuf], expected: .protobuf),
        .init(client: "browser", header: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", expected: .json),
        .init(client: "yaml only", header: "application/yaml", expected: nil),
        .init(client: "json refused with q=0", header: "application/json;q=0", expected: nil),
        .init(client: "json refused, wildcard ok", header: "application/json;q=0, application/*", expected: .protobuf),
        .init(client: "q orders", header: "application/json;q=0.5, application/vnd.kubernetes.protobuf;q=0.9", expected: .protobuf),
        .init(client: "equal q, specific before wildcard", header: "*/*, application/vnd.kubernetes.protobuf", expected: .protobuf),
        .init(client: "application/* takes server order", header: "application/*", expected: .json),
        .init(client: "protobuf stream watch", header: "application/vnd.kubernetes.protobuf;stream=watch", expected: .protobuf),
        .init(client: "unknown stream refused", header: "application/json;stream=events", expected: nil),
        .init(client: "server version refused", header: "application/json;sv=v1", expected: nil),
        .init(client: "metadata-only refused", header: "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io", expected: nil),
        .init(client: "metadata-only then json", header: "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json", expected: .json),
        .init(client: "protobuf table not offered", header: "application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io", expected: nil),
        .init(client: "wildcard table", header: "*/*;as=Table;v=v1;g=meta.k8s.io", expected: .tableJSON),
        .init(client: "unknown params ignored", header: "application/json;charset=utf-8;pretty=1", expected: .json),
        .init(client: "garbage", header: "garbage", expected: nil),
        .init(client: "blank", header: " ", expected: nil),
    ]

    @Test(arguments: cases)
    func negotiates(_ expected: Case) {
        let header = AcceptHeader(expected.header)
        #expect(header.negotiate(expected.offers)?.format == expected.expected)
    }

    @Test func reportsChosenClause() throws {
        let header = AcceptHeader("application/vnd.kubernetes.protobuf;stream=watch;q=0.9, application/json;stream=watch;q=0.8")
        let result = try #require(header.negotiate())
        #expect(result.format == .protobuf)
        #expect(result.isWatchStream)
        #expect(result.range?.quality == 900)
    }

    @Test func noHeaderHasNoClause() throws {
        let result = try #require(AcceptHeader(nil).negotiate([.protobuf, .json]))
        #expect(result.format == .protobuf)
        #expect(result.range == nil)
        #expect(!result.isWatchStream)
    }

    @Test func noOffersNothingNegotiated() {
        #expect(AcceptHeader(nil).negotiate([]) == nil)
        #expect(AcceptHeader("*/*").negotiate([]) == nil)
    }

    @Test func acceptsEachFormat() {
        let kubectl = AcceptHeader("application/json;as=Table;v=v1;g=meta.k8s.io,application/json")
        #expect(kubectl.accepts(.tableJSON))
        #expect(kubectl.accepts(.json))
        #expect(!kubectl.accepts(.protobuf))

        let kubelet = AcceptHeader("application/vnd.kubernetes.protobuf, */*")
        #expect(kubelet.accepts(.protobuf))
        #expect(kubelet.accepts(.json))
        #expect(!kubelet.accepts(.tableJSON))

        let jsonOnly = AcceptHeader("application/json, */*;q=0")
        #expect(jsonOnly.accepts(.json))
        #expect(!jsonOnly.accepts(.protobuf))
    }

    @Test func preferenceOrderDropsRefusedClauses() {
        let header = AcceptHeader("*/*;q=0.1, text/plain;q=0, application/*, application/json")
        #expect(header.rangesByPreference.map(\.description) == ["application/json", "application/*", "*/*;q=0.1"])
    }

    @Test func contentTypes() {
        #expect(ResponseFormat.json.contentType == "application/json")
        #expect(ResponseFormat.protobuf.contentType == "application/vnd.kubernetes.protobuf")
        #expect(ResponseFormat.tableJSON.contentType == "application/json;as=Table;v=v1;g=meta.k8s.io")
    }
}
