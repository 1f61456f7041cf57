/// The call log's tables. `calls` has a row per record, shaped like Databricks' `system.ai_gateway.usage`
/// (`event_time`, `endpoint_name`, `destination_model`, `status_code`, tokens, `latency_ms`, `request_tags`, …);
/// `daily` adds each day's records up per endpoint and door as they are written, so totals over a year read a
/// few hundred rows, and outlive the calls that retention removes.
enum CallLogSchema {
    /// The columns of `calls` after its `id`, in order, with their declarations: the one list the table, its
    /// insert and `ai_usage_log` are made from.
    static let declarations: [(name: String, type: String)] = [
        ("event_time", "REAL NOT NULL"), ("endpoint_name", "TEXT NOT NULL"), ("destination_model", "TEXT"), ("provider", "TEXT"),
        ("door", "TEXT NOT NULL"), ("task", "TEXT"), ("status_code", "INTEGER NOT NULL"), ("error_code", "TEXT"),
        ("error_message", "TEXT"), ("cache_hit", "INTEGER NOT NULL"), ("requests", "INTEGER NOT NULL"),
        ("retries", "INTEGER NOT NULL"), ("input_tokens", "INTEGER"), ("output_tokens", "INTEGER"), ("total_tokens", "INTEGER"),
        ("tokens_estimated", "INTEGER NOT NULL"), ("latency_ms", "REAL"), ("ttft_ms", "REAL"), ("cost_usd", "REAL"),
        ("request_tags", "TEXT"), ("pid", "INTEGER"), ("request", "TEXT"), ("response", "TEXT"),
    ]
    static let columns = declarations.map(\.name)

    static let create = """
        PRAGMA auto_vacuum=INCREMENTAL;
        PRAGMA journal_mode=WAL;
        PRAGMA synchronous=NORMAL;
        PRAGMA journal_size_limit=1048576;
        BEGIN IMMEDIATE;
        CREATE TABLE IF NOT EXISTS calls(id INTEGER PRIMARY KEY, \(declarations.map { "\($0.name) \($0.type)" }.joined(separator: ", ")));
        CREATE INDEX IF NOT EXISTS calls_time ON calls(event_time);
        CREATE TABLE IF NOT EXISTS daily(
            day TEXT NOT NULL, endpoint_name TEXT NOT NULL, door TEXT NOT NULL,
            requests INTEGER NOT NULL, cache_hits INTEGER NOT NULL, errors INTEGER NOT NULL, retries INTEGER NOT NULL,
            input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL, cost_usd REAL,
            latency_ms_sum REAL NOT NULL, latency_count INTEGER NOT NULL, latency_ms_max REAL,
            PRIMARY KEY(day, endpoint_name, door)
        ) WITHOUT ROWID;
        COMMIT;
        """

    static let isReady =
        "SELECT (SELECT journal_mode FROM pragma_journal_mode) = 'wal' AND (SELECT count(*) FROM sqlite_schema WHERE name IN ('calls', 'daily')) = 2"

    /// Appends touch the last pages of `calls` and a few of `daily`: a small page cache does (the default 2 MB
    /// per connection was most of a server's RSS growth in its first minutes).
    static let pragmas = "PRAGMA synchronous=NORMAL; PRAGMA journal_size_limit=1048576; PRAGMA cache_size=-256"

    static let insert =
        "INSERT INTO calls(\(columns.joined(separator: ", "))) VALUES (\(columns.indices.map { "?\($0 + 1)" }.joined(separator: ", ")))"

    /// Binds every column of ``insert`` (NULL where the record has nothing).
    static func bind(_ record: CallRecord, to statement: OpaquePointer?, api: SQLiteAPI) {
        var index: Int32 = 0
        func text(_ value: String?) {
            index += 1
            if let value { _ = api.bindText(statement, index, value, -1) } else { _ = api.bindNull(statement, index) }
        }
        func integer(_ value: Int?) {
            index += 1
            if let value { _ = api.bindInt64(statement, index, Int64(value)) } else { _ = api.bindNull(statement, index) }
        }
        func real(_ value: Double?) {
            index += 1
            if let value, value.isFinite { _ = api.bindDouble(statement, index, value) } else { _ = api.bindNull(statement, index) }
        }
        real(record.eventTime)
        text(record.endpoint)
        text(record.model)
        text(record.provider)
        text(record.door.rawValue)
        text(record.task)
        integer(record.status)
        text(record.errorCode)
        text(record.errorMessage)
        integer(record.cacheHit ? 1 : 0)
        integer(record.requests)
        integer(record.retries)
        integer(record.inputTokens)
        integer(record.outputTokens)
        integer(record.inputTokens == nil && record.outputTokens == nil ? nil : (record.inputTokens ?? 0) + (record.outputTokens ?? 0))
        integer(record.tokensEstimated ? 1 : 0)
        real(record.latencyMs)
        real(record.ttftMs)
        real(record.costUSD)
        text(record.requestTags)
        integer(record.pid)
        text(record.request)
        text(record.response)
    }

