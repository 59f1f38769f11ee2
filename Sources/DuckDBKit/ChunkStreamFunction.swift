internal import CDuckDB

/// The `chunk_stream(token VARCHAR)` table function, which reads a ``ChunkStream`` as a table.
///
/// Each call hands DuckDB the next queued chunk by reference (`duckdb_vector_reference_vector`):
/// no row is copied on the way, and a statement such as `INSERT INTO t SELECT * FROM chunk_stream(…)`
/// writes the rows with DuckDB's own insert path.
enum ChunkStreamFunction {
    static let name = "chunk_stream"

    static func register(on connection: duckdb_connection) throws {
        var function: duckdb_table_function? = duckdb_create_table_function()
        defer { duckdb_destroy_table_function(&function) }
        guard let function else {
            throw DuckDBError(code: .executionFailed, message: "could not create the \(name) table function")
        }
        duckdb_table_function_set_name(function, name)
        var varchar: duckdb_logical_type? = duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR)
        defer { duckdb_destroy_logical_type(&varchar) }
        duckdb_table_function_add_parameter(function, varchar)
        duckdb_table_function_set_bind(function, chunkStreamBind)
        duckdb_table_function_set_init(function, chunkStreamInit)
        duckdb_table_function_set_function(function, chunkStreamScan)
        guard duckdb_register_table_function(connection, function) == DuckDBSuccess else {
            throw DuckDBError(code: .executionFailed, message: "could not register the \(name) table function")
        }
    }
}

extension Connection {
    /// Makes `chunk_stream(token)` available to every connection of this database.
    public func registerChunkStreamFunction() throws {
        try ChunkStreamFunction.register(on: try handle)
    }
}

/// Finds the stream, declares its columns and keeps the stream alive for the statement.
private func chunkStreamBind(_ info: duckdb_bind_info?) {
    var parameter = duckdb_bind_get_parameter(info, 0)
    defer { duckdb_destroy_value(&parameter) }
    let token = parameter.flatMap { duckdb_get_varchar($0) }.map { takeString($0) }
    var context: duckdb_client_context?
    duckdb_table_function_get_client_context(info, &context)
    let caller = context.map { UInt64(duckdb_client_context_get_connection_id($0)) }
    duckdb_destroy_client_context(&context)
    // A statement on any connection but the stream's own readers learns nothing, not even that the token exists.
    guard let token, let caller, let stream = ChunkStream.registered(token), stream.readers.contains(caller) else {
        duckdb_bind_set_error(info, "\(ChunkStreamFunction.name): no such stream")
        return
    }
    for column in stream.columns {
        do {
            var type: duckdb_logical_type? = try column.type.makeHandle()
            duckdb_bind_add_result_column(info, column.name, type)
            duckdb_destroy_logical_type(&type)
        } catch {
            duckdb_bind_set_error(info, "\(ChunkStreamFunction.name): column \(column.name): \(error)")
            return
        }
    }
    duckdb_bind_set_bind_data(info, Unmanaged.passRetained(stream).toOpaque()) { data in
        guard let data else { return }
        Unmanaged<ChunkStream>.fromOpaque(data).release()
    }
}

private func chunkStreamInit(_ info: duckdb_init_info?) {
    guard let data = duckdb_init_get_bind_data(info) else { return }
    let stream = Unmanaged<ChunkStream>.fromOpaque(data).takeUnretainedValue()
    duckdb_init_set_max_threads(info, idx_t(stream.readerThreads))
}

/// Hands over the next chunk, waiting for it; an empty output ends the scan.
private func chunkStreamScan(_ info: duckdb_function_info?, _ output: duckdb_data_chunk?) {
    guard let data = duckdb_function_get_bind_data(info) else {
        duckdb_function_set_error(info, "\(ChunkStreamFunction.name): no stream bound")
        return
    }
    let stream = Unmanaged<ChunkStream>.fromOpaque(data).takeUnretainedValue()
    do {
        guard let chunk = try stream.next() else {
            duckdb_data_chunk_set_size(output, 0)
            return
        }
        for column in 0..<chunk.columnCount {
            duckdb_vector_reference_vector(
                duckdb_data_chunk_get_vector(output, idx_t(column)),
                duckdb_data_chunk_get_vector(chunk.handle, idx_t(column)))
        }
        duckdb_data_chunk_set_size(output, idx_t(chunk.count))
    } catch let error as DuckDBError {
        duckdb_function_set_error(info, error.message)
    } catch {
        duckdb_function_set_error(info, "\(error)")
    }
}
