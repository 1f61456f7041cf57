import CLlama

// Once a file of this module imports Dispatch, pthread_attr_t's initializer is found through CDispatch (MemberImportVisibility).
import CDispatch
import Glibc

/// The rows a GGUF model answers at once: each job gets a sequence of the shared context as one frees up, and one
/// `llama_decode` per step advances every sequence by a token (continuous batching), so rows asked together —
/// `ai_query_rows` workers, requests to `aiquery serve` — cost little more than one.
///
/// One thread decodes, started with the first job (loading the extension starts none) and parked while there is
/// nothing to do. One thread, not whichever caller is free: ggml's OpenMP team and glibc's malloc arena belong
/// to the thread that decodes, and callers taking turns made a team and an arena each (the process grew by
/// 4 MB a row). Each caller checks its own cancellation (a SQLite connection is asked only on its thread) and
/// raises a flag the decoding thread reads between tokens.
final class LlamaBatcher: @unchecked Sendable {
    private let llm: OpaquePointer
    private let lock = ConditionLock()
    /// Under `lock`: jobs not yet in a sequence, oldest first; jobs in a sequence; the thread's state.
    private var waiting: [LlamaJob] = []
    private var running = 0
    private var threadStarted = false
    private var closing = false
    private var threadDone = false
    /// The decoding thread's only: the job in each sequence.
    private var slots: [LlamaJob?]

    init(llm: OpaquePointer, sequences: Int) {
        self.llm = llm
        slots = Array(repeating: nil, count: max(1, sequences))
    }

    /// Runs `job` to its end; `shouldStop` is asked on this thread every 50 ms.
    func run(_ job: LlamaJob, shouldStop: () -> Bool) -> Result<LlamaJob.Answer, AIQueryError> {
        let start = lock.withLock {
            waiting.append(job)
            lock.broadcast()
            defer { threadStarted = true }
            return !threadStarted
        }
        if start, !spawn() {
            lock.withLock {
                threadStarted = false
                waiting.removeAll { $0 === job }
            }
            return .failure(AIQueryError(.internalError, "could not start llama.cpp's decoding thread"))
        }
        while true {
            if shouldStop() { job.cancelled.set() }
            let result = lock.withLock { () -> Result<LlamaJob.Answer, AIQueryError>? in
                if job.result == nil { lock.wait(seconds: 0.05) }
                return job.result
            }
            if let result { return result }
        }
    }

    /// Stops the thread before the context goes (the model's deinit: no job can be left).
    func close() {
        lock.withLock {
            closing = true
            lock.broadcast()
            while threadStarted && !threadDone { lock.wait(seconds: 0.05) }
        }
    }

    private func spawn() -> Bool {
        let box = Unmanaged.passUnretained(self).toOpaque()
        var thread = pthread_t()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        defer { pthread_attr_destroy(&attributes) }
        return pthread_create(&thread, &attributes, { pointer in
            Unmanaged<LlamaBatcher>.fromOpaque(pointer!).takeUnretainedValue().decode()
            return nil
        }, box) == 0
    }

    /// The decoding thread: admit, step, hand out pieces and answers; park when no job is left.
    private func decode() {
        var events = [aiq_llm_event](repeating: aiq_llm_event(), count: slots.count)
        var error = [CChar](repeating: 0, count: 512)
        while true {
            guard let admitted = admit() else { break }
            for (slot, job) in admitted {
                let status = job.grammar.withOptionalCString { grammar in
                    aiq_llm_start(llm, Int32(slot), job.prompt, Int32(job.prompt.count), job.sampling, grammar, &error, error.count)
                }
                if status == 0 { slots[slot] = job } else { finish(job, .failure(AIQueryError(.invalidArgument, LlamaModel.text(of: error)))) }
            }
            for (slot, job) in slots.enumerated() where job?.cancelled.isSet == true {
                end(slot, .failure(CallControl.cancelledError))
            }
            let count = aiq_llm_step(llm, &events, &error, error.count)
            if count < 0 {
                let failure = AIQueryError(.internalError, LlamaModel.text(of: error))
                for slot in slots.indices where slots[slot] != nil { end(slot, .failure(failure)) }
                continue
            }
            for index in 0..<Int(count) { take(&events[index]) }
        }
        lock.withLock {
            threadDone = true
            lock.broadcast()
        }
    }

    /// Waiting jobs moved into free sequences (cancelled ones answered at once), after parking while there is
    /// nothing to decode; nil when the model is closing.
    private func admit() -> [(Int, LlamaJob)]? {
        lock.withLock {
            while true {
                for job in waiting where job.cancelled.isSet { job.result = .failure(CallControl.cancelledError) }
                if waiting.contains(where: { $0.result != nil }) {
                    waiting.removeAll { $0.result != nil }
                    lock.broadcast()
                }
                if closing { return nil }
                if !waiting.isEmpty || running > 0 { break }
                lock.wait()  // a new job or close() broadcasts
            }
            var admitted: [(Int, LlamaJob)] = []
            for slot in slots.indices where slots[slot] == nil && !waiting.isEmpty {
                admitted.append((slot, waiting.removeFirst()))
            }
            running += admitted.count
            return admitted
        }
    }

    private func take(_ event: inout aiq_llm_event) {
        let slot = Int(event.slot)
        guard let job = slots[slot] else { return }
        let length = Int(event.length)
        var going = withUnsafeBytes(of: &event.piece) { job.sink.take(UnsafeRawBufferPointer(rebasing: $0.prefix(length))) }
        if event.end != AIQ_LLM_END_OF_ANSWER { job.generated += 1 }
        going = going && event.end == AIQ_LLM_GOING
        guard !going else { return }
        let ended = job.sink.hitStop || event.end == AIQ_LLM_END_OF_ANSWER
        end(slot, .success(LlamaJob.Answer(
            text: job.sink.finish(), promptTokens: job.prompt.count, outputTokens: job.generated, finishReason: ended ? "stop" : "length")))
    }

    private func end(_ slot: Int, _ result: Result<LlamaJob.Answer, AIQueryError>) {
        guard let job = slots[slot] else { return }
        aiq_llm_stop(llm, Int32(slot))
        slots[slot] = nil
        finish(job, result)
    }

    /// A job's answer; it leaves the count of running jobs (a job that never got a sequence was counted too).
    private func finish(_ job: LlamaJob, _ result: Result<LlamaJob.Answer, AIQueryError>) {
        lock.withLock {
            job.result = result
            running -= 1
            lock.broadcast()
        }
    }
}

/// One row's prompt and how to sample its answer, and — once done — the answer.
final class LlamaJob: @unchecked Sendable {
    struct Answer {
        var text: String
        var promptTokens: Int
        var outputTokens: Int
        var finishReason: String
    }

    let prompt: [Int32]
    let sampling: aiq_llm_sampling
    let grammar: String?
    /// The leader's only, while the job is in a sequence.
    let sink: PieceSink
    var generated = 0
    let cancelled = SharedFlag()
    /// Under the batcher's lock.
    var result: Result<Answer, AIQueryError>?

    init(prompt: [Int32], sampling: aiq_llm_sampling, grammar: String?, sink: PieceSink) {
        self.prompt = prompt
        self.sampling = sampling
        self.grammar = grammar
        self.sink = sink
    }
}

extension Optional where Wrapped == String {
    fileprivate func withOptionalCString<R>(_ body: (UnsafePointer<CChar>?) -> R) -> R {
        switch self {
        case .some(let text): text.withCString { body($0) }
        case .none: body(nil)
        }
    }
}
