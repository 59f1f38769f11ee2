import DuckDBKit

/// The formats query results stream in, chosen by the request's `Accept` header or `?format=`.
public enum ResultFormat: String, Sendable, CaseIterable {
    case json, ndjson, csv, parquet, arrow

    public var contentType: String {
        switch self {
        case .json: "application/json"
        case .ndjson: "application/x-ndjson"
        case .csv: "text/csv; charset=utf-8"
        case .parquet: "application/vnd.apache.parquet"
        case .arrow: "application/vnd.apache.arrow.stream"
        }
    }

    /// The name a downloaded result gets (`result.parquet`).
    public var fileExtension: String {
        switch self {
        case .json: "json"
        case .ndjson: "ndjson"
        case .csv: "csv"
        case .parquet: "parquet"
        case .arrow: "arrows"
        }
    }

    /// The format a request asks for: `?format=` when given (nil if it names none of ours), else
    /// the first media type of `Accept` that is ours, else JSON.
    public static func negotiate(accept: String?, format: String? = nil) -> ResultFormat? {
        if let format { return ResultFormat(rawValue: format.lowercased()) }
        guard let accept = accept?.lowercased() else { return .json }
        let ranked = accept.split(separator: ",").map { $0.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? "" }
        for mediaType in ranked {
            switch mediaType {
            case "application/x-ndjson", "application/ndjson", "application/jsonl": return .ndjson
            case "text/csv": return .csv
            case "application/vnd.apache.parquet", "application/parquet", "application/x-parquet": return .parquet
            case "application/vnd.apache.arrow.stream", "application/vnd.apache.arrow": return .arrow
            case "application/json", "*/*", "application/*": return .json
            default: continue
            }
        }
        return .json
    }

    /// The encoder of a result in this format; Parquet is written by DuckDB (``ParquetStream``).
    func makeEncoder(for result: QueryResult) throws -> any ResultEncoder {
        switch self {
        case .json: JSONResultEncoder(columns: result.columns)
        case .ndjson: NDJSONResultEncoder(columns: result.columns)
        case .csv: CSVResultEncoder(columns: result.columns)
        case .arrow: try ArrowResultEncoder(result: result)
        case .parquet: preconditionFailure("Parquet results are written by ParquetStream")
        }
    }
}
