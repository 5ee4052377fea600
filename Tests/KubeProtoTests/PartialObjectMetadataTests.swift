import Testing
@testable import KubeProto

/// A protobuf PartialObjectMetadataList built from a protobuf PodList's item messages equals the
/// one the lab apiserver v1.20.2 sent for the same pods (both fetched back to back from
/// namespace table-fixtures, see scripts/gen/table-fixtures).
@Suite struct PartialObjectMetadataTests {
    @Test func metadataListFromStoredMessagesEqualsTheApiservers() throws {
        let pods = try splitList(try Fixture.bytes("table-fixtures-pods.pb"))
        #expect(pods.items.count == 8)
        let items = try pods.items.map { try ProtoPartialObjectMetadata.message(ofObject: $0.message) }
        let body = ProtoListWriter.encode(typeMeta: ProtoPartialObjectMetadata.listTypeMeta,
                                          listMeta: ProtoListMeta(resourceVersion: pods.info.resourceVersion ?? ""), items: items)
        #expect(body == (try Fixture.bytes("table-fixtures-pods-metadata.pb")))
        // The length pass of a streamed answer adds up to the same bytes.
        let w = ProtoListWriter(typeMeta: ProtoPartialObjectMetadata.listTypeMeta,
                                listMeta: ProtoListMeta(resourceVersion: pods.info.resourceVersion ?? ""),
                                itemMessageSizes: items.map(\.count))
        #expect(w.bodyLength == body.count)
    }

    @Test func objectWithoutMetadataGivesAnEmptyMessage() throws {
        #expect(try ProtoPartialObjectMetadata.message(ofObject: [0x12, 0x01, 0x41]) == [])
        #expect(throws: ProtoError.self) { try ProtoPartialObjectMetadata.message(ofObject: [0x0A, 0x05, 0x41]) }
    }
}
