#ifndef DUCKLING_CDUCKDB_SHIM_H
#define DUCKLING_CDUCKDB_SHIM_H
// The pinned DuckDB 1.5.5 C API, installed by scripts/install-duckdb (found through duckdb.pc).
#include <duckdb.h>
#endif
