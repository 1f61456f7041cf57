import Glibc

/// One thread that runs a flush a short while after it is asked to (the server's cache write-behind), and a way
/// to run what is due at once, after any flush in progress (before the process exits, or when the queue is long).
/// Its own thread rather than a Dispatch queue: a timer per flush woke Dispatch's manager thread on the request's
/// path. It keeps normal priority: at idle priority it was preempted while holding SQLite's locks, and a lookup
/// waiting for them took 20 ms.
final class BackgroundWriter: @unchecked Sendable {
    private let lock = ConditionLock()
    private let window: Double
    private let name: String
    // Under `lock`:
    private var work: @Sendable () -> Void = {}
    private var requested = false
    private var flushing = false
    private var started = false

    /// - Parameters:
    ///   - window: seconds between a request and its flush, for more work to join it.
    ///   - name: the thread's name, as `top -H` shows it.
    init(window: Double, name: String) {
        self.window = window
        self.name = name
    }

    /// What a flush does; run on the writer's thread (or by ``finish()``), one call at a time.
    func setFlush(_ work: @escaping @Sendable () -> Void) {
        lock.withLock { self.work = work }
    }

    private func flush() {
        lock.withLock { work }()
    }

    /// Asks for a flush soon.
    func request() {
        let start = lock.withLock {
            requested = true
            lock.broadcast()
            defer { started = true }
            return !started
        }
        if start { spawn() }
    }

    /// Runs any flush still due here and now, after one in progress: before the process exits.
    func finish() {
        lock.withLock {
            while flushing { lock.wait() }
            flushing = true
            requested = false
        }
        flush()
        lock.withLock {
            flushing = false
            lock.broadcast()
        }
    }

    private func spawn() {
        let box = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { pointer in
            let writer = Unmanaged<BackgroundWriter>.fromOpaque(pointer!).takeRetainedValue()
            // A thread starts with its creator's name ("NIO-ELT-1-#1" in a server): say what this one is, for top -H.
            if let file = fopen("/proc/thread-self/comm", "w") {
                fputs(writer.name, file)
                fclose(file)
            }
            writer.run()
            return nil
        }, box)
        if rc == 0 {
            pthread_detach(thread)
        } else {
            Unmanaged<BackgroundWriter>.fromOpaque(box).release()
            lock.withLock { started = false }
            finish()  // no thread: do the work here rather than lose it
        }
    }

    private func run() {
        while true {
            lock.withLock {
                while !requested { lock.wait() }
            }
            EndpointLimiter.sleepSeconds(window)
            let due = lock.withLock {
                while flushing { lock.wait() }
                guard requested else { return false }
                requested = false
                flushing = true
                return true
            }
            guard due else { continue }
            flush()
            lock.withLock {
                flushing = false
                lock.broadcast()
            }
        }
    }
}
