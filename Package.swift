// swift-tools-version:6.0
import PackageDescription

// Module map (the data path reads top to bottom):
//   KubeRequest   pure: classify an HTTP request the way kube-apiserver's RequestInfo does
//   YAMLLite      pure: the YAML subset kubeconfig and Outpost's config files use
//   KubeConfig    pure: kubeconfig model -> upstream endpoint + credentials
//   Selectors     pure: label and field selectors, parsed and matched like the apiserver
//   KubeJSON      pure: streaming JSON scanning (list items, watch events, metadata) and Status bodies
//   KubeProto     pure: streaming protobuf scanning (k8s envelope, list items, watch frames, metadata) and writers
//   KubeProtoJSON pure: protobuf object -> the apiserver's JSON, driven by a schema generated from k8s.io/api
//   KubeTable     pure: the apiserver's Table printers (kubectl get) and PartialObjectMetadata, from an object's JSON
//   Filters       pure: filter rules and the Outpost config file
//   OfflineAccess pure: the apiserver's authorization answers, remembered, decide who may read the cache offline
//   CacheStore    the on-disk store (SQLite WAL through the system libsqlite3)
//   CacheCrypto   keys, sealing of cached bodies at rest and credential hashing (libsodium)
//   Upstream      NIO: TLS client connections to the apiserver, pooling, health
//   OutpostProxy  NIO: the local server, forwarding, tunnels, admin endpoints, metrics
//   EdgeCache     NIO: tees that feed the cache, offline answers, the request router
//   OutpostTesting NIO: an in-process fake apiserver and helpers for integration tests
//   OutpostCLI    pure: the command line (no swift-argument-parser: it links FoundationEssentials)
//   outpost       the executable: services, signals
let package = Package(
    name: "outpost",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "outpost", targets: ["outpost"]),
        // The pure modules, for the coverage-guided fuzz package in Fuzz/ (it depends on this one by path).
        .library(name: "KubeRequest", targets: ["KubeRequest"]),
        .library(name: "Selectors", targets: ["Selectors"]),
        .library(name: "KubeJSON", targets: ["KubeJSON"]),
        .library(name: "KubeProto", targets: ["KubeProto"]),
        .library(name: "KubeProtoJSON", targets: ["KubeProtoJSON"]),
        .library(name: "YAMLLite", targets: ["YAMLLite"]),
        .library(name: "KubeConfig", targets: ["KubeConfig"]),
        .library(name: "Filters", targets: ["Filters"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        .target(name: "KubeRequest", dependencies: ["Selectors"]),
        .target(name: "YAMLLite"),
        .target(name: "KubeConfig", dependencies: ["YAMLLite"]),
        .target(name: "Selectors"),
        .target(name: "KubeJSON"),
        .target(name: "KubeProto", dependencies: ["KubeJSON"]),
        .target(name: "KubeProtoJSON", dependencies: ["KubeProto"]),
        .target(name: "KubeTable", dependencies: ["KubeJSON"]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .target(name: "CacheStore", dependencies: ["CSQLite"]),
        .systemLibrary(name: "CSodium", pkgConfig: "libsodium", providers: [.apt(["libsodium-dev"])]),
        .target(name: "CacheCrypto", dependencies: ["CSodium"]),
        .target(name: "OfflineAccess"),
        .target(name: "Filters", dependencies: ["YAMLLite", "Selectors"]),
        .target(name: "OutpostCLI"),
        .target(
            name: "Upstream",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "OutpostProxy",
            dependencies: [
                "KubeRequest", "KubeJSON", "Upstream",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "EdgeCache",
            dependencies: [
                "OutpostProxy", "CacheStore", "CacheCrypto", "OfflineAccess", "Filters", "KubeJSON", "KubeProto", "KubeProtoJSON", "KubeRequest", "KubeTable", "Selectors",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "OutpostTesting",
            dependencies: [
                "OutpostProxy", "Upstream",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "outpost",
            dependencies: [
                "OutpostCLI", "OutpostProxy", "EdgeCache", "CacheCrypto", "Filters", "KubeConfig", "Upstream",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(name: "KubeRequestTests", dependencies: ["KubeRequest"]),
        .testTarget(name: "YAMLLiteTests", dependencies: ["YAMLLite"]),
        .testTarget(name: "KubeConfigTests", dependencies: ["KubeConfig"]),
        .testTarget(name: "SelectorsTests", dependencies: ["Selectors"]),
        .testTarget(name: "KubeJSONTests", dependencies: ["KubeJSON"]),
        .testTarget(name: "KubeProtoTests", dependencies: ["KubeProto", "KubeJSON"], exclude: ["Fixtures"]),
        .testTarget(name: "KubeProtoJSONTests", dependencies: ["KubeProtoJSON", "KubeProto"], exclude: ["Fixtures"]),
        .testTarget(name: "KubeTableTests", dependencies: ["KubeTable", "KubeJSON"], exclude: ["Fixtures"]),
        .testTarget(name: "CacheStoreTests", dependencies: ["CacheStore"]),
        .testTarget(name: "CacheCryptoTests", dependencies: ["CacheCrypto"]),
        .testTarget(name: "OfflineAccessTests", dependencies: ["OfflineAccess"]),
        .testTarget(name: "FiltersTests", dependencies: ["Filters"]),
        .testTarget(name: "OutpostCLITests", dependencies: ["OutpostCLI"]),
        .testTarget(
            name: "OutpostProxyTests",
            dependencies: [
                "OutpostProxy", "OutpostTesting", "Upstream", "KubeConfig",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "EdgeCacheTests",
            dependencies: [
                "EdgeCache", "Filters", "OutpostProxy", "OutpostTesting", "Upstream", "KubeProto", "KubeJSON", "CacheCrypto", "OfflineAccess",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ]
)
