// The extension's only link to SQLite: the host passes its API table to the entry point and every call below
// goes through it (SQLITE_EXTENSION_INIT1/2). Nothing here links libsqlite3.
#include <string.h>
#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT1
#include "CAIQuery.h"

#define AIQ_EXPORT __attribute__((visibility("default")))

AIQ_EXPORT int sqlite3_aiquery_init(sqlite3 *db, char **pzErrMsg, const sqlite3_api_routines *pApi) {
    SQLITE_EXTENSION_INIT2(pApi);
    int rc = aiq_swift_register(db, pzErrMsg);
    // Background threads and Swift metadata live in this image: it must never be dlclose'd.
    return rc == SQLITE_OK ? SQLITE_OK_LOAD_PERMANENTLY : rc;
}

int aiq_create_function(sqlite3 *db, const char *name, int nArg, int flags, void *pApp, aiq_scalar_fn xFunc,
                        aiq_destroy_fn xDestroy) {
    return sqlite3_create_function_v2(db, name, nArg, flags, pApp, xFunc, NULL, NULL, xDestroy);
}

void aiq_set_error_message(char **pzErrMsg, const char *message) {
    if (pzErrMsg) *pzErrMsg = sqlite3_mprintf("%s", message);
}

void *aiq_user_data(sqlite3_context *ctx) { return sqlite3_user_data(ctx); }
sqlite3 *aiq_context_db(sqlite3_context *ctx) { return sqlite3_context_db_handle(ctx); }
int aiq_libversion_number(void) { return sqlite3_libversion_number(); }
const char *aiq_libversion(void) { return sqlite3_libversion(); }

int aiq_value_type(sqlite3_value *v) { return sqlite3_value_type(v); }
unsigned int aiq_value_subtype(sqlite3_value *v) { return sqlite3_value_subtype(v); }
const unsigned char *aiq_value_text(sqlite3_value *v) { return sqlite3_value_text(v); }
const void *aiq_value_blob(sqlite3_value *v) { return sqlite3_value_blob(v); }
int aiq_value_bytes(sqlite3_value *v) { return sqlite3_value_bytes(v); }
int64_t aiq_value_int64(sqlite3_value *v) { return sqlite3_value_int64(v); }
double aiq_value_double(sqlite3_value *v) { return sqlite3_value_double(v); }

void aiq_result_null(sqlite3_context *ctx) { sqlite3_result_null(ctx); }
void aiq_result_text(sqlite3_context *ctx, const char *text, int n) { sqlite3_result_text(ctx, text, n, SQLITE_TRANSIENT); }
void aiq_result_blob(sqlite3_context *ctx, const void *bytes, int n) { sqlite3_result_blob(ctx, bytes, n, SQLITE_TRANSIENT); }
void aiq_result_int64(sqlite3_context *ctx, int64_t value) { sqlite3_result_int64(ctx, value); }
void aiq_result_double(sqlite3_context *ctx, double value) { sqlite3_result_double(ctx, value); }
void aiq_result_error(sqlite3_context *ctx, const char *message, int n) { sqlite3_result_error(ctx, message, n); }
void aiq_result_subtype(sqlite3_context *ctx, unsigned int subtype) { sqlite3_result_subtype(ctx, subtype); }
void aiq_result_error_code(sqlite3_context *ctx, int code) { sqlite3_result_error_code(ctx, code); }

// ---- The cache connection ----

