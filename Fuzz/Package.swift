// swift-tools-version:6.0
import PackageDescription

// Coverage-guided fuzz targets for Outpost's pure modules (libFuzzer through `-sanitize=fuzzer`).
// A separate package so the normal build never compiles it; `scripts/fuzz` builds it with
// `--sanitize fuzzer --sanitize address` and runs each target over its corpus in Fuzz/Corpus.
// Every target is an executable whose only entry point is `LLVMFuzzerTestOneInput` (libFuzzer
// provides `main`, hence -parse-as-library).
let fuzzTarget: [SwiftSetting] = [.unsafeFlags(["-parse-as-library"])]

let package = Package(
    name: "outpost-fuzz",
    dependencies: [
        .package(name: "outpost", path: ".."),
    ],
    targets: [
        .target(name: "FuzzSupport"),
        .executableTarget(
            name: "FuzzRequest",
            dependencies: ["FuzzSupport", .product(name: "KubeRequest", package: "outpost")],
            swiftSettings: fuzzTarget
        ),
        .executableTarget(
            name: "FuzzSelectors",
            dependencies: ["FuzzSupport", .product(name: "Selectors", package: "outpost")],
            swiftSettings: fuzzTarget
        ),
        .executableTarget(
            name: "FuzzJSON",
            dependencies: [
                "FuzzSupport",
                .product(name: "KubeJSON", package: "outpost"),
                .product(name: "Selectors", package: "outpost"),
            ],
            swiftSettings: fuzzTarget
        ),
        .executableTarget(
            name: "FuzzProto",
            dependencies: [
                "FuzzSupport",
                .product(name: "KubeProto", package: "outpost"),
                .product(name: "KubeJSON", package: "outpost"),
                .product(name: "Selectors", package: "outpost"),
            ],
            swiftSettings: fuzzTarget
        ),
        .executableTarget(
            name: "FuzzProtoJSON",
            dependencies: [
                "FuzzSupport",
                .product(name: "KubeProtoJSON", package: "outpost"),
                .product(name: "KubeProto", package: "outpost"),
                .product(name: "KubeJSON", package: "outpost"),
            ],
            swiftSettings: fuzzTarget
        ),
        .executableTarget(
            name: "FuzzYAML",
            dependencies: [
                "FuzzSupport",
                .product(name: "YAMLLite", package: "outpost"),
                .product(name: "KubeConfig", package: "outpost"),
                .product(name: "Filters", package: "outpost"),
            ],
            swiftSettings: fuzzTarget
        ),
    ]
)
