/// The encoder's element-wise kernels over raw pointers. They are written branch-free (selects, bit tricks, no
/// libm calls) so LLVM vectorises the loops: the exact-erf GELU alone runs 1536 times per token per layer.
public enum VectorMath {
    /// Cosine similarity of two vectors of one length, in double precision; nil when either is all zeros.
    public static func cosine(_ a: [Float], _ b: [Float]) -> Double? {
        var dot = 0.0, normA = 0.0, normB = 0.0
        for index in a.indices {
            let x = Double(a[index]), y = Double(b[index])
            dot += x * y
            normA += x * x
            normB += y * y
        }
        guard normA > 0, normB > 0 else { return nil }
        return dot / (normA.squareRoot() * normB.squareRoot())
    }

    /// erf(x) as a rational function of x, the approximation Eigen and XLA use for float: absolute error
    /// below 5e-7 over the whole line (erf is ±1 in float beyond ±4, hence the clamp).
    @inline(__always)
    static func erf(_ value: Float) -> Float {
        let x = value > 4 ? 4 : (value < -4 ? -4 : value)
        let x2 = x * x
        var p: Float = -2.72614225801306e-10
        p = p * x2 + 2.77068142495902e-08
        p = p * x2 - 2.10102402082508e-06
        p = p * x2 - 5.69250639462346e-05
        p = p * x2 - 7.34990630326855e-04
        p = p * x2 - 2.95459980854025e-03
        p = p * x2 - 1.60960333262415e-02
        var q: Float = -1.45660718464996e-05
        q = q * x2 - 2.13374055278905e-04
        q = q * x2 - 1.68282697438203e-03
        q = q * x2 - 7.37332916720468e-03
        q = q * x2 - 1.42647390514189e-02
        return x * p / q
    }

    /// e^x for x in about [-87, 88] (clamped), within 2 ulp: Cody-Waite range reduction x = n ln2 + r, a degree-6
    /// polynomial for e^r (Cephes' coefficients), and 2^n built in the exponent bits.
    @inline(__always)
    static func exp(_ value: Float) -> Float {
        let x = value > 88 ? 88 : (value < -87 ? -87 : value)
        // Round x / ln2 to an integer by adding 1.5 * 2^23: the low mantissa bits then hold n.
        let shifted = x * 1.442_695_04 + 12_582_912
        let n = shifted - 12_582_912
        let r = (x - n * 0.693_359_375) + n * 2.121_944_4e-4
        var p: Float = 1.987_569_15e-4
        p = p * r + 1.398_199_95e-3
        p = p * r + 8.333_451_9e-3
        p = p * r + 4.166_579_59e-2
        p = p * r + 1.666_666_55e-1
        p = p * r + 5.000_000_12e-1
        let er = p * (r * r) + r + 1
        let bits = (shifted.bitPattern &- 0x4B40_0000 &+ 127) &<< 23
        return er * Float(bitPattern: bits)
    }

    /// rows x columns in place: x + bias, then GELU with the exact erf form, 0.5 x (1 + erf(x / sqrt 2)).
    static func addBiasGELU(_ data: UnsafeMutablePointer<Float>, rows: Int, columns: Int, bias: UnsafePointer<Float>) {
        for row in 0..<rows {
            let line = data + row * columns
            for j in 0..<columns {
                let x = line[j] + bias[j]
                line[j] = 0.5 * x * (1 + erf(x * 0.707_106_77))
            }
        }
    }

    /// Fills each of `rows` rows of `destination` with `bias`, or with `source + bias` when `source` is given:
    /// the starting value that sgemm (with beta = 1) adds the product to.
    static func fillRows(
        _ destination: UnsafeMutablePointer<Float>, rows: Int, columns: Int, bias: UnsafePointer<Float>,
        adding source: UnsafePointer<Float>? = nil
    ) {
        for row in 0..<rows {
            let out = destination + row * columns
            if let source {
                let input = source + row * columns
                for j in 0..<columns { out[j] = input[j] + bias[j] }
            } else {
                out.update(from: bias, count: columns)
            }
        }
    }

    /// LayerNorm of each row of `data` in place: (x - mean) / sqrt(variance + eps) * gamma + beta.
    /// Sums use 8 lanes, which both vectorises them and keeps rounding error lower than one running sum.
    static func layerNorm(
        _ data: UnsafeMutablePointer<Float>, rows: Int, columns: Int,
        gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, epsilon: Float
    ) {
        precondition(columns % 8 == 0)
        let inverseCount = 1 / Float(columns)
        for row in 0..<rows {
            let line = data + row * columns
            let vectors = UnsafeMutableRawPointer(line)
            var sum = SIMD8<Float>()
            for j in stride(from: 0, to: columns, by: 8) {
                sum += vectors.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
            }
            let mean = sum.sum() * inverseCount
            var squares = SIMD8<Float>()
            for j in stride(from: 0, to: columns, by: 8) {
                let d = vectors.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self) - mean
                squares += d * d
            }
            let scale = 1 / (squares.sum() * inverseCount + epsilon).squareRoot()
            for j in 0..<columns { line[j] = (line[j] - mean) * scale * gamma[j] + beta[j] }
        }
    }

    /// Softmax of `count` values in place, subtracting the maximum first so exp cannot overflow.
    @inline(__always)
    static func softmax(_ data: UnsafeMutablePointer<Float>, count: Int) {
        var maximum = -Float.greatestFiniteMagnitude
        for j in 0..<count { maximum = data[j] > maximum ? data[j] : maximum }
        for j in 0..<count { data[j] = exp(data[j] - maximum) }  // a loop of its own so it vectorises
        var total: Float = 0
        for j in 0..<count { total += data[j] }
        let inverse = 1 / total
        for j in 0..<count { data[j] *= inverse }
    }
}
