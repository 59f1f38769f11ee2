/// Renders DuckDB's temporal values exactly as DuckDB's VARCHAR cast does
/// (`5877642-06-25 (BC)`, `24:00:00-15:59:59`, `infinity`, `83 years 3 months 999 days 00:16:39.999999`).
public enum TemporalText {
    static let microsPerDay: Int64 = 86_400_000_000

    /// A DATE from days since 1970-01-01.
    public static func date(days: Int32) -> String {
        if days == Int32.max { return "infinity" }
        if days == -Int32.max { return "-infinity" }
        var text = ""
        appendDate(days: Int64(days), to: &text)
        return text
    }

    /// A TIME from microseconds since midnight.
    public static func time(micros: Int64) -> String {
        var text = ""
        appendTime(nanos: micros * 1000, to: &text)
        return text
    }

    /// A TIME_NS from nanoseconds since midnight.
    public static func timeNS(nanos: Int64) -> String {
        var text = ""
        appendTime(nanos: nanos, to: &text)
        return text
    }

    /// A TIME WITH TIME ZONE.
    public static func timeTZ(micros: Int64, offsetSeconds: Int32) -> String {
        var text = time(micros: micros)
        text.append(offsetSeconds < 0 ? "-" : "+")
        var seconds = Int(offsetSeconds.magnitude)
        let hours = seconds / 3600
        text.append(hours < 10 ? "0\(hours)" : String(hours))
        seconds %= 3600
        let minutes = seconds / 60
        seconds %= 60
        if minutes != 0 { text.append(":" + twoDigits(minutes)) }
        if seconds != 0 { text.append(":" + twoDigits(seconds)) }
        return text
    }

    /// A TIMESTAMP from microseconds since the epoch.
    public static func timestamp(micros: Int64) -> String {
        timestamp(nanosOf: micros, unitNanos: 1000, timeZoneSuffix: "")
    }

    public static func timestamp(seconds: Int64) -> String {
        timestamp(nanosOf: seconds, unitNanos: 1_000_000_000, timeZoneSuffix: "")
    }

    public static func timestamp(millis: Int64) -> String {
        timestamp(nanosOf: millis, unitNanos: 1_000_000, timeZoneSuffix: "")
    }

    public static func timestamp(nanos: Int64) -> String {
        timestamp(nanosOf: nanos, unitNanos: 1, timeZoneSuffix: "")
    }

    /// A TIMESTAMP WITH TIME ZONE, rendered in UTC (`…+00`), as DuckDB does with `TimeZone='UTC'`.
    public static func timestampTZ(micros: Int64) -> String {
        timestamp(nanosOf: micros, unitNanos: 1000, timeZoneSuffix: "+00")
    }

    /// An INTERVAL.
    public static func interval(months: Int32, days: Int32, micros: Int64) -> String {
        var parts: [String] = []
        func unit(_ value: Int32, _ name: String) {
            guard value != 0 else { return }
            parts.append("\(value) \(name)" + (value == 1 || value == -1 ? "" : "s"))
        }
        if months != 0 {
            let years = months / 12
            unit(years, "year")
            unit(months - years * 12, "month")
        }
        unit(days, "day")
        if micros != 0 {
            var text = micros < 0 ? "-" : ""
            let magnitude = micros.magnitude
            let hours = magnitude / 3_600_000_000
            let minutes = magnitude / 60_000_000 % 60
            let seconds = magnitude / 1_000_000 % 60
            let fraction = magnitude % 1_000_000
            text += hours < 10 ? "0\(hours)" : String(hours)
            text += ":" + twoDigits(Int(minutes)) + ":" + twoDigits(Int(seconds))
            if fraction != 0 { text += "." + trimmedFraction(Int64(fraction), digits: 6) }
            parts.append(text)
        } else if parts.isEmpty {
            return "00:00:00"
        }
        return parts.joined(separator: " ")
    }

    // MARK: - Pieces

    /// Values of `unitNanos` nanoseconds each (1 for TIMESTAMP_NS, 1000 for TIMESTAMP, …).
    private static func timestamp(nanosOf value: Int64, unitNanos: Int64, timeZoneSuffix: String) -> String {
        if value == Int64.max { return "infinity" }
        if value == -Int64.max { return "-infinity" }
        // Split into days and the time of day without overflowing: whole days first, in the unit.
        let unitsPerDay = 86_400_000_000_000 / unitNanos
        var days = value / unitsPerDay
        var rest = value % unitsPerDay
        if rest < 0 {
            days -= 1
            rest += unitsPerDay
        }
        var text = ""
        appendDate(days: days, to: &text)
        text.append(" ")
        appendTime(nanos: rest * unitNanos, to: &text)
        text.append(timeZoneSuffix)
        return text
    }

    /// Proleptic Gregorian civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    static func civil(days: Int64) -> (year: Int64, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = Int(doy - (153 * mp + 2) / 5 + 1)
        let month = Int(mp < 10 ? mp + 3 : mp - 9)
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian civil date.
    public static func days(year: Int64, month: Int, day: Int) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let m = Int64(month)
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    private static func appendDate(days: Int64, to text: inout String) {
        var (year, month, day) = civil(days: days)
        let isBC = year <= 0
        if isBC { year = -year + 1 }
        let digits = String(year)
        if digits.count < 4 { text.append(String(repeating: "0", count: 4 - digits.count)) }
        text.append(digits)
        text.append("-" + twoDigits(month) + "-" + twoDigits(day))
        if isBC { text.append(" (BC)") }
    }

    /// HH:MM:SS with a fraction of up to 9 digits, trailing zeros dropped.
    private static func appendTime(nanos: Int64, to text: inout String) {
        let hours = nanos / 3_600_000_000_000
        let minutes = nanos / 60_000_000_000 % 60
        let seconds = nanos / 1_000_000_000 % 60
        let fraction = nanos % 1_000_000_000
        text.append(twoDigits(Int(hours)) + ":" + twoDigits(Int(minutes)) + ":" + twoDigits(Int(seconds)))
        if fraction != 0 { text.append("." + trimmedFraction(fraction, digits: 9)) }
    }

    private static func trimmedFraction(_ value: Int64, digits: Int) -> String {
        var text = String(value)
        if text.count < digits { text = String(repeating: "0", count: digits - text.count) + text }
        while text.hasSuffix("0") { text.removeLast() }
        return text
    }

    private static func twoDigits(_ value: Int) -> String {
        value < 10 ? "0\(value)" : String(value)
    }
}
