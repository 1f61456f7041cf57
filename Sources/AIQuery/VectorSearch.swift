import AIQueryCore
import CAIQuery

/// `vector_search(index, query [, num_results [, options]])`: the rows of a local table of embeddings nearest a
/// query text, as Databricks' `vector_search` answers from an index. The text is embedded with the task
/// embeddings endpoint (or `options.endpoint`); `index` names a table with an embeddings column (float32 BLOBs,
/// as ai_query returns them), found by name (`embedding`), by being the only BLOB or vector column, or given as
/// `options.column`. A sqlite-vec `vec0` table is searched through its own KNN index; any other table by a full
/// scan with ai_cosine. Columns: `id` (the rowid), `score` (cosine similarity, 1 = same direction) and `row`, the
/// row's other columns as a JSON object.
final class VectorSearch: RowStream {
    static let maxResults = 100
    private var statement: OpaquePointer?
    private var current: (rowid: Int64, score: SQLResult, row: SQLResult)?

    static func open(_ state: ConnectionState, _ db: OpaquePointer, _ arguments: [SQLArgument?]) throws -> any RowStream {
        let example = "e.g. SELECT id, score FROM vector_search('review_vectors', 'battery life', 5)"
        guard case .text(let table, _)? = arguments[0], !table.isEmpty else {
            throw AIQueryError("the index (first argument) names a table of embeddings; \(example)")
        }
        guard let queryArgument = arguments[1], !queryArgument.isNull else {
            throw AIQueryError("the query (second argument) is the text to search for; \(example)")
        }
        guard case .text(let query, _) = queryArgument else { throw AIQueryError("the query must be text, got \(queryArgument.typeName)") }
        let count = try numResults(arguments[2])
        let options = try Options(arguments[3])
        let layout = try TableLayout.read(table, column: options.column, db: db)
        let vector = try embed(query, endpoint: options.endpoint, state: state, db: db)
        return try VectorSearch(layout: layout, vector: vector, count: count, db: db)
    }

    private init(layout: TableLayout, vector: [Float], count: Int, db: OpaquePointer) throws(AIQueryError) {
        let table = layout.table.sqlIdentifier, column = layout.column.sqlIdentifier
        // JSON holds no BLOBs: another BLOB column shows as null.
        let row = "json_object(" + layout.otherColumns.map { name in
            "\(name.sqlLiteral), iif(typeof(\(name.sqlIdentifier)) = 'blob', NULL, \(name.sqlIdentifier))"
        }.joined(separator: ", ") + ")"
        let sql =
            layout.isVec0
            ? "SELECT rowid, ai_cosine(\(column), ?1), \(row) FROM \(table) WHERE \(column) MATCH ?1 AND k = ?2 ORDER BY distance"
            : "SELECT rowid, ai_cosine(\(column), ?1) AS score, \(row) FROM \(table) WHERE typeof(\(column)) = 'blob' AND length(\(column)) = ?3 ORDER BY score DESC LIMIT ?2"
        var prepared: OpaquePointer?
        guard aiq_prepare(db, sql, &prepared) == Int32(AIQ_OK), let prepared else {
            aiq_finalize(prepared)
            throw AIQueryError("cannot search \(layout.table): \(String(cString: aiq_errmsg(db)))")
        }
        statement = prepared
        _ = vector.withUnsafeBytes { aiq_bind_blob(prepared, 1, $0.baseAddress, Int32($0.count)) }
        _ = aiq_bind_int64(prepared, 2, Int64(count))
        _ = aiq_bind_int64(prepared, 3, Int64(vector.count * 4))
    }

    deinit { close() }

    var rowid: Int64 { current?.rowid ?? 0 }

    func cell(_ column: Int) -> SQLResult {
        guard let current else { return .null }
        switch column {
        case 0: return .integer(current.rowid)
        case 1: return current.score
        case 2: return current.row
        default: return .null
        }
    }

    func next() throws -> Bool {
        guard let statement else { return false }
        let rc = aiq_step(statement)
        guard rc == Int32(AIQ_ROW) else {
            close()
            if rc == Int32(AIQ_DONE) { return false }
            throw AIQueryError("searching failed (SQLite error \(rc))")
        }
        let score = SQLResult(SQLArgument(aiq_column_value(statement, 1)))
        let row = String(cString: aiq_column_text(statement, 2))
        current = (aiq_column_int64(statement, 0), score, .json(row))
        return true
    }