int aiq_open(const char *path, sqlite3 **db) {
    int rc = sqlite3_open_v2(path, db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
    if (rc == SQLITE_OK) sqlite3_busy_timeout(*db, 10000);
    return rc;
}
int aiq_close(sqlite3 *db) { return sqlite3_close_v2(db); }
int aiq_exec(sqlite3 *db, const char *sql) { return sqlite3_exec(db, sql, NULL, NULL, NULL); }
const char *aiq_errmsg(sqlite3 *db) { return sqlite3_errmsg(db); }
int aiq_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **stmt) {
    return sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, NULL);
}
int aiq_step(sqlite3_stmt *stmt) { return sqlite3_step(stmt); }
int aiq_reset(sqlite3_stmt *stmt) { sqlite3_clear_bindings(stmt); return sqlite3_reset(stmt); }
int aiq_finalize(sqlite3_stmt *stmt) { return sqlite3_finalize(stmt); }
int aiq_bind_blob(sqlite3_stmt *stmt, int index, const void *bytes, int n) {
    return sqlite3_bind_blob(stmt, index, bytes, n, SQLITE_TRANSIENT);
}
int aiq_bind_text(sqlite3_stmt *stmt, int index, const char *text, int n) {
    return sqlite3_bind_text(stmt, index, text, n, SQLITE_TRANSIENT);
}
int aiq_bind_int64(sqlite3_stmt *stmt, int index, int64_t value) { return sqlite3_bind_int64(stmt, index, value); }
int aiq_bind_double(sqlite3_stmt *stmt, int index, double value) { return sqlite3_bind_double(stmt, index, value); }
int aiq_bind_null(sqlite3_stmt *stmt, int index) { return sqlite3_bind_null(stmt, index); }
int aiq_column_type(sqlite3_stmt *stmt, int column) { return sqlite3_column_type(stmt, column); }
const void *aiq_column_blob(sqlite3_stmt *stmt, int column) { return sqlite3_column_blob(stmt, column); }
int aiq_column_bytes(sqlite3_stmt *stmt, int column) { return sqlite3_column_bytes(stmt, column); }
int64_t aiq_column_int64(sqlite3_stmt *stmt, int column) { return sqlite3_column_int64(stmt, column); }
double aiq_column_double(sqlite3_stmt *stmt, int column) { return sqlite3_column_double(stmt, column); }
int aiq_changes(sqlite3 *db) { return sqlite3_changes(db); }

// ---- Per-statement state for scalar functions, kept as auxiliary data on a constant argument. ----

void *aiq_get_auxdata(sqlite3_context *ctx, int argument) { return sqlite3_get_auxdata(ctx, argument); }
void aiq_set_auxdata(sqlite3_context *ctx, int argument, void *data, aiq_destroy_fn xDestroy) {
    sqlite3_set_auxdata(ctx, argument, data, xDestroy);
}

sqlite3_value *aiq_column_value(sqlite3_stmt *stmt, int column) { return sqlite3_column_value(stmt, column); }
int aiq_column_count(sqlite3_stmt *stmt) { return sqlite3_column_count(stmt); }
const char *aiq_column_name(sqlite3_stmt *stmt, int column) { return sqlite3_column_name(stmt, column); }
int aiq_stmt_readonly(sqlite3_stmt *stmt) { return sqlite3_stmt_readonly(stmt); }
sqlite3_stmt *aiq_next_stmt(sqlite3 *db, sqlite3_stmt *previous) { return sqlite3_next_stmt(db, previous); }
int aiq_stmt_busy(sqlite3_stmt *stmt) { return sqlite3_stmt_busy(stmt); }
const char *aiq_sql(sqlite3_stmt *stmt) { return sqlite3_sql(stmt); }
const unsigned char *aiq_column_text(sqlite3_stmt *stmt, int column) { return sqlite3_column_text(stmt, column); }

// SQLite 3.40 has no sqlite3_is_interrupted. While sqlite3_interrupt's flag is up (until every statement on the
// connection has stopped), preparing or stepping any statement fails with SQLITE_INTERRUPT, so a throwaway
// statement tells whether Ctrl-C was pressed. Only call it on the connection's own thread.
int aiq_interrupted(sqlite3 *db) {
    sqlite3_stmt *probe = NULL;
    int rc = sqlite3_prepare_v2(db, "SELECT 1", -1, &probe, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(probe);
        sqlite3_finalize(probe);
    }
    return (rc & 0xff) == SQLITE_INTERRUPT;
}

// ---- The one virtual-table module: eponymous tables whose rows Swift produces one at a time. ----
// The schema's last `argumentCount` columns are HIDDEN arguments (none for a listing); Swift gets the ones given
// (a bit mask says which) when a scan starts and then yields rows until it says the end is reached.

