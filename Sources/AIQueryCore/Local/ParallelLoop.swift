#if canImport(Glibc)
import Glibc
#endif

/// Spreads the encoder's non-BLAS work (attention, GELU, LayerNorm) over the cores OpenBLAS uses, with
/// long-lived helper threads that sleep on a condition variable between loops. Without it one core idles
/// while the other does that work, a sixth or so of a large batch's time.
///
/// One loop runs at a time; a caller that finds the helpers busy (another thread embedding) simply runs its
/// loop alone, so concurrent callers never wait on each other here.
final class ParallelLoop: @unchecked Sendable {
    let threadCount: Int
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let busy = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let finished = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var threads: [pthread_t] = []
    // Guarded by `mutex`.
    private var body: ((Int) -> Void)?
    private var chunkCount = 0
    private var nextChunk = 0
    private var running = 0
    private var attached = 0  // helpers holding a copy of `body`
    private var generation = 0
    private var stopping = false

    init(threads: Int) {
        threadCount = max(1, threads)
        pthread_mutex_init(mutex, nil)
        pthread_mutex_init(busy, nil)
        pthread_cond_init(wake, nil)
        pthread_cond_init(finished, nil)
        for _ in 1..<threadCount {
            var thread = pthread_t()
            let context = Unmanaged.passUnretained(self).toOpaque()
            // The helpers hold no reference: deinit stops and joins them before anything is freed.
            let created = pthread_create(&thread, nil, { context in
                Unmanaged<ParallelLoop>.fromOpaque(context!).takeUnretainedValue().helperLoop()
                return nil
            }, context)
            if created == 0 { self.threads.append(thread) }
        }
    }

    deinit {
        pthread_mutex_lock(mutex)
        stopping = true
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)
        for thread in threads { pthread_join(thread, nil) }
        pthread_cond_destroy(wake)
        pthread_cond_destroy(finished)
        pthread_mutex_destroy(mutex)
        pthread_mutex_destroy(busy)
        for pointer in [mutex, busy] { pointer.deallocate() }
        for pointer in [wake, finished] { pointer.deallocate() }
    }

    /// Calls `body(chunk)` for every chunk in 0..<chunks, spread over the threads; returns when all are done.
    /// Chunks must touch disjoint memory.
    func run(chunks: Int, _ body: (Int) -> Void) {
        guard chunks > 1, !threads.isEmpty, pthread_mutex_trylock(busy) == 0 else {
            for chunk in 0..<chunks { body(chunk) }
            return
        }
        defer { pthread_mutex_unlock(busy) }
        withoutActuallyEscaping(body) { body in
            pthread_mutex_lock(mutex)
            self.body = body
            chunkCount = chunks
            nextChunk = 0
            running = 0
            generation &+= 1
            pthread_cond_broadcast(wake)
            pthread_mutex_unlock(mutex)
            work(body)
            // The body must not outlive this call (withoutActuallyEscaping checks): wait until no helper holds it.
            pthread_mutex_lock(mutex)
            while running > 0 || nextChunk < chunkCount || attached > 0 { pthread_cond_wait(finished, mutex) }
            self.body = nil
            pthread_mutex_unlock(mutex)
        }
    }

    /// Takes chunks until none are left.
    private func work(_ body: (Int) -> Void) {
        while true {
            pthread_mutex_lock(mutex)
            guard nextChunk < chunkCount else {
                pthread_mutex_unlock(mutex)
                return
            }
            let chunk = nextChunk
            nextChunk += 1
            running += 1
            pthread_mutex_unlock(mutex)
            body(chunk)
            pthread_mutex_lock(mutex)
            running -= 1
            if running == 0 && nextChunk >= chunkCount && attached == 0 { pthread_cond_signal(finished) }
            pthread_mutex_unlock(mutex)
        }
    }

    private func helperLoop() {
        var seen = 0
        pthread_mutex_lock(mutex)
        while true {
            while generation == seen && !stopping { pthread_cond_wait(wake, mutex) }
            if stopping { break }
            seen = generation
            guard body != nil else { continue }
            attached += 1
            pthread_mutex_unlock(mutex)
            workOnCurrentBody()
            pthread_mutex_lock(mutex)
            attached -= 1
            if attached == 0 && running == 0 && nextChunk >= chunkCount { pthread_cond_signal(finished) }
        }
        pthread_mutex_unlock(mutex)
    }

    /// A function of its own so the helper's copy of the body is released when it returns, before `attached`
    /// drops; `run` cannot clear `body` while a helper is attached.
    @inline(never)
    private func workOnCurrentBody() {
        pthread_mutex_lock(mutex)
        let current = body
        pthread_mutex_unlock(mutex)
        if let current { work(current) }
    }
}
