internal import CDuckDB

/// A batch of rows in DuckDB's columnar layout. Owned here and destroyed once.
public final class DataChunk {
    var handle: duckdb_data_chunk?
    /// The column types, in order.
    public let columns: [Column]
    /// The number of rows.
    public let count: Int

    init(handle: duckdb_data_chunk, columns: [Column]) {
        self.handle = handle
        self.columns = columns
        self.count = Int(duckdb_data_chunk_get_size(handle))
    }

    deinit {
        duckdb_destroy_data_chunk(&handle)
    }

    public var columnCount: Int { columns.count }

    /// The vector of column `index`. It stays valid while this chunk is alive (it keeps the chunk alive).
    public func column(_ index: Int) -> ColumnVector {
        ColumnVector(
            handle: duckdb_data_chunk_get_vector(handle, idx_t(index)),
            type: columns[index].type,
            owner: self)
    }
}

@available(*, unavailable)
extension DataChunk: Sendable {}
