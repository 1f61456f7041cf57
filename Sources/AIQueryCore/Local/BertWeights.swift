/// all-MiniLM-L6-v2's weights as Float32 in one allocation, laid out for the encoder: linear weights
/// transposed to [inputs, outputs] (OpenBLAS runs the small-row products of short sentences a little faster
/// that way than with PyTorch's [outputs, inputs]), and query, key and value fused into one [384, 1152] matrix
/// so a single sgemm projects all three. Never written after `init`, hence safe to share across threads.
final class BertWeights: @unchecked Sendable {
    static let hidden = 384
    static let heads = 12
    static let headSize = hidden / heads
    static let intermediate = 1536
    static let layerCount = 6
    static let maxPositions = 512
    static let layerNormEpsilon: Float = 1e-12

    struct Layer {
        var qkvWeight: UnsafePointer<Float>  // [hidden, 3 * hidden]: query, key and value columns
        var qkvBias: UnsafePointer<Float>
        var outputWeight: UnsafePointer<Float>  // [hidden, hidden]
        var outputBias: UnsafePointer<Float>
        var attentionNormGamma: UnsafePointer<Float>
        var attentionNormBeta: UnsafePointer<Float>
        var upWeight: UnsafePointer<Float>  // [hidden, intermediate]
        var upBias: UnsafePointer<Float>
        var downWeight: UnsafePointer<Float>  // [intermediate, hidden]
        var downBias: UnsafePointer<Float>
        var outputNormGamma: UnsafePointer<Float>
        var outputNormBeta: UnsafePointer<Float>
    }

    let vocabularySize: Int
    let wordEmbeddings: UnsafePointer<Float>  // [vocabularySize, hidden]
    let positionEmbeddings: UnsafePointer<Float>  // [maxPositions, hidden]
    let tokenTypeEmbedding: UnsafePointer<Float>  // row 0 only: every token is in segment A
    let embeddingNormGamma: UnsafePointer<Float>
    let embeddingNormBeta: UnsafePointer<Float>
    let layers: [Layer]
    private let storage: UnsafeMutablePointer<Float>

    init(_ file: SafeTensorsFile) throws(AIQueryError) {
        let h = Self.hidden, ffn = Self.intermediate
        // Checkpoints saved from BertModel have bare names; ones saved from a task model prefix them with "bert.".
        let prefix = file.tensors["embeddings.word_embeddings.weight"] != nil ? "" : "bert."
        guard let words = file.tensors[prefix + "embeddings.word_embeddings.weight"], words.shape.count == 2 else {
            throw AIQueryError(.invalidConfiguration, "\(file.path) has no BERT word embeddings")
        }
        vocabularySize = words.shape[0]
        let perLayer = 4 * h * h + 2 * h * ffn + 9 * h + ffn
        storage = .allocate(capacity: (vocabularySize + Self.maxPositions + 3) * h + Self.layerCount * perLayer)
        let staging = UnsafeMutablePointer<Float>.allocate(capacity: max(3 * h * h, ffn * h))
        defer { staging.deallocate() }
        var next = storage

        func take(_ name: String, _ shape: [Int]) throws(AIQueryError) -> UnsafePointer<Float> {
            try file.copy(prefix + name, shape: shape, into: next)
            defer { next += shape.reduce(1, *) }
            return UnsafePointer(next)
        }
        // Linear weights [outputs, inputs], stacked when several, stored transposed: [inputs, sum of outputs].
        func takeTransposed(_ names: [String], outputs: Int, inputs: Int) throws(AIQueryError) -> UnsafePointer<Float> {
            for (i, name) in names.enumerated() {
                try file.copy(prefix + name, shape: [outputs, inputs], into: staging + i * outputs * inputs)
            }
            let columns = names.count * outputs
            for row in 0..<columns {
                for column in 0..<inputs { next[column * columns + row] = staging[row * inputs + column] }
            }
            defer { next += columns * inputs }
            return UnsafePointer(next)
        }

        do throws(AIQueryError) {
            wordEmbeddings = try take("embeddings.word_embeddings.weight", [vocabularySize, h])
            positionEmbeddings = try take("embeddings.position_embeddings.weight", [Self.maxPositions, h])
            tokenTypeEmbedding = try take("embeddings.token_type_embeddings.weight", [2, h])
            next -= h  // keep row 0 only
            embeddingNormGamma = try take("embeddings.LayerNorm.weight", [h])
            embeddingNormBeta = try take("embeddings.LayerNorm.bias", [h])
            var layers: [Layer] = []
            for i in 0..<Self.layerCount {
                let p = "encoder.layer.\(i)."
                let projections = ["query", "key", "value"].map { p + "attention.self.\($0)" }
                let qkvWeight = try takeTransposed(projections.map { $0 + ".weight" }, outputs: h, inputs: h)
                let qkvBias = try take(projections[0] + ".bias", [h])
                _ = try take(projections[1] + ".bias", [h])
                _ = try take(projections[2] + ".bias", [h])
                layers.append(Layer(
                    qkvWeight: qkvWeight, qkvBias: qkvBias,
                    outputWeight: try takeTransposed([p + "attention.output.dense.weight"], outputs: h, inputs: h),
                    outputBias: try take(p + "attention.output.dense.bias", [h]),
                    attentionNormGamma: try take(p + "attention.output.LayerNorm.weight", [h]),
                    attentionNormBeta: try take(p + "attention.output.LayerNorm.bias", [h]),
                    upWeight: try takeTransposed([p + "intermediate.dense.weight"], outputs: ffn, inputs: h),
                    upBias: try take(p + "intermediate.dense.bias", [ffn]),
                    downWeight: try takeTransposed([p + "output.dense.weight"], outputs: h, inputs: ffn),
                    downBias: try take(p + "output.dense.bias", [h]),
                    outputNormGamma: try take(p + "output.LayerNorm.weight", [h]),
                    outputNormBeta: try take(p + "output.LayerNorm.bias", [h])))
            }
            self.layers = layers
            if file.tensors[prefix + "encoder.layer.\(Self.layerCount).attention.self.query.weight"] != nil {
                throw AIQueryError(.invalidConfiguration, "\(file.path) has more than \(Self.layerCount) layers: not all-MiniLM-L6-v2")
            }
        } catch {
            storage.deallocate()
            throw error
        }
    }

    deinit { storage.deallocate() }
}
