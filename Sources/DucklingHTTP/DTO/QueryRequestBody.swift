import DuckDBKit
import DucklingCore

/// The body of `POST /api/query`.
struct QueryRequestBody: Decodable {
    let sql: String
    let params: Parameters?
    let timeoutMilliseconds: Int?

    enum CodingKeys: String, CodingKey {
        case sql, params
        case timeoutMilliseconds = "timeout_ms"
    }

    /// `[…]` for `$1, $2, …` or `{…}` for `$name` parameters.
    enum Parameters: Decodable {
        case positional([JSONParameter])
        case named([String: JSONParameter])

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let values = try? container.decode([JSONParameter].self) {
                self = .positional(values)
            } else if let values = try? container.decode([String: JSONParameter].self) {
                self = .named(values)
            } else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "params must be an array or an object")
            }
        }

        static func values(_ params: Parameters?) -> QueryRequest.Parameters {
            switch params {
            case nil: .none
            case .positional(let values): .positional(values.map(\.value))
            case .named(let values): .named(values.mapValues(\.value))
            }
        }
    }

    var queryRequest: QueryRequest {
        QueryRequest(sql: sql, parameters: Parameters.values(params), timeoutMilliseconds: timeoutMilliseconds)
    }
}

/// A JSON value given as a query parameter; DuckDB casts it to the parameter's type.
enum JSONParameter: Decodable {
    case null, bool(Bool), integer(Int64), number(Double), string(String)
    case array([JSONParameter]), object([String: JSONParameter])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Int64.self) { self = .integer(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONParameter].self) { self = .array(value) }
        else if let value = try? container.decode([String: JSONParameter].self) { self = .object(value) }
        else { throw DecodingError.dataCorruptedError(in: container, debugDescription: "unsupported parameter value") }
    }

    var value: DuckDBValue {
        switch self {
        case .null: .null
        case .bool(let value): .boolean(value)
        case .integer(let value): .bigint(value)
        case .number(let value): .double(value)
        case .string(let value): .varchar(value)
        case .array(let values): .list(values.map(\.value))
        case .object(let fields):
            .structure(fields.sorted { $0.key < $1.key }.map { DuckDBValue.Field(name: $0.key, value: $0.value.value) })
        }
    }
}
