/// HTTP dates (RFC 9110 §5.6.7), for a `Retry-After` given as a date: the preferred IMF-fixdate
/// `Sun, 06 Nov 1994 08:49:37 GMT`, the obsolete RFC 850 `Sunday, 06-Nov-94 08:49:37 GMT` and asctime
/// `Sun Nov  6 08:49:37 1994`.
enum HTTPDate {
    static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    /// Seconds since 1970 (UTC), or nil when `text` is no HTTP date.
    static func seconds(_ text: String) -> Double? {
        var words = text.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
        guard words.count >= 4 else { return nil }
        words.removeFirst()  // the weekday, which says nothing the date doesn't
        var day: Int?, month: Int?, year: Int?, clock: [Int]?
        if words.count >= 4, words[0].contains("-") {  // RFC 850: 06-Nov-94 08:49:37 GMT
            let parts = words[0].split(separator: "-").map(String.init)
            guard parts.count == 3 else { return nil }
            (day, month, year, clock) = (Int(parts[0]), monthNumber(parts[1]), Int(parts[2]).map { $0 < 100 ? ($0 < 70 ? 2000 + $0 : 1900 + $0) : $0 }, time(words[1]))
        } else if words.count >= 4, Int(words[0]) != nil {  // IMF-fixdate: 06 Nov 1994 08:49:37 GMT
            (day, month, year, clock) = (Int(words[0]), monthNumber(words[1]), Int(words[2]), time(words[3]))
        } else if words.count >= 4 {  // asctime: Nov 6 08:49:37 1994
            (day, month, year, clock) = (Int(words[1]), monthNumber(words[0]), Int(words[3]), time(words[2]))
        }
        guard let day, let month, let year, let clock, (1...31).contains(day), (1970...9999).contains(year) else { return nil }
        let days = daysSinceEpoch(year: year, month: month, day: day)
        return Double(days * 86_400 + clock[0] * 3600 + clock[1] * 60 + clock[2])
    }

    static func monthNumber(_ name: String) -> Int? {
        months.firstIndex(of: name.lowercased()).map { $0 + 1 }
    }

    static func time(_ text: String) -> [Int]? {
        let parts = text.split(separator: ":").compactMap { Int($0) }
        guard parts.count == 3, (0...23).contains(parts[0]), (0...59).contains(parts[1]), (0...60).contains(parts[2]) else { return nil }
        return parts
    }

    /// Days from 1970-01-01 to a date of the proleptic Gregorian calendar (Howard Hinnant's days_from_civil).
    static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
