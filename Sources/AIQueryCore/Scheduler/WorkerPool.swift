// Once a file of this module imports Dispatch, pthread_attr_t's initializer is found through CDispatch (MemberImportVisibility).
import CDispatch
import Glibc

/// Threads for blocking network calls, so SQLite's thread can keep many requests in flight. It grows to the
/// number of jobs waiting (up to `maxThreads`) and threads stay parked for reuse; it never uses Swift's
/// cooperative pool, which must not block on the network.
public final class WorkerPool: @unchecked Sendable {
    private let lock = ConditionLock()
    private var jobs = FIFOQueue<@Sendable () -> Void>()
    private var idle = 0
    private var threads = 0
    private let maxThreads: Int

    public init(maxThreads: Int) { self.maxThreads = maxThreads }

    public func submit(_ job: @escaping @Sendable () -> Void) {
        let startThread = lock.withLock {
            jobs.append(job)
            // One job, one thread: waking every idle thread (up to 256) for it would make them all race for it.
            lock.signal()
            guard jobs.count > idle, threads < maxThreads else { return false }
            threads += 1
            return true
        }
        if startThread { spawn() }
    }

    private func spawn() {
        let box = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        let rc = pthread_create(&thread, &attributes, { pointer in
            Unmanaged<WorkerPool>.fromOpaque(pointer!).takeRetainedValue().work()
            return nil
        }, box)
        pthread_attr_destroy(&attributes)
        if rc != 0 {
            Unmanaged<WorkerPool>.fromOpaque(box).release()
            // No thread: run the job here rather than lose it.
            lock.withLock { threads -= 1 }
            if let job = nextJob(wait: false) { job() }
        }
    }

    private func work() {
        while let job = nextJob(wait: true) { job() }
    }

    private func nextJob(wait: Bool) -> (@Sendable () -> Void)? {
        lock.withLock {
            while jobs.isEmpty {
                guard wait else { return nil }
                idle += 1
                lock.wait()
                idle -= 1
            }
            return jobs.popFirst()
        }
    }
}