typedef struct {
    sqlite3_vtab base;
    sqlite3 *db;
    void *pApp;
    int firstArgument;
    int argumentCount;
    int rangeColumn;
} StreamTable;

typedef struct {
    sqlite3_vtab_cursor base;
    void *stream;
} StreamCursor;

typedef struct {
    char *schema;
    void *pApp;
    int firstArgument;
    int argumentCount;
    int directOnly;
    int rangeColumn;
    aiq_destroy_fn xDestroy;
} StreamModuleData;

static int streamConnect(sqlite3 *db, void *pAux, int argc, const char *const *argv, sqlite3_vtab **ppVtab,
                         char **pzErr) {
    (void)argc; (void)argv; (void)pzErr;
    StreamModuleData *data = pAux;
    int rc = sqlite3_declare_vtab(db, data->schema);
    if (rc != SQLITE_OK) return rc;
    // Like the network functions: never from views, triggers or schema of an untrusted database file.
    if (data->directOnly) sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
    StreamTable *table = sqlite3_malloc(sizeof(StreamTable));
    if (!table) return SQLITE_NOMEM;
    memset(table, 0, sizeof(*table));
    table->db = db;
    table->pApp = data->pApp;
    table->firstArgument = data->firstArgument;
    table->argumentCount = data->argumentCount;
    table->rangeColumn = data->rangeColumn;
    *ppVtab = &table->base;
    return SQLITE_OK;
}

static int streamDisconnect(sqlite3_vtab *vtab) { sqlite3_free(vtab); return SQLITE_OK; }

static int streamBestIndex(sqlite3_vtab *vtab, sqlite3_index_info *info) {
    StreamTable *table = (StreamTable *)vtab;
    int given = 0, unusable = 0;
    int slot[32];
    for (int i = 0; i < table->argumentCount && i < 32; i++) slot[i] = -1;
    for (int i = 0; i < info->nConstraint; i++) {
        const struct sqlite3_index_constraint *c = &info->aConstraint[i];
        int argument = c->iColumn - table->firstArgument;
        if (argument < 0 || argument >= table->argumentCount || argument >= 32) continue;
        if (c->op != SQLITE_INDEX_CONSTRAINT_EQ) continue;
        if (!c->usable) { unusable |= 1 << argument; continue; }
        slot[argument] = i;
        given |= 1 << argument;
    }
    // An argument that is only available later (from a join) must not be planned without: ask for another plan.
    if (unusable & ~given) return SQLITE_CONSTRAINT;
    int next = 1;
    for (int argument = 0; argument < table->argumentCount && argument < 32; argument++) {
        if (slot[argument] < 0) continue;
        info->aConstraintUsage[slot[argument]].argvIndex = next++;
        info->aConstraintUsage[slot[argument]].omit = 1;
    }
    // A range column's bounds and order are offered to the scan as hints after the arguments (lower bound, then
    // upper); SQLite still checks each row against them, so a scan may return more than they allow, never less.
    if (table->rangeColumn >= 0) {
        int lower = -1, upper = -1;
        for (int i = 0; i < info->nConstraint; i++) {
            const struct sqlite3_index_constraint *c = &info->aConstraint[i];
            if (c->iColumn != table->rangeColumn || !c->usable) continue;
            if ((c->op == SQLITE_INDEX_CONSTRAINT_GT || c->op == SQLITE_INDEX_CONSTRAINT_GE) && lower < 0) lower = i;
            if ((c->op == SQLITE_INDEX_CONSTRAINT_LT || c->op == SQLITE_INDEX_CONSTRAINT_LE) && upper < 0) upper = i;
        }
        if (lower >= 0) { info->aConstraintUsage[lower].argvIndex = next++; given |= AIQ_RANGE_LOWER; }
        if (upper >= 0) { info->aConstraintUsage[upper].argvIndex = next++; given |= AIQ_RANGE_UPPER; }
        if (info->nOrderBy == 1 && info->aOrderBy[0].iColumn == table->rangeColumn) {
            info->orderByConsumed = 1;
            given |= info->aOrderBy[0].desc ? AIQ_RANGE_DESCENDING : AIQ_RANGE_ASCENDING;
        }
        if (lower >= 0 || upper >= 0) {
            info->idxNum = given;
            info->estimatedCost = 100;
            info->estimatedRows = 100;
            return SQLITE_OK;
        }
    }
    info->idxNum = given;
    info->estimatedCost = 1000;
    info->estimatedRows = 1000;
    return SQLITE_OK;
}

