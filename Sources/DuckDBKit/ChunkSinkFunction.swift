internal import CDuckDB
#if canImport(Glibc)
import Glibc
#endif

/// The `chunk_sink(token VARCHAR, column ANY, …) → BOOLEAN` scalar function, which copies the
/// columns it is given into a ``ChunkStream`` and returns true for every row.
///
/// A statement such as `SELECT bool_and(chunk_sink('…', a, b, c)) FROM source` hands its rows over
/// on its own threads, in parallel, as its operators produce them; the call waits while the stream
/// is full. The function is volatile, so DuckDB never folds or skips a call.
enum ChunkSinkFunction {
    static let name = "chunk_sink"

    static func register(on connection: duckdb_connection) throws {
        var function: duckdb_scalar_function? = duckdb_create_scalar_function()
        defer { duckdb_destroy_scalar_function(&function) }
        guard let function else {
            throw DuckDBError(code: .executionFailed, message: "could not create the \(name) function")
        }
        duckdb_scalar_function_set_name(function, name)
        var varchar: duckdb_logical_type? = duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR)
        var any: duckdb_logical_type? = duckdb_create_logical_type(DUCKDB_TYPE_ANY)
        var boolean: duckdb_logical_type? = duckdb_create_logical_type(DUCKDB_TYPE_BOOLEAN)
        defer {
            duckdb_destroy_logical_type(&varchar)
            duckdb_destroy_logical_type(&any)
            duckdb_destroy_logical_type(&boolean)
        }
        duckdb_scalar_function_add_parameter(function, varchar)
        duckdb_scalar_function_set_varargs(function, any)
        duckdb_scalar_function_set_return_type(function, boolean)
        duckdb_scalar_function_set_volatile(function)
        // NULLs are data here, not a reason to skip the call.
        duckdb_scalar_function_set_special_handling(function)
        duckdb_scalar_function_set_function(function, chunkSink)
        guard duckdb_register_scalar_function(connection, function) == DuckDBSuccess else {
            throw DuckDBError(code: .executionFailed, message: "could not register the \(name) function")
        }
    }
}

extension Connection {
    /// Makes `chunk_sink(token, …)` available to every connection of this database.
    public func registerChunkSinkFunction() throws {
        try ChunkSinkFunction.register(on: try handle)
    }
}

private func chunkSink(_ info: duckdb_function_info?, _ input: duckdb_data_chunk?, _ output: duckdb_vector?) {
    let count = Int(duckdb_data_chunk_get_size(input))
    guard count > 0 else { return }
    let columnCount = Int(duckdb_data_chunk_get_column_count(input))
    guard let tokenData = duckdb_vector_get_data(duckdb_data_chunk_get_vector(input, 0)) else {
        duckdb_scalar_function_set_error(info, "\(ChunkSinkFunction.name): no stream token")
        return
    }
    let token = String(decoding: ColumnVector.bytes(in: tokenData, at: 0), as: UTF8.self)
    guard let stream = ChunkStream.registered(token) else {
        duckdb_scalar_function_set_error(info, "\(ChunkSinkFunction.name): no such stream")
        return
    }
    let vectors = (1..<columnCount).map { duckdb_data_chunk_get_vector(input, idx_t($0)) }
    // The copy writes into vectors of the stream's types: the input must have exactly those.
    let types = vectors.map { vector -> LogicalType in
        var type = duckdb_vector_get_column_type(vector)
        defer { duckdb_destroy_logical_type(&type) }
        return type.map(LogicalType.init(handle:)) ?? .sqlNull
    }
    guard types == stream.columns.map(\.type) else {
        let error = "\(ChunkSinkFunction.name): columns (\(types.map(\.sqlName).joined(separator: ", "))) differ from the stream's (\(stream.columns.map(\.type.sqlName).joined(separator: ", ")))"
        stream.fail(DuckDBError(code: .invalidValue, message: error))
        duckdb_scalar_function_set_error(info, error)
        return
    }
    guard let chunk = stream.copy(vectors, count: count) else {
        duckdb_scalar_function_set_error(info, "\(ChunkSinkFunction.name): could not allocate a chunk")
        return
    }
    do {
        try stream.push(chunk)
    } catch let error as DuckDBError {
        duckdb_scalar_function_set_error(info, error.message)
        return
    } catch {
        duckdb_scalar_function_set_error(info, "\(error)")
        return
    }
    if let result = duckdb_vector_get_data(output) {
        memset(result, 1, count)
    }
}
