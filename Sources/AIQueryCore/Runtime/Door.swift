/// The front door a call came in by. It names the door in the call log, and decides the little its plans do
/// differently; everything else about a call is the same whichever door it came in by.
public enum Door: String, Sendable, CaseIterable {
    /// The SQL functions of the loadable extension.
    case sql
    /// `aiquery serve`'s HTTP routes.
    case serve

    /// Seconds for all attempts of one call together unless its endpoint says otherwise: a server's caller is
    /// waiting on an HTTP connection; a SQL statement may run for days.
    var defaultDeadline: Double? { self == .serve ? 600 : nil }

    /// Whether cache hits come with usage, finish reason and the upstream's body: a server replays answers exactly,
    /// SQL needs the output alone.
    var readsDetails: Bool { self == .serve }
}