    /// The UTC day of a time, `YYYY-MM-DD`.
    static func day(of unixSeconds: Double) -> String {
        var bytes: [UInt8] = []
        appendDay(of: unixSeconds, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `YYYY-MM-DD` as bytes, for formatting a time without a string per part.
    static func appendDay(of unixSeconds: Double, to bytes: inout [UInt8]) {
        // Days since 1970 to a civil date (Howard Hinnant's algorithm): no Foundation, no time zone.
        let z = Int((unixSeconds / 86_400).rounded(.down)) + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let d = dayOfYear - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = min(9999, max(0, yearOfEra + era * 400 + (m <= 2 ? 1 : 0)))
        for divisor in [1000, 100, 10, 1] { bytes.append(UInt8(48 + y / divisor % 10)) }
        bytes.append(45)
        bytes.append(UInt8(48 + m / 10))
        bytes.append(UInt8(48 + m % 10))
        bytes.append(45)
        bytes.append(UInt8(48 + d / 10))
        bytes.append(UInt8(48 + d % 10))
    }

    /// Adds a batch of records to their days' totals. Called inside the batch's write transaction.
    /// - Parameter statement: ``DailyTotals/upsert``, prepared on `connection`.
    static func addToDaily(_ records: [CallRecord], connection: SQLiteConnection, statement: OpaquePointer?) throws(AIQueryError) {
        struct Key: Hashable {
            var day: String
            var endpoint: String
            var door: String
        }
        var totals: [Key: DailyTotals] = [:]
        for record in records {
            totals[Key(day: day(of: record.eventTime), endpoint: record.endpoint, door: record.door.rawValue), default: DailyTotals()].add(record)
        }
        defer { _ = connection.api.reset(statement) }
        for (key, total) in totals {
            _ = connection.api.reset(statement)
            total.bind(day: key.day, endpoint: key.endpoint, door: key.door, to: statement, api: connection.api)
            guard connection.api.step(statement) == SQLiteAPI.done else { throw connection.failure() }
        }
    }
}

/// One day's records of one endpoint and door, added up.
struct DailyTotals {
    /// `rows` are the requests.
    var counts = UsageCounts()
    var cost: Double?
    var latencySum = 0.0
    var latencyCount = 0
    var latencyMax: Double?

    mutating func add(_ record: CallRecord) {
        counts.addRows(record.requests, cacheHits: record.cacheHit ? record.requests : 0, errors: record.status >= 400 ? record.requests : 0)
        counts.retries += record.retries
        counts.addTokens(input: record.inputTokens ?? 0, output: record.outputTokens ?? 0)
        if let cost = record.costUSD { self.cost = (self.cost ?? 0) + cost }
        if let latency = record.latencyMs, latency.isFinite {
            latencySum += latency
            latencyCount += 1
            latencyMax = max(latencyMax ?? latency, latency)
        }
    }

    static let upsert = """
        INSERT INTO daily(day, endpoint_name, door, requests, cache_hits, errors, retries, input_tokens, output_tokens, cost_usd,
            latency_ms_sum, latency_count, latency_ms_max)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
        ON CONFLICT(day, endpoint_name, door) DO UPDATE SET
            requests = requests + excluded.requests, cache_hits = cache_hits + excluded.cache_hits,
            errors = errors + excluded.errors, retries = retries + excluded.retries,
            input_tokens = input_tokens + excluded.input_tokens, output_tokens = output_tokens + excluded.output_tokens,
            cost_usd = CASE WHEN cost_usd IS NULL AND excluded.cost_usd IS NULL THEN NULL
                ELSE coalesce(cost_usd, 0) + coalesce(excluded.cost_usd, 0) END,
            latency_ms_sum = latency_ms_sum + excluded.latency_ms_sum, latency_count = latency_count + excluded.latency_count,
            latency_ms_max = max(coalesce(latency_ms_max, excluded.latency_ms_max), coalesce(excluded.latency_ms_max, latency_ms_max))
        """

    func bind(day: String, endpoint: String, door: String, to statement: OpaquePointer?, api: SQLiteAPI) {
        _ = api.bindText(statement, 1, day, -1)
        _ = api.bindText(statement, 2, endpoint, -1)
        _ = api.bindText(statement, 3, door, -1)
        for (offset, value) in [counts.rows, counts.cacheHits, counts.errors, counts.retries, counts.inputTokens, counts.outputTokens].enumerated() {
            _ = api.bindInt64(statement, Int32(4 + offset), Int64(value))
        }
        if let cost { _ = api.bindDouble(statement, 10, cost) } else { _ = api.bindNull(statement, 10) }
        _ = api.bindDouble(statement, 11, latencySum)
        _ = api.bindInt64(statement, 12, Int64(latencyCount))
        if let latencyMax { _ = api.bindDouble(statement, 13, latencyMax) } else { _ = api.bindNull(statement, 13) }
    }
}
