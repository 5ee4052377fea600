/// The decoded form of the generated table (`KubeSchema+Generated.swift`): one descriptor per
/// protobuf message reachable from a root kind, with its fields in **Go struct order** (the
/// order encoding/json writes them), plus the (apiVersion, kind) → root message map.
///
/// The table is a string literal, decoded once on first use (a `static let`, so thread-safe):
/// thousands of struct literals would cost seconds of type-checking on every clean build.
import KubeProto

private extension Array where Element == String {
    var pair: (String, String)? { count == 2 ? (self[0], self[1]) : nil }
}

final class KubeSchema: Sendable {
    enum FieldType: Equatable, Sendable {
        case string, int32, int64, bool, bytes
        /// Kubernetes types with custom JSON marshallers.
        case time, microTime, duration, quantity, intOrString, rawExtension, fieldsV1
        /// Embedded `metav1.TypeMeta` (`json:",inline"`): kind and apiVersion, which protobuf
        /// carries in the envelope, not in the message.
        case typeMeta
        case message(Int)
    }

    struct Field: Sendable {
        /// Protobuf field number; 0 for TypeMeta and Go-only fields (never on the wire).
        var number: Int
        /// `"jsonName":` ready to append.
        var key: [UInt8]
        var type: FieldType
        var omitEmpty: Bool
        var pointer: Bool
        var repeated: Bool
        /// `map<string, type>`.
        var map: Bool
        /// `json:",inline"`: the sub-message's fields are written into this object.
        var inline: Bool
        /// (kind, apiVersion) the apiserver's conversion sets on each element although protobuf
        /// cannot carry it (StatefulSet volumeClaimTemplates).
        var typeMeta: (String, String)? = nil

        /// The wire type this field's values use (2 for anything length-delimited). Repeated
        /// varints may also arrive packed (2); the walker accepts both.
        var wireType: ProtoWireType {
            if map { return .lengthDelimited }
            switch type {
            case .int32, .int64, .bool: return .varint
            default: return .lengthDelimited
            }
        }
    }

    struct Message: Sendable {
        var name: String
        var fields: [Field]
        /// Field number → index in `fields`, or -1. Kubernetes numbers are small and dense.
        var byNumber: [Int16]
        /// A Go named slice carried as a message (`ExtraValue`): JSON is field 1's array.
        var wrapper: Bool

        @inline(__always) func fieldIndex(_ number: Int) -> Int {
            number < byNumber.count ? Int(byNumber[number]) : -1
        }
    }

    let messages: [Message]
    private let roots: [String: Int]

    static let shared = KubeSchema(table: KubeSchema.table)

    /// The root message for an object (or List) of `kind` in `apiVersion` (`v1`, `apps/v1`).
    func root(apiVersion: String, kind: String) -> Int? {
        roots[apiVersion + "\u{0}" + kind]
    }

    var rootKeys: [(apiVersion: String, kind: String)] {
        roots.keys.map { k in
            let parts = k.split(separator: "\u{0}", omittingEmptySubsequences: false)
            return (String(parts[0]), String(parts[1]))
        }
    }

    init(table: StaticString) {
        let text = String(decoding: UnsafeBufferPointer(start: table.utf8Start, count: table.utf8CodeUnitCount), as: UTF8.self)
        var messages: [Message] = []
        var roots: [String: Int] = [:]
        for line in text.split(separator: "\n") {
            guard let tag = line.first else { continue }
            let parts = line.dropFirst().split(separator: "|", omittingEmptySubsequences: false)
            if tag == "R" {
                roots[parts[0] + "\u{0}" + parts[1]] = Int(parts[2])!
                continue
            }
            precondition(tag == "M" && parts.count == 3, "KubeSchema: bad table line \(line)")
            var fields: [Field] = []
            for spec in parts[2].split(separator: ";") {
                let f = spec.split(separator: ",", omittingEmptySubsequences: false)
                let flags = f[3]
                let type: FieldType
                switch f[2] {
                case "s": type = .string
                case "i": type = .int32
                case "l": type = .int64
                case "b": type = .bool
                case "y": type = .bytes
                case "T": type = .time
                case "U": type = .microTime
                case "D": type = .duration
                case "Q": type = .quantity
                case "I": type = .intOrString
                case "R": type = .rawExtension
                case "F": type = .fieldsV1
                case "K": type = .typeMeta
                default: type = .message(Int(f[2])!)
                }
                fields.append(Field(number: Int(f[0])!, key: Array("\"\(f[1])\":".utf8), type: type,
                                    omitEmpty: flags.contains("o"), pointer: flags.contains("p"),
                                    repeated: flags.contains("r"), map: flags.contains("m"),
                                    inline: flags.contains("n"),
                                    typeMeta: f.count > 4 ? f[4].split(separator: "@").map(String.init).pair : nil))
            }
            let maxNumber = fields.map(\.number).max() ?? 0
            var byNumber = [Int16](repeating: -1, count: maxNumber + 1)
            for (i, f) in fields.enumerated() where f.number > 0 { byNumber[f.number] = Int16(i) }
            messages.append(Message(name: String(parts[0]), fields: fields, byNumber: byNumber,
                                    wrapper: parts[1].contains("w")))
        }
        self.messages = messages
        self.roots = roots
    }
}
