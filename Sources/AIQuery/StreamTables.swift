import AIQueryCore
import CAIQuery

/// A table-valued function whose rows are produced one at a time while SQLite reads them.
struct SQLStreamTable: Sendable {
    var name: String
    /// Visible columns first, then the HIDDEN argument columns.
    var schema: String
    var firstArgument: Int32
    var argumentCount: Int32
    /// Starts a scan with the arguments given (nil where one was left out).
    var open: @Sendable (ConnectionState, OpaquePointer, [SQLArgument?]) throws -> any RowStream
}

/// One scan of a stream table. All of it runs on the connection's thread.
protocol RowStream: AnyObject {
    /// Moves to the next row; false at the end.
    func next() throws -> Bool
    func cell(_ column: Int) -> SQLResult
    var rowid: Int64 { get }
    func close()
}

let streamTables: [SQLStreamTable] = [
    SQLStreamTable(
        name: "ai_query_rows",
        schema: "CREATE TABLE x(id, request, response, endpoint HIDDEN, query HIDDEN, options HIDDEN)",
        firstArgument: 3, argumentCount: 3, open: QueryRows.open),
]

final class StreamTableBox {
    let table: SQLStreamTable
    let state: ConnectionState
    init(_ table: SQLStreamTable, _ state: ConnectionState) {
        self.table = table
        self.state = state
    }
}

let releaseStreamTableBox: @convention(c) (UnsafeMutableRawPointer?) -> Void = { pointer in
    guard let pointer else { return }
    Unmanaged<StreamTableBox>.fromOpaque(pointer).release()
}

/// The scan the C cursor holds: the stream, whether it has ended, and which table it belongs to (for messages).
private final class StreamScan {
    let stream: any RowStream
    let name: String
    var atEnd = false
    init(_ stream: any RowStream, name: String) {
        self.stream = stream
        self.name = name
    }
}

private func setError(_ error: any Error, name: String, _ errorMessage: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    let aiError = error as? AIQueryError
    aiq_set_error_message(errorMessage, "\(name): \(aiError?.message ?? "\(error)")")
    return aiError?.interrupted == true ? Int32(AIQ_INTERRUPT) : Int32(AIQ_ERROR)
}

@_cdecl("aiq_swift_stream_open")
func streamOpen(
    _ pointer: UnsafeMutableRawPointer?, _ db: OpaquePointer?, _ given: Int32, _ argc: Int32,
    _ argv: UnsafeMutablePointer<OpaquePointer?>?, _ errorMessage: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> UnsafeMutableRawPointer? {
    guard let pointer, let db else { return nil }
    let box = Unmanaged<StreamTableBox>.fromOpaque(pointer).takeUnretainedValue()
    var arguments: [SQLArgument?] = []
    var next = 0
    for index in 0..<Int(box.table.argumentCount) {
        if given & (1 << index) != 0, next < Int(argc) {
            arguments.append(SQLArgument(argv?[next]))
            next += 1
        } else {
            arguments.append(nil)
        }
    }
    do {
        let stream = try box.table.open(box.state, db, arguments)
        return Unmanaged.passRetained(StreamScan(stream, name: box.table.name)).toOpaque()
    } catch {
        _ = setError(error, name: box.table.name, errorMessage)
        return nil
    }
}

@_cdecl("aiq_swift_stream_next")
func streamNext(_ pointer: UnsafeMutableRawPointer?, _ errorMessage: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    guard let pointer else { return Int32(AIQ_ERROR) }
    let scan = Unmanaged<StreamScan>.fromOpaque(pointer).takeUnretainedValue()
    do {
        scan.atEnd = try !scan.stream.next()
        return Int32(AIQ_OK)
    } catch {
        scan.atEnd = true
        return setError(error, name: scan.name, errorMessage)
    }
}

@_cdecl("aiq_swift_stream_eof")
func streamEof(_ pointer: UnsafeMutableRawPointer?) -> Int32 {
    guard let pointer else { return 1 }
    return Unmanaged<StreamScan>.fromOpaque(pointer).takeUnretainedValue().atEnd ? 1 : 0
}

@_cdecl("aiq_swift_stream_cell")
func streamCell(_ pointer: UnsafeMutableRawPointer?, _ column: Int32, _ context: OpaquePointer?) {
    guard let pointer else { return aiq_result_null(context) }
    Unmanaged<StreamScan>.fromOpaque(pointer).takeUnretainedValue().stream.cell(Int(column)).store(in: context)
}

@_cdecl("aiq_swift_stream_rowid")
func streamRowid(_ pointer: UnsafeMutableRawPointer?) -> Int64 {
    guard let pointer else { return 0 }
    return Unmanaged<StreamScan>.fromOpaque(pointer).takeUnretainedValue().stream.rowid
}

@_cdecl("aiq_swift_stream_close")
func streamClose(_ pointer: UnsafeMutableRawPointer?) {
    guard let pointer else { return }
    let scan = Unmanaged<StreamScan>.fromOpaque(pointer).takeRetainedValue()
    scan.stream.close()
}
