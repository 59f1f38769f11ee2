// swift-tools-version:6.2
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Duckling",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "duckling", targets: ["duckling"])
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-async-algorithms.git", from: "1.1.4"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.4.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    ],
    targets: [
        .systemLibrary(name: "CDuckDB", pkgConfig: "duckdb"),
        .target(
            name: "DuckDBKit",
            dependencies: ["CDuckDB"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ObjectStorage",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "DucklingCore",
            dependencies: [
                "DuckDBKit",
                "ObjectStorage",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "WebEmbedder",
            path: "Tools/WebEmbedder"
        ),
        .plugin(
            name: "EmbedWeb",
            capability: .buildTool(),
            dependencies: ["WebEmbedder"],
            path: "Plugins/EmbedWeb"
        ),
        .target(
            name: "DucklingHTTP",
            dependencies: [
                "DucklingCore",
                "ObjectStorage",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdHTTP2", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings,
            plugins: ["EmbedWeb"]
        ),
        .executableTarget(
            name: "duckling",
            dependencies: [
                "DucklingHTTP",
                "ObjectStorage",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "QueryAPIBenchmark",
            dependencies: ["DuckDBKit"],
            path: "bench/query-api/Sources",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "SyncReference",
            dependencies: ["CDuckDB"],
            path: "bench/sync/Sources",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "LakeBenchmark",
            dependencies: ["DuckDBKit"],
            path: "bench/lake/Sources",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "EventsReference",
            dependencies: [.product(name: "Hummingbird", package: "hummingbird")],
            path: "bench/events/Sources",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "BackupBenchmark",
            dependencies: ["DucklingCore", "ObjectStorage", .product(name: "Logging", package: "swift-log")],
            path: "bench/backup/Sources",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DuckDBKitTests",
            dependencies: ["DuckDBKit", "DucklingTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ObjectStorageTests",
            dependencies: ["ObjectStorage", .product(name: "AsyncHTTPClient", package: "async-http-client")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DucklingCoreTests",
            dependencies: ["DucklingCore", "DucklingTestSupport", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "DucklingTestSupport",
            dependencies: [
                "DucklingHTTP",
                "ObjectStorage",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/Support",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DucklingHTTPTests",
            dependencies: ["DucklingHTTP", "DucklingCore", "DuckDBKit", "DucklingTestSupport", .product(name: "AsyncHTTPClient", package: "async-http-client")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["DucklingHTTP", "DuckDBKit", "ObjectStorage", "DucklingTestSupport", .product(name: "AsyncHTTPClient", package: "async-http-client")],
            swiftSettings: swiftSettings
        ),
    ]
)
