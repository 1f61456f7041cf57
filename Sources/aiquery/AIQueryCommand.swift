import AIQueryCore
import AIQueryServer
import ArgumentParser
import Logging
import SQLiteLinked

#if canImport(Glibc)
import Glibc
#endif

@main
struct AIQueryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aiquery",
        abstract: "Databricks' ai_query for SQLite, and a local Databricks Model Serving workspace.",
        discussion: "The SQL functions live in the loadable extension (.load .build/release/libAIQuery in sqlite3); this command serves the same endpoints over HTTP.",
        version: AIQueryVersion.string,
        subcommands: [Serve.self])
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the endpoints as a Databricks workspace: invocations, OpenAI-compatible paths, endpoint listing.",
        discussion: """
            Endpoints come from AIQUERY_CONFIG (default ~/.config/aiquery/endpoints.yaml), the built-in local-minilm and \
            local-gemma, and a Databricks workspace (DATABRICKS_HOST) as upstream; answers share the AIQUERY_CACHE file with \
            the SQL extension. Callers authenticate with the token from AIQUERY_SERVE_TOKEN, or the one generated at first \
            start into ~/.config/aiquery/serve-token, as Bearer or as curl -u token:<token>. The first line on standard \
            output is the base URL: set DATABRICKS_HOST to it and DATABRICKS_TOKEN to the token.
            """)

    @Option(help: "Address to listen on; anything but loopback exposes the endpoints (and your keys' budget) to the network.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on; 0 picks a free one.")
    var port = 8080

    @Option(help: "Seconds a request's body may take to arrive (HTTP 408 after).")
    var readTimeout = 30.0

    @Option(help: "Seconds a connection may stay silent, between requests or while sending one, before it is closed.")
    var idleTimeout = 60.0

    @Flag(help: "Answer requests without a token when they come over loopback (from this machine's browser or programs): no token prompt in the pages.")
    var noAuthOnLoopback = false

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be from 0 to 65535, got \(port)") }
        for (name, value) in [("--read-timeout", readTimeout), ("--idle-timeout", idleTimeout)] where !(value > 0 && value <= 86_400) {
            throw ValidationError("\(name) must be a number of seconds greater than 0 and at most 86400, got \(value)")
        }
    }

    func run() async throws {
        var logger = Logger(label: "aiquery.serve")
        logger.logLevel = System.environment("LOG_LEVEL").flatMap(Logger.Level.init(rawValue:)) ?? .info
        let token = try ServeToken.resolve()
        var options = ServeOptions(
            host: host, port: port, token: token,
            clientID: System.environment("AIQUERY_SERVE_CLIENT_ID") ?? "aiquery",
            clientSecret: System.environment("AIQUERY_SERVE_CLIENT_SECRET") ?? token)
        options.readTimeout = readTimeout
        options.idleTimeout = idleTimeout
        options.noAuthOnLoopback = noAuthOnLoopback
        try await ServingServer.run(options: options, sqlite: .linked, logger: logger) { url in
            // The first line on standard output, written at once: scripts and tests read the port from it.
            var line = Array((url + "\n").utf8)
            _ = line.withUnsafeMutableBytes { write(1, $0.baseAddress, $0.count) }
        }
    }
}