static int streamOpen(sqlite3_vtab *vtab, sqlite3_vtab_cursor **ppCursor) {
    (void)vtab;
    StreamCursor *cursor = sqlite3_malloc(sizeof(StreamCursor));
    if (!cursor) return SQLITE_NOMEM;
    memset(cursor, 0, sizeof(*cursor));
    *ppCursor = &cursor->base;
    return SQLITE_OK;
}

static void streamRelease(StreamCursor *cursor) {
    if (cursor->stream) aiq_swift_stream_close(cursor->stream);
    cursor->stream = NULL;
}

static int streamClose(sqlite3_vtab_cursor *cur) {
    streamRelease((StreamCursor *)cur);
    sqlite3_free(cur);
    return SQLITE_OK;
}

static int streamFilter(sqlite3_vtab_cursor *cur, int idxNum, const char *idxStr, int argc, sqlite3_value **argv) {
    (void)idxStr;
    StreamCursor *cursor = (StreamCursor *)cur;
    streamRelease(cursor);
    StreamTable *table = (StreamTable *)cur->pVtab;
    sqlite3_free(table->base.zErrMsg);
    table->base.zErrMsg = NULL;
    cursor->stream = aiq_swift_stream_open(table->pApp, table->db, idxNum, argc, argv, &table->base.zErrMsg);
    if (!cursor->stream) return table->base.zErrMsg ? SQLITE_ERROR : SQLITE_NOMEM;
    return aiq_swift_stream_next(cursor->stream, &table->base.zErrMsg);
}

static int streamNext(sqlite3_vtab_cursor *cur) {
    StreamTable *table = (StreamTable *)cur->pVtab;
    sqlite3_free(table->base.zErrMsg);
    table->base.zErrMsg = NULL;
    return aiq_swift_stream_next(((StreamCursor *)cur)->stream, &table->base.zErrMsg);
}

static int streamEof(sqlite3_vtab_cursor *cur) {
    StreamCursor *cursor = (StreamCursor *)cur;
    return !cursor->stream || aiq_swift_stream_eof(cursor->stream);
}

static int streamColumn(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int column) {
    aiq_swift_stream_cell(((StreamCursor *)cur)->stream, column, ctx);
    return SQLITE_OK;
}

static int streamRowid(sqlite3_vtab_cursor *cur, sqlite_int64 *pRowid) {
    *pRowid = aiq_swift_stream_rowid(((StreamCursor *)cur)->stream);
    return SQLITE_OK;
}

static void streamModuleDestroy(void *p) {
    StreamModuleData *data = p;
    if (data->xDestroy) data->xDestroy(data->pApp);
    sqlite3_free(data->schema);
    sqlite3_free(data);
}

static sqlite3_module streamModule = {
    0, NULL, streamConnect, streamBestIndex, streamDisconnect, NULL, streamOpen, streamClose,
    streamFilter, streamNext, streamEof, streamColumn, streamRowid,
};

int aiq_create_stream_table(sqlite3 *db, const char *name, const char *schema, int firstArgument, int argumentCount,
                            int directOnly, int rangeColumn, void *pApp, aiq_destroy_fn xDestroy) {
    StreamModuleData *data = sqlite3_malloc(sizeof(StreamModuleData));
    if (!data) return SQLITE_NOMEM;
    data->schema = sqlite3_mprintf("%s", schema);
    data->pApp = pApp;
    data->firstArgument = firstArgument;
    data->argumentCount = argumentCount;
    data->directOnly = directOnly;
    data->rangeColumn = rangeColumn;
    data->xDestroy = xDestroy;
    return sqlite3_create_module_v2(db, name, &streamModule, data, streamModuleDestroy);
}
