// The Swift side sees opaque SQLite types and one-line aiq_* wrappers only, never <sqlite3.h>:
// a direct prototype would bind to a second SQLite instead of the host's API table.
#ifndef AIQ_CAIQUERY_H
#define AIQ_CAIQUERY_H
#include <stdint.h>

typedef struct sqlite3 sqlite3;
typedef struct sqlite3_context sqlite3_context;
typedef struct sqlite3_value sqlite3_value;
typedef struct sqlite3_stmt sqlite3_stmt;

enum {
    AIQ_OK = 0,
    AIQ_ERROR = 1,
    AIQ_NOMEM = 7,
    AIQ_INTERRUPT = 9,
    AIQ_ROW = 100,
    AIQ_DONE = 101,
    AIQ_INTEGER = 1,
    AIQ_FLOAT = 2,
    AIQ_TEXT = 3,
    AIQ_BLOB = 4,
    AIQ_NULL = 5,
    AIQ_UTF8 = 1,
    AIQ_DETERMINISTIC = 0x000000800,
    AIQ_DIRECTONLY = 0x000080000,
    AIQ_SUBTYPE = 0x000100000,
    AIQ_INNOCUOUS = 0x000200000,
    AIQ_RESULT_SUBTYPE = 0x001000000,
};

typedef void (*aiq_scalar_fn)(sqlite3_context *, int, sqlite3_value **);
typedef void (*aiq_destroy_fn)(void *);

int aiq_create_function(sqlite3 *db, const char *name, int nArg, int flags, void *pApp, aiq_scalar_fn xFunc,
                        aiq_destroy_fn xDestroy);
void aiq_set_error_message(char **pzErrMsg, const char *message);

void *aiq_user_data(sqlite3_context *ctx);
sqlite3 *aiq_context_db(sqlite3_context *ctx);
int aiq_libversion_number(void);
const char *aiq_libversion(void);

int aiq_value_type(sqlite3_value *v);
unsigned int aiq_value_subtype(sqlite3_value *v);
const unsigned char *aiq_value_text(sqlite3_value *v);
const void *aiq_value_blob(sqlite3_value *v);
int aiq_value_bytes(sqlite3_value *v);
int64_t aiq_value_int64(sqlite3_value *v);
double aiq_value_double(sqlite3_value *v);

void aiq_result_null(sqlite3_context *ctx);
void aiq_result_text(sqlite3_context *ctx, const char *text, int n);
void aiq_result_blob(sqlite3_context *ctx, const void *bytes, int n);
void aiq_result_int64(sqlite3_context *ctx, int64_t value);
void aiq_result_double(sqlite3_context *ctx, double value);
void aiq_result_error(sqlite3_context *ctx, const char *message, int n);
void aiq_result_subtype(sqlite3_context *ctx, unsigned int subtype);
void aiq_result_error_code(sqlite3_context *ctx, int code);

// A private connection for the response cache, opened through the host's API table like everything else.
int aiq_open(const char *path, sqlite3 **db);
int aiq_close(sqlite3 *db);
int aiq_exec(sqlite3 *db, const char *sql);
const char *aiq_errmsg(sqlite3 *db);
int aiq_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **stmt);
int aiq_step(sqlite3_stmt *stmt);
int aiq_reset(sqlite3_stmt *stmt);
int aiq_finalize(sqlite3_stmt *stmt);
int aiq_bind_blob(sqlite3_stmt *stmt, int index, const void *bytes, int n);
int aiq_bind_text(sqlite3_stmt *stmt, int index, const char *text, int n);
int aiq_bind_int64(sqlite3_stmt *stmt, int index, int64_t value);
int aiq_bind_double(sqlite3_stmt *stmt, int index, double value);
int aiq_bind_null(sqlite3_stmt *stmt, int index);
int aiq_column_type(sqlite3_stmt *stmt, int column);
const void *aiq_column_blob(sqlite3_stmt *stmt, int column);
int aiq_column_bytes(sqlite3_stmt *stmt, int column);
int64_t aiq_column_int64(sqlite3_stmt *stmt, int column);
double aiq_column_double(sqlite3_stmt *stmt, int column);
int aiq_changes(sqlite3 *db);

void *aiq_get_auxdata(sqlite3_context *ctx, int argument);
void aiq_set_auxdata(sqlite3_context *ctx, int argument, void *data, aiq_destroy_fn xDestroy);
sqlite3_value *aiq_column_value(sqlite3_stmt *stmt, int column);
int aiq_column_count(sqlite3_stmt *stmt);
const char *aiq_column_name(sqlite3_stmt *stmt, int column);
int aiq_stmt_readonly(sqlite3_stmt *stmt);
/// The connection's prepared statements one after another (NULL starts), whether one is running, and its SQL:
/// what tells a call the user made from one the database's schema made.
sqlite3_stmt *aiq_next_stmt(sqlite3 *db, sqlite3_stmt *previous);
int aiq_stmt_busy(sqlite3_stmt *stmt);
const char *aiq_sql(sqlite3_stmt *stmt);
const unsigned char *aiq_column_text(sqlite3_stmt *stmt, int column);
/// 1 when sqlite3_interrupt was called on the connection (Ctrl-C in the shell); only on the connection's thread.
int aiq_interrupted(sqlite3 *db);

/// Registers an eponymous table whose rows come one at a time from aiq_swift_stream_*. Columns
/// firstArgument ..< firstArgument + argumentCount of the schema are its HIDDEN arguments; directOnly keeps it out
/// of views, triggers and schema. rangeColumn (or -1): a column whose bounds and order the scan is told of
/// (given's AIQ_RANGE_* bits; the bounds follow the arguments in argv).
int aiq_create_stream_table(sqlite3 *db, const char *name, const char *schema, int firstArgument, int argumentCount,
                            int directOnly, int rangeColumn, void *pApp, aiq_destroy_fn xDestroy);

enum {
    AIQ_RANGE_LOWER = 1 << 30,
    AIQ_RANGE_UPPER = 1 << 29,
    AIQ_RANGE_DESCENDING = 1 << 28,
    AIQ_RANGE_ASCENDING = 1 << 27,
};

// Implemented in Swift (@_cdecl): registration and the tables' rows.
int aiq_swift_register(sqlite3 *db, char **pzErrMsg);
void *aiq_swift_stream_open(void *pApp, sqlite3 *db, int given, int argc, sqlite3_value **argv, char **pzErr);
int aiq_swift_stream_next(void *stream, char **pzErr);
int aiq_swift_stream_eof(void *stream);
void aiq_swift_stream_cell(void *stream, int column, sqlite3_context *ctx);
int64_t aiq_swift_stream_rowid(void *stream);
void aiq_swift_stream_close(void *stream);

#endif
