// Times the local MiniLM embedder for benchmarks/minilm_speed.sh (not shipped; builds only when asked for).
// Usage: minilm-bench SENTENCES_FILE [--batch 1,32] [--rounds 3] [--out EMBEDDINGS.f32]
// Reads one sentence per line, embeds them all in batches of each size (after a warm-up), and prints one line
// per batch size: "batch <n> sentences <count> seconds <best of rounds> per_second <rate>". With --out, writes
// the embeddings of the last run as little-endian float32, 384 per sentence, for comparison with PyTorch.
#if canImport(Glibc)
import Glibc
#endif
import AIQueryCore

func fail(_ message: String) -> Never {
    print("minilm-bench: \(message)")
    exit(1)
}

var arguments = Array(CommandLine.arguments.dropFirst())
@MainActor func option(_ name: String) -> String? {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
    defer { arguments.removeSubrange(index...(index + 1)) }
    return arguments[index + 1]
}
let batchSizes = (option("--batch") ?? "1,32").split(separator: ",").compactMap { Int($0) }
let rounds = Int(option("--rounds") ?? "3") ?? 3
let outputPath = option("--out")
guard let path = arguments.first, let bytes = System.readFile(path) else { fail("cannot read the sentences file") }
let sentences = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
    .map(String.init).filter { !$0.isEmpty }

let embedder: MiniLMEmbedder
do { embedder = try MiniLMEmbedder.load() } catch { fail(error.message) }

var last: [[Float]] = []
for batchSize in batchSizes where batchSize > 0 {
    _ = embedder.embed(Array(sentences.prefix(batchSize * 2)))  // warm-up: page in weights, start BLAS threads
    var best = Double.infinity
    for _ in 0..<max(rounds, 1) {
        var results: [[Float]] = []
        results.reserveCapacity(sentences.count)
        let start = System.monotonicSeconds()
        var index = 0
        while index < sentences.count {
            let end = min(index + batchSize, sentences.count)
            results += embedder.embed(Array(sentences[index..<end]))
            index = end
        }
        best = min(best, System.monotonicSeconds() - start)
        last = results
    }
    print("batch \(batchSize) sentences \(sentences.count) seconds \(best) per_second \(Double(sentences.count) / best)")
}

if let outputPath {
    guard let file = fopen(outputPath, "wb") else { fail("cannot write \(outputPath)") }
    for vector in last { _ = vector.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) } }
    fclose(file)
}
