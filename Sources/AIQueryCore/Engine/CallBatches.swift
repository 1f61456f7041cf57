/// How embeddings texts share requests, for every face of the pipeline: up to `batchSize` inputs and about
/// ``maxBytes`` of text per request, whatever the batch size (a request too large for the endpoint would fail
/// every row in it).
public enum CallBatches {
    /// Bytes of text per embeddings request.
    public static let maxBytes = 1 << 20

    /// Whether a batch holding `count` calls and `bytes` bytes of text must go now.
    static func isFull(count: Int, bytes: Int, batchSize: Int) -> Bool {
        count >= batchSize || bytes >= maxBytes
    }

    /// The calls at `indices`, in order, cut into batches.
    static func split(_ indices: [Int], of calls: [PreparedCall], batchSize: Int) -> [[Int]] {
        var batches: [[Int]] = []
        var batch: [Int] = []
        var bytes = 0
        for index in indices {
            batch.append(index)
            bytes += calls[index].batchBytes
            if isFull(count: batch.count, bytes: bytes, batchSize: batchSize) {
                batches.append(batch)
                batch = []
                bytes = 0
            }
        }
        if !batch.isEmpty { batches.append(batch) }
        return batches
    }
}
