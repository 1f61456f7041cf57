import Testing

@testable import AIQueryCore

@Suite struct LocalModelsTests {
    /// Loading copies ~87 MB of weights: every row of a statement must reuse the first load.
    @Test func theEmbedderIsLoadedOncePerRuntime() throws {
        let endpoint = try #require(LocalModels.builtIn.first { $0.name == "local-minilm" })
        let host = LocalModelHost()
        let first = try host.embedder(for: endpoint)
        let second = try host.embedder(for: endpoint)
        #expect(first === second)
    }

    @Test func builtInEndpointsNeedNoKey() {
        let names = LocalModels.builtIn.map(\.name)
        #expect(names == ["local-minilm", "local-gemma", "local-chat"])
        #expect(LocalModels.builtIn.allSatisfy { $0.apiKey == .none && $0.source == "built-in" })
    }
}
