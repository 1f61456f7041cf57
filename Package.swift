// swift-tools-version: 6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "aiquery",
    products: [
        // Built as libAIQuery.so: `.load ./libAIQuery` finds the entry point sqlite3_aiquery_init by itself.
        .library(name: "AIQuery", type: .dynamic, targets: ["AIQuery"]),
    ],
    targets: [
        // The only C file that includes sqlite3ext.h: every SQLite call goes through the host's API table.
        .target(name: "CAIQuery"),
        // libcurl for HTTP: system TLS, proxies and HTTP/2 with no extra Swift build time.
        .systemLibrary(name: "CCurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        // SHA-256 for cache keys, using the CPU's SHA extensions when it has them.
        .target(name: "CSHA256"),
        // sgemm for the in-process MiniLM embedder, from OpenBLAS loaded with dlopen on first use.
        .target(name: "CBLAS"),
        .target(name: "AIQueryCore", dependencies: ["CCurl", "CSHA256", "CBLAS"], swiftSettings: swiftSettings),
        .target(
            name: "AIQuery",
            dependencies: ["CAIQuery", "AIQueryCore"],
            swiftSettings: swiftSettings,
            // Ship the Swift runtime inside the .so so it loads on hosts without a Swift toolchain.
            linkerSettings: [.unsafeFlags(["-static-stdlib", "-Xlinker", "-z", "-Xlinker", "defs"])]
        ),
        // Speed of the local MiniLM embedder, driven by benchmarks/minilm_speed.sh.
        .executableTarget(name: "minilm-bench", dependencies: ["AIQueryCore"], swiftSettings: swiftSettings),
        .testTarget(name: "AIQueryCoreTests", dependencies: ["AIQueryCore"], swiftSettings: swiftSettings),
        .testTarget(name: "AIQueryTests", swiftSettings: swiftSettings),
    ]
)