    func close() {
        if let statement { aiq_finalize(statement) }
        statement = nil
    }

    private static func numResults(_ argument: SQLArgument?) throws(AIQueryError) -> Int {
        switch argument {
        case nil, .null?: return 10
        case .integer(let n)? where (1...Int64(maxResults)).contains(n): return Int(n)
        default: throw AIQueryError("num_results must be a whole number from 1 to \(maxResults)")
        }
    }

    /// `{"endpoint": …, "column": …}`.
    private struct Options {
        var endpoint: String?
        var column: String?

        init(_ argument: SQLArgument?) throws(AIQueryError) {
            guard let argument, !argument.isNull else { return }
            guard case .text(let text, _) = argument, let members = (try? JSONValue.parse(text))?.objectValue else {
                throw AIQueryError(#"options must be a JSON object such as '{"endpoint": "local-minilm", "column": "embedding"}'"#)
            }
            for (key, value) in members {
                guard let text = value.stringValue, !text.isEmpty else { throw AIQueryError("options.\(key) must be a name") }
                switch key {
                case "endpoint": endpoint = text
                case "column": column = text
                default: throw AIQueryError("unknown option '\(key.truncatedForMessage(40))'; vector_search takes endpoint, column")
                }
            }
        }
    }

    private static func embed(_ query: String, endpoint: String?, state: ConnectionState, db: OpaquePointer) throws -> [Float] {
        let name = try endpoint ?? state.resolvedTaskEndpoints().embeddings
        let plan = try state.plan(endpoint: name, options: CallOptions())
        defer { plan.finishStatement() }
        let interrupt = InterruptCheck(db: db)
        let control = CallControl(isCancelled: { interrupt.isInterrupted() })
        return try TaskPlan(embeddings: plan, control: control, needs: "vector_search").embedding(of: query, control: control)
    }
}

/// Which table, which of its columns holds the embeddings, and whether sqlite-vec indexes it.
struct TableLayout {
    var table: String
    var column: String
    var otherColumns: [String]
    var isVec0: Bool

    static func read(_ table: String, column wanted: String?, db: OpaquePointer) throws(AIQueryError) -> TableLayout {
        var info: OpaquePointer?
        defer { aiq_finalize(info) }
        guard aiq_prepare(db, "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?1", &info) == Int32(AIQ_OK) else {
            throw AIQueryError("cannot read the schema: \(String(cString: aiq_errmsg(db)))")
        }
        _ = aiq_bind_text(info, 1, table, -1)
        guard aiq_step(info) == Int32(AIQ_ROW) else { throw AIQueryError("no table named '\(table.truncatedForMessage(60))' in this database") }
        let sql = aiq_column_text(info, 0).map { String(cString: $0) } ?? ""
        let isVec0 = sql.lowercased().contains("using vec0")
        var columns: [(name: String, type: String)] = []
        var pragma: OpaquePointer?
        defer { aiq_finalize(pragma) }
        guard aiq_prepare(db, "SELECT name, upper(type) FROM pragma_table_info(?1)", &pragma) == Int32(AIQ_OK) else {
            throw AIQueryError("cannot read the columns of \(table): \(String(cString: aiq_errmsg(db)))")
        }
        _ = aiq_bind_text(pragma, 1, table, -1)
        while aiq_step(pragma) == Int32(AIQ_ROW) {
            columns.append((String(cString: aiq_column_text(pragma, 0)), aiq_column_text(pragma, 1).map { String(cString: $0) } ?? ""))
        }
        let column: String
        if let wanted {
            guard columns.contains(where: { $0.name == wanted }) else { throw AIQueryError("table \(table) has no column '\(wanted.truncatedForMessage(60))'") }
            column = wanted
        } else if let named = columns.first(where: { $0.name.lowercased() == "embedding" }) {
            column = named.name
        } else {
            let vectors = columns.filter { $0.type == "BLOB" || $0.type.hasPrefix("FLOAT[") }
            guard vectors.count == 1 else {
                throw AIQueryError(
                    #"cannot tell which column of \#(table) holds the embeddings; name it: vector_search('\#(table)', 'query', 10, '{"column": "vec"}')"#)
            }
            column = vectors[0].name
        }
        // vec0 lists its rowid as a column: it is `id` already.
        let others = columns.map(\.name).filter { $0 != column && !(isVec0 && $0 == "rowid") }
        return TableLayout(table: table, column: column, otherColumns: others, isVec0: isVec0)
    }
}
