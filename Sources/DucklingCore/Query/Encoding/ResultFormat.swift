import DuckDBKit

/// The formats query results stream in, chosen by the request's `Accept` header.
public enum ResultFormat: String, Sendable, CaseIterable {
    case json, ndjson, csv

    public var contentType: String {
        switch self {
        case .json: "application/json"
        case .ndjson: "application/x-ndjson"
        case .csv: "text/csv; charset=utf-8"
        }
    }

    /// The format an `Accept` header asks for; JSON when it names none of ours.
    public static func negotiate(accept: String?) -> ResultFormat {
        guard let accept = accept?.lowercased() else { return .json }
        let ranked = accept.split(separator: ",").map { $0.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? "" }
        for mediaType in ranked {
            switch mediaType {
            case "application/x-ndjson", "application/ndjson", "application/jsonl": return .ndjson
            case "text/csv": return .csv
            case "application/json", "*/*", "application/*": return .json
            default: continue
            }
        }
        return .json
    }

    func makeEncoder(columns: [Column]) -> any ResultEncoder {
        switch self {
        case .json: JSONResultEncoder(columns: columns)
        case .ndjson: NDJSONResultEncoder(columns: columns)
        case .csv: CSVResultEncoder(columns: columns)
        }
    }
}
