import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The extension's runtime: one per process, made on first use, and made again in a process `fork` made.
///
/// A child shares its parent's memory but not its threads: the parent's worker threads, cache writer and model
/// helpers are gone, its kept-alive connections are the parent's sockets (a child reading one gets another
/// process's answer), and its locks may be held by threads that no longer exist. So a child never touches its
/// parent's runtime: its first call makes a fresh one (new threads, connections, cache connections), and the old
/// one is kept, unused, for ever — tearing it down would close sockets and handles its parent still uses.
///
/// Before a fork (`pthread_atfork`'s prepare), the cache's connections are quiesced: the parent waits for a write
/// in progress and ends its read transaction, so that the child can close its copies of them cleanly and open
/// its own (SQLite's per-file lock bookkeeping would otherwise believe the child holds locks it does not).
public enum ProcessRuntime {
    /// The runtime of this process for the SQLite it runs in.
    public static func current(sqlite: SQLiteAPI) -> Runtime {
        slot.withLock {
            if let runtime = slot.runtime, slot.generation == forks.load(ordering: .acquiring) { return runtime }
            if let inherited = slot.runtime {
                // A forked child's first call: the parent's runtime stays as it is, out of use.
                slot.quiesced?.abandonAfterFork()
                slot.quiesced = nil
                slot.quiescedLog?.abandonAfterFork()
                slot.quiescedLog = nil
                slot.abandoned.append(inherited)
            }
            registerForkHandlers
            registerExitFlush
            let runtime = Runtime(sqlite: sqlite, callLog: .configured())
            slot.runtime = runtime
            slot.generation = forks.load(ordering: .acquiring)
            return runtime
        }
    }

    /// Forks seen by this process's children: a runtime made before the last one belongs to an ancestor.
    private static let forks = Atomic<Int>(0)
    /// A pthread mutex, not Swift's `Mutex`: a forked child must be able to release what its parent's forking
    /// thread took before the fork.
    private static let slot = Slot()

    private final class Slot: @unchecked Sendable {
        let lock = ConditionLock()
        var runtime: Runtime?
        var generation = 0
        /// The cache store the prepare handler quiesced: what a child closes its copies of, without touching the
        /// runtime's locks (a parent thread may have held them at the fork).
        var quiesced: SQLiteResponseStore?
        /// The call log the prepare handler quiesced, likewise.
        var quiescedLog: CallLog?
        /// Runtimes of ancestors, never used or freed.
        var abandoned: [Runtime] = []

        func withLock<T>(_ body: () -> T) -> T { lock.withLock(body) }
    }

    /// At a normal exit, what the call log still has queued is written (a SQL statement writes its own records as
    /// it ends; this is for the rest). Never in a forked child that exits with `_exit`, which runs no handlers.
    private static let registerExitFlush: Void = {
        atexit {
            let runtime = ProcessRuntime.slot.lock.withLock { () -> Runtime? in
                ProcessRuntime.slot.generation == ProcessRuntime.forks.load(ordering: .acquiring) ? ProcessRuntime.slot.runtime : nil
            }
            runtime?.openedCallLog?.flush()
        }
    }()

    private static let registerForkHandlers: Void = {
        pthread_atfork(
            {
                let slot = ProcessRuntime.slot
                slot.lock.lock()
                slot.quiesced = slot.runtime?.openedStore
                slot.quiesced?.quiesceForFork()
                slot.quiescedLog = slot.runtime?.openedCallLog
                slot.quiescedLog?.quiesceForFork()
            },
            {
                let slot = ProcessRuntime.slot
                slot.quiesced?.resumeAfterFork()
                slot.quiesced = nil
                slot.quiescedLog?.resumeAfterFork()
                slot.quiescedLog = nil
                slot.lock.unlock()
            },
            {
                ProcessRuntime.forks.add(1, ordering: .releasing)
                ProcessRuntime.slot.lock.unlock()
            })
    }()
}
