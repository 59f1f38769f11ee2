/// One DuckDB value of any type, as read from a result or given as a parameter.
///
/// Temporal values keep DuckDB's own representation (days, microseconds, …) so nothing is lost;
/// ``text`` renders any value exactly as DuckDB's `CAST(… AS VARCHAR)` does.
public indirect enum DuckDBValue: Sendable, Equatable {
    case null
    case boolean(Bool)
    case tinyint(Int8)
    case smallint(Int16)
    case integer(Int32)
    case bigint(Int64)
    case hugeint(Int128)
    case utinyint(UInt8)
    case usmallint(UInt16)
    case uinteger(UInt32)
    case ubigint(UInt64)
    case uhugeint(UInt128)
    case float(Float)
    case double(Double)
    /// An exact decimal: `value / 10^scale`.
    case decimal(Decimal)
    case varchar(String)
    case blob([UInt8])
    case bit(BitString)
    case bignum(BigNum)
    /// A UUID as a 128-bit number (its 32 hex digits read as one big-endian integer).
    case uuid(UInt128)
    /// Days since 1970-01-01; `Int32.max` / `-Int32.max` are ±infinity.
    case date(days: Int32)
    /// Microseconds since midnight.
    case time(micros: Int64)
    /// Nanoseconds since midnight.
    case timeNS(nanos: Int64)
    /// Microseconds since midnight and the UTC offset in seconds.
    case timeTZ(micros: Int64, offsetSeconds: Int32)
    /// Microseconds since the epoch; `Int64.max` / `-Int64.max` are ±infinity (likewise below).
    case timestamp(micros: Int64)
    case timestampS(seconds: Int64)
    case timestampMS(millis: Int64)
    case timestampNS(nanos: Int64)
    /// An instant, microseconds since the epoch in UTC.
    case timestampTZ(micros: Int64)
    case interval(Interval)
    /// The label of an ENUM value.
    case enumeration(String)
    case list([DuckDBValue])
    case array([DuckDBValue])
    case structure([Field])
    case map([MapEntry])
    /// The active member of a UNION and its value.
    case union(tag: String, value: DuckDBValue)
    /// A geometry as little-endian WKB.
    case geometry(wkb: [UInt8])

    public struct Decimal: Sendable, Hashable {
        public let value: Int128
        public let width: Int
        public let scale: Int

        public init(value: Int128, width: Int, scale: Int) {
            self.value = value
            self.width = width
            self.scale = scale
        }
    }

    public struct Interval: Sendable, Hashable {
        public let months: Int32
        public let days: Int32
        public let micros: Int64

        public init(months: Int32, days: Int32, micros: Int64) {
            self.months = months
            self.days = days
            self.micros = micros
        }
    }

    /// A bit string: `count` bits, most significant first.
    public struct BitString: Sendable, Hashable {
        public let bits: [Bool]
        public init(bits: [Bool]) { self.bits = bits }
    }

    /// An arbitrary-precision integer: sign and big-endian magnitude.
    public struct BigNum: Sendable, Hashable {
        public let isNegative: Bool
        public let magnitude: [UInt8]

        public init(isNegative: Bool, magnitude: [UInt8]) {
            self.isNegative = isNegative
            self.magnitude = magnitude
        }
    }

    public struct Field: Sendable, Equatable {
        public let name: String
        public let value: DuckDBValue

        public init(name: String, value: DuckDBValue) {
            self.name = name
            self.value = value
        }
    }

    public struct MapEntry: Sendable, Equatable {
        public let key: DuckDBValue
        public let value: DuckDBValue

        public init(key: DuckDBValue, value: DuckDBValue) {
            self.key = key
            self.value = value
        }
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// True for values of nested types (DuckDB's `IsNested`), which nested text renders unquoted.
    var isNested: Bool {
        switch self {
        case .list, .array, .structure, .map, .union: true
        default: false
        }
    }
}
