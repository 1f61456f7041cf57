// swift-tools-version: 6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

// The C targets export nothing by themselves; shim.c marks the entry point visible.
let cSettings: [CSetting] = [.unsafeFlags(["-fvisibility=hidden"])]
// The .so's dynamic symbol table holds sqlite3_aiquery_init only: this version script makes every other symbol
// (the static Swift stdlib's, AIQueryCore's public ones, the C shims) local. SwiftPM does not see the script as an
// input of the link, so scripts/build relinks when it changes. Linked with the toolchain's lld: gold, the default,
// keeps local symbols that GOT entries refer to (AIQueryCore's type metadata, libdispatch's TLS) in the dynamic
// symbol table; lld does not, and links in about a second instead of twenty.
let exportsMap = Context.packageDirectory + "/Sources/AIQuery/exports.map"

let package = Package(
    name: "aiquery",
    products: [
        // Built as libAIQuery.so: `.load ./libAIQuery` finds the entry point sqlite3_aiquery_init by itself.
        .library(name: "AIQuery", type: .dynamic, targets: ["AIQuery"]),
        // The command: `aiquery serve`.
        .executable(name: "aiquery", targets: ["aiquery"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
    ],
    targets: [
        // The only C file that includes sqlite3ext.h: every SQLite call goes through the host's API table.
        .target(name: "CAIQuery", cSettings: cSettings),
        // libcurl for HTTP: system TLS, proxies and HTTP/2 with no extra Swift build time.
        .systemLibrary(name: "CCurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        // SHA-256 for cache keys, using the CPU's SHA extensions when it has them.
        .target(name: "CSHA256", cSettings: cSettings),
        // sgemm for the in-process MiniLM embedder, from OpenBLAS loaded with dlopen on first use.
        .target(name: "CBLAS", cSettings: cSettings),
        // llama.cpp for in-process generation, opened with dlopen on first use (the headers of the pinned build).
        .target(name: "CLlama", exclude: ["vendor/README.md"], cSettings: cSettings),
        .target(name: "AIQueryCore", dependencies: ["CCurl", "CSHA256", "CBLAS", "CLlama"], swiftSettings: swiftSettings),
        .target(
            name: "AIQuery",
            dependencies: ["CAIQuery", "AIQueryCore"],
            exclude: ["exports.map"],
            swiftSettings: swiftSettings,
            // Ship the Swift runtime inside the .so so it loads on hosts without a Swift toolchain.
            linkerSettings: [
                .unsafeFlags([
                    "-static-stdlib", "-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "defs",
                    "-Xlinker", "--version-script=\(exportsMap)",
                ])
            ]
        ),
        // A directly linked libsqlite3 behind the cache's SQLiteAPI, for executables and in-process tests. Never a
        // dependency of the extension, which must use the host's SQLite.
        .systemLibrary(name: "CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        .target(name: "SQLiteLinked", dependencies: ["AIQueryCore", "CSQLite"], swiftSettings: swiftSettings),
        // What both test targets share: the loopback test server and running commands.
        .target(name: "AIQueryTestSupport", path: "Tests/AIQueryTestSupport", swiftSettings: swiftSettings),
        // Front door 2, `aiquery serve`: the Databricks serving routes over Hummingbird 2, the same pipeline and cache.
        // NIO and Hummingbird stay out of the extension: only this target and the command depend on them.
        .target(
            name: "AIQueryServer",
            dependencies: [
                "AIQueryCore", .product(name: "Hummingbird", package: "hummingbird"), .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"), .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            // The browser pages, compiled into the binary: nothing to install beside it, nothing fetched.
            resources: [.embedInCode("Pages")],
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "aiquery",
            dependencies: [
                "AIQueryServer", "SQLiteLinked", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        // The upstream benchmarks/serve.sh puts behind the gateway.
        .executableTarget(
            name: "serve-bench-upstream", dependencies: ["AIQueryCore", .product(name: "Hummingbird", package: "hummingbird")],
            swiftSettings: swiftSettings),
        // Speed of the local MiniLM embedder, driven by benchmarks/minilm_speed.sh.
        .executableTarget(name: "minilm-bench", dependencies: ["AIQueryCore"], swiftSettings: swiftSettings),
        // libFuzzer's LLVMFuzzerRunDriver, declared for aiquery-fuzz; links nothing by itself.
        .systemLibrary(name: "CFuzzDriver"),
        // libFuzzer targets over the parsers, driven by scripts/fuzz (built there with -D FUZZING and
        // -sanitize=fuzzer,address into .build-fuzz); without FUZZING it is a plain program that replays inputs.
        .executableTarget(name: "aiquery-fuzz", dependencies: ["AIQueryCore", "CFuzzDriver"], swiftSettings: swiftSettings),
        .testTarget(
            name: "AIQueryCoreTests", dependencies: ["AIQueryCore", "SQLiteLinked", "AIQueryTestSupport"], swiftSettings: swiftSettings),
        // Depends on the command so that `swift test` builds the `aiquery serve` the tests run.
        .testTarget(name: "AIQueryTests", dependencies: ["AIQueryTestSupport", "aiquery"], swiftSettings: swiftSettings),
    ]
)
