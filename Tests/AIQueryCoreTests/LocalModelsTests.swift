import Testing

@testable import AIQueryCore

@Suite struct LocalModelsTests {
    /// Loading copies ~87 MB of weights: every row of a statement must reuse the first load.
    @Test func theEmbedderIsLoadedOncePerProcess() throws {
        let endpoint = try #require(LocalModels.builtIn.first { $0.name == "local-minilm" })
        let first = try LocalModels.embedder(for: endpoint)
        let second = try LocalModels.embedder(for: endpoint)
        #expect(first === second)
    }

    @Test func builtInEndpointsNeedNoKey() {
        let names = LocalModels.builtIn.map(\.name)
        #expect(names == ["local-minilm", "local-gemma"])
        #expect(LocalModels.builtIn.allSatisfy { $0.apiKey == .none && $0.source == "built-in" })
    }
}
