// The system libsqlite3, linked directly: for executables and in-process tests, never for the loadable extension
// (which must use the host's API table). The wrappers give the calls whose C signatures differ from the cache's
// SQLiteAPI (flags, callbacks, destructors) the same shape as the extension's aiq_* functions.
#ifndef AIQ_CSQLITE_SHIM_H
#define AIQ_CSQLITE_SHIM_H
#include <stddef.h>
#include <sqlite3.h>

static inline int aiql_open(const char *path, sqlite3 **db) {
    int rc = sqlite3_open_v2(path, db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
    if (rc == SQLITE_OK) sqlite3_busy_timeout(*db, 10000);
    return rc;
}
static inline int aiql_exec(sqlite3 *db, const char *sql) { return sqlite3_exec(db, sql, NULL, NULL, NULL); }
static inline int aiql_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **stmt) {
    return sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, NULL);
}
static inline int aiql_reset(sqlite3_stmt *stmt) { sqlite3_clear_bindings(stmt); return sqlite3_reset(stmt); }
static inline int aiql_bind_blob(sqlite3_stmt *stmt, int index, const void *bytes, int n) {
    return sqlite3_bind_blob(stmt, index, bytes, n, SQLITE_TRANSIENT);
}
static inline int aiql_bind_text(sqlite3_stmt *stmt, int index, const char *text, int n) {
    return sqlite3_bind_text(stmt, index, text, n, SQLITE_TRANSIENT);
}
#endif
