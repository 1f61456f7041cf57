import CBLAS

/// all-MiniLM-L6-v2's forward pass: the BERT encoder (6 layers, exact-erf GELU, post-LayerNorm), then mean
/// pooling and L2 normalisation, as sentence-transformers runs it.
///
/// Speed: sentences are never padded. All tokens of a batch are stacked as the rows of one matrix, so every
/// linear layer is one sgemm over the whole batch (OpenBLAS threads it); only attention is per sentence and
/// head, spread over the cores with the row-wise work (LayerNorm, GELU) by `ParallelLoop`. Each call allocates
/// its own scratch memory, so concurrent calls are safe.
final class BertEncoder: Sendable {
    typealias Shape = BertWeights
    let weights: BertWeights
    private let parallel: ParallelLoop

    init(weights: BertWeights) {
        self.weights = weights
        // As many threads as OpenBLAS uses: all cores unless OPENBLAS_NUM_THREADS says otherwise.
        parallel = ParallelLoop(threads: Int(aiq_blas_threads()))
    }

    /// Unit-length mean-pooled embeddings of tokenized sentences (each [CLS] … [SEP], at most 512 ids, every id
    /// below the vocabulary size).
    func embed(_ sentences: [[Int32]]) -> [[Float]] {
        let h = Shape.hidden, ffn = Shape.intermediate
        var starts: [Int] = []  // each sentence's first row, then the row count
        var tokens: [Int32] = []
        for ids in sentences {
            precondition(ids.count <= Shape.maxPositions && ids.allSatisfy { $0 >= 0 && Int($0) < weights.vocabularySize })
            starts.append(tokens.count)
            tokens += ids
        }
        let rows = tokens.count
        starts.append(rows)
        guard rows > 0 else { return sentences.map { _ in [Float](repeating: 0, count: h) } }
        let longest = sentences.reduce(0) { max($0, $1.count) }
        let plan = AttentionPlan(starts: starts, heads: Shape.heads, threads: parallel.threadCount)

        // One scratch block: activations x, fused q|k|v, attention context, residual sums, FFN activations, and
        // per attention chunk room for one head's scores and transposed keys.
        let perChunk = longest * (longest + Shape.headSize)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: rows * (6 * h + ffn) + plan.chunks * perChunk)
        defer { scratch.deallocate() }
        let x = scratch, qkv = x + rows * h, context = qkv + rows * 3 * h, residual = context + rows * h
        let up = residual + rows * h, attentionWork = up + rows * ffn

        // Row-wise work runs in a few chunks per thread once there is enough to beat the hand-off cost.
        let rowChunks = rows >= 64 ? min(parallel.threadCount * 4, rows / 16) : 1
        func forRows(_ body: (_ first: Int, _ count: Int) -> Void) {
            parallel.run(chunks: rowChunks) { chunk in
                let first = chunk * rows / rowChunks
                body(first, (chunk + 1) * rows / rowChunks - first)
            }
        }
        // Start values that a layer's sgemms add to (beta = 1): the q|k|v biases, and x plus the output bias.
        func prefill(_ layer: BertWeights.Layer, _ first: Int, _ count: Int) {
            VectorMath.fillRows(qkv + first * 3 * h, rows: count, columns: 3 * h, bias: layer.qkvBias)
            VectorMath.fillRows(
                residual + first * h, rows: count, columns: h, bias: layer.outputBias, adding: x + first * h)
        }
        func layerNorm(
            _ data: UnsafeMutablePointer<Float>, _ count: Int, _ gamma: UnsafePointer<Float>, _ beta: UnsafePointer<Float>
        ) {
            VectorMath.layerNorm(
                data, rows: count, columns: h, gamma: gamma, beta: beta, epsilon: Shape.layerNormEpsilon)
        }

