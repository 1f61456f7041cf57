/// The few SQLite calls the response cache makes, as C function pointers: the extension fills them from the host's
/// API table (it must never link a second SQLite), an executable or an in-process test from a linked libsqlite3.
/// The store's code is the same over both. Each function has the signature of the SQLite call it stands for, with
/// `SQLITE_TRANSIENT` for bound values and a busy timeout set by `open`.
public struct SQLiteAPI: @unchecked Sendable {
    public typealias Connection = OpaquePointer
    public typealias Statement = OpaquePointer

    public var open: @convention(c) (UnsafePointer<CChar>?, UnsafeMutablePointer<OpaquePointer?>?) -> Int32
    public var close: @convention(c) (OpaquePointer?) -> Int32
    public var exec: @convention(c) (OpaquePointer?, UnsafePointer<CChar>?) -> Int32
    public var errmsg: @convention(c) (OpaquePointer?) -> UnsafePointer<CChar>?
    public var prepare: @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, UnsafeMutablePointer<OpaquePointer?>?) -> Int32
    public var step: @convention(c) (OpaquePointer?) -> Int32
    public var reset: @convention(c) (OpaquePointer?) -> Int32
    public var finalize: @convention(c) (OpaquePointer?) -> Int32
    public var bindBlob: @convention(c) (OpaquePointer?, Int32, UnsafeRawPointer?, Int32) -> Int32
    public var bindText: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, Int32) -> Int32
    public var bindInt64: @convention(c) (OpaquePointer?, Int32, Int64) -> Int32
    public var bindDouble: @convention(c) (OpaquePointer?, Int32, Double) -> Int32
    public var bindNull: @convention(c) (OpaquePointer?, Int32) -> Int32
    public var columnType: @convention(c) (OpaquePointer?, Int32) -> Int32
    public var columnBlob: @convention(c) (OpaquePointer?, Int32) -> UnsafeRawPointer?
    public var columnBytes: @convention(c) (OpaquePointer?, Int32) -> Int32
    public var columnInt64: @convention(c) (OpaquePointer?, Int32) -> Int64
    public var columnDouble: @convention(c) (OpaquePointer?, Int32) -> Double
    public var changes: @convention(c) (OpaquePointer?) -> Int32

    public init(
        open: @escaping @convention(c) (UnsafePointer<CChar>?, UnsafeMutablePointer<OpaquePointer?>?) -> Int32,
        close: @escaping @convention(c) (OpaquePointer?) -> Int32,
        exec: @escaping @convention(c) (OpaquePointer?, UnsafePointer<CChar>?) -> Int32,
        errmsg: @escaping @convention(c) (OpaquePointer?) -> UnsafePointer<CChar>?,
        prepare: @escaping @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, UnsafeMutablePointer<OpaquePointer?>?) -> Int32,
        step: @escaping @convention(c) (OpaquePointer?) -> Int32,
        reset: @escaping @convention(c) (OpaquePointer?) -> Int32,
        finalize: @escaping @convention(c) (OpaquePointer?) -> Int32,
        bindBlob: @escaping @convention(c) (OpaquePointer?, Int32, UnsafeRawPointer?, Int32) -> Int32,
        bindText: @escaping @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, Int32) -> Int32,
        bindInt64: @escaping @convention(c) (OpaquePointer?, Int32, Int64) -> Int32,
        bindDouble: @escaping @convention(c) (OpaquePointer?, Int32, Double) -> Int32,
        bindNull: @escaping @convention(c) (OpaquePointer?, Int32) -> Int32,
        columnType: @escaping @convention(c) (OpaquePointer?, Int32) -> Int32,
        columnBlob: @escaping @convention(c) (OpaquePointer?, Int32) -> UnsafeRawPointer?,
        columnBytes: @escaping @convention(c) (OpaquePointer?, Int32) -> Int32,
        columnInt64: @escaping @convention(c) (OpaquePointer?, Int32) -> Int64,
        columnDouble: @escaping @convention(c) (OpaquePointer?, Int32) -> Double,
        changes: @escaping @convention(c) (OpaquePointer?) -> Int32
    ) {
        self.open = open
        self.close = close
        self.exec = exec
        self.errmsg = errmsg
        self.prepare = prepare
        self.step = step
        self.reset = reset
        self.finalize = finalize
        self.bindBlob = bindBlob
        self.bindText = bindText
        self.bindInt64 = bindInt64
        self.bindDouble = bindDouble
        self.bindNull = bindNull
        self.columnType = columnType
        self.columnBlob = columnBlob
        self.columnBytes = columnBytes
        self.columnInt64 = columnInt64
        self.columnDouble = columnDouble
        self.changes = changes
    }

    static let ok: Int32 = 0
    static let row: Int32 = 100
    static let done: Int32 = 101
    static let null: Int32 = 5
}