        tokens.withUnsafeBufferPointer { tokens in
            forRows { first, count in
                embedTokens(tokens, starts: starts, rows: first..<(first + count), into: x)
                layerNorm(x + first * h, count, weights.embeddingNormGamma, weights.embeddingNormBeta)
                prefill(weights.layers[0], first, count)
            }
        }
        for (index, layer) in weights.layers.enumerated() {
            Self.linear(x, rows: rows, inputs: h, weight: layer.qkvWeight, outputs: 3 * h, into: qkv)
            parallel.run(chunks: plan.chunks) { chunk in
                attention(qkv: qkv, plan: plan, chunk: chunk, work: attentionWork + chunk * perChunk, into: context)
            }
            Self.linear(context, rows: rows, inputs: h, weight: layer.outputWeight, outputs: h, into: residual)
            forRows { first, count in
                layerNorm(residual + first * h, count, layer.attentionNormGamma, layer.attentionNormBeta)
                VectorMath.fillRows(
                    x + first * h, rows: count, columns: h, bias: layer.downBias, adding: residual + first * h)
            }
            Self.linear(residual, rows: rows, inputs: h, weight: layer.upWeight, outputs: ffn, into: up, accumulate: false)
            forRows { first, count in
                VectorMath.addBiasGELU(up + first * ffn, rows: count, columns: ffn, bias: layer.upBias)
            }
            Self.linear(up, rows: rows, inputs: ffn, weight: layer.downWeight, outputs: h, into: x)
            forRows { first, count in
                layerNorm(x + first * h, count, layer.outputNormGamma, layer.outputNormBeta)
                if index + 1 < weights.layers.count { prefill(weights.layers[index + 1], first, count) }
            }
        }
        return Self.meanPoolAndNormalize(x, starts: starts)
    }

    /// Word + position + segment-A embedding for the given rows of the stacked batch.
    private func embedTokens(
        _ tokens: UnsafeBufferPointer<Int32>, starts: [Int], rows: Range<Int>, into x: UnsafeMutablePointer<Float>
    ) {
        let h = Shape.hidden
        var sentence = 0
        for r in rows {
            while starts[sentence + 1] <= r { sentence += 1 }
            let out = x + r * h
            let word = weights.wordEmbeddings + Int(tokens[r]) * h
            let place = weights.positionEmbeddings + (r - starts[sentence]) * h
            for j in 0..<h { out[j] = word[j] + place[j] + weights.tokenTypeEmbedding[j] }
        }
    }

    /// out[rows, outputs] (+)= input[rows, inputs] * weight[inputs, outputs].
    @inline(__always)
    private static func linear(
        _ input: UnsafePointer<Float>, rows: Int, inputs: Int, weight: UnsafePointer<Float>, outputs: Int,
        into out: UnsafeMutablePointer<Float>, accumulate: Bool = true
    ) {
        aiq_sgemm(
            Int32(rows), Int32(outputs), Int32(inputs),
            1, input, Int32(inputs), weight, Int32(outputs), accumulate ? 1 : 0, out, Int32(outputs))
    }

    /// Scaled dot-product attention for one chunk of (sentence, head) units, reading q, k and v in place from
    /// the fused [rows, 3h] matrix and writing each head's 32 columns of the [rows, h] context. No mask: nothing
    /// is padded. The head's keys are first copied transposed so both products are plain row-major ones, which
    /// OpenBLAS runs with its unpacked small-matrix kernels up to about 170 tokens; with a transposed operand it
    /// would pack both matrices, costing more than the arithmetic. `work` holds t * (t + 32) floats.
    private func attention(
        qkv: UnsafeMutablePointer<Float>, plan: AttentionPlan, chunk: Int, work: UnsafeMutablePointer<Float>,
        into context: UnsafeMutablePointer<Float>
    ) {
        let h = Shape.hidden, d = Shape.headSize, stride = 3 * h
        let scale = 1 / Float(d).squareRoot()
        for unit in plan.bounds[chunk]..<plan.bounds[chunk + 1] {
            let sentence = unit / plan.heads, head = unit % plan.heads
            let first = plan.starts[sentence], t = plan.starts[sentence + 1] - first
            let q = qkv + first * stride + head * d, k = q + h, v = q + 2 * h
            let scores = work, keys = work + t * t  // keys[c * t + j] = k[j][c]
            for j in 0..<t {
                let key = k + j * stride
                for c in 0..<d { keys[c * t + j] = key[c] }
            }
            aiq_sgemm(
                Int32(t), Int32(t), Int32(d),
                scale, q, Int32(stride), keys, Int32(t), 0, scores, Int32(t))
            for i in 0..<t { VectorMath.softmax(scores + i * t, count: t) }
            aiq_sgemm(
                Int32(t), Int32(d), Int32(t),
                1, scores, Int32(t), v, Int32(stride), 0, context + first * h + head * d, Int32(h))
        }
    }

    /// The mean of each sentence's rows scaled to unit length (sentence-transformers' Pooling + Normalize).
    private static func meanPoolAndNormalize(_ x: UnsafePointer<Float>, starts: [Int]) -> [[Float]] {
        let h = Shape.hidden
        return (0..<(starts.count - 1)).map { s in
            var mean = [Float](repeating: 0, count: h)
            mean.withUnsafeMutableBufferPointer { out in
                for r in starts[s]..<starts[s + 1] {
                    let line = x + r * h
                    for j in 0..<h { out[j] += line[j] }
                }
                var norm: Float = 0
                for j in 0..<h { norm += out[j] * out[j] }
                // Dividing by the count and then by the norm is dividing by the norm alone: the count cancels.
                let scale = 1 / max(norm.squareRoot(), 1e-12)
                for j in 0..<h { out[j] *= scale }
            }
            return mean
        }
    }
}

/// Attention work cut into chunks of (sentence, head) units of about equal cost (a sentence of t tokens costs
/// about t^2 per head), so threads finish together even when sentence lengths differ a lot.
struct AttentionPlan {
    let starts: [Int]
    let heads: Int
    /// Chunk c covers units bounds[c]..<bounds[c + 1]; unit u is sentence u / heads, head u % heads.
    let bounds: [Int]
    var chunks: Int { bounds.count - 1 }

    init(starts: [Int], heads: Int, threads: Int) {
        self.starts = starts
        self.heads = heads
        let sentences = starts.count - 1
        let costs = (0..<sentences).map { s in
            let t = starts[s + 1] - starts[s]
            return t * t + 16 * t
        }
        let total = heads * costs.reduce(0, +)
        // Below about one 64-token sentence's worth, handing work to another thread costs more than it saves.
        let wanted = total >= heads * 64 * 64 ? min(threads * 4, sentences * heads) : 1
        var bounds = [0]
        var done = 0
        for unit in 0..<(sentences * heads) {
            done += costs[unit / heads]
            if done * wanted >= total * bounds.count, bounds.count < wanted { bounds.append(unit + 1) }
        }
        bounds.append(sentences * heads)
        self.bounds = bounds
    }
}
