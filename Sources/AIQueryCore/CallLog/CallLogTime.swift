/// The call log's times as text, UTC: `2026-12-04 17:10:03.123`, which sorts and compares like SQLite's
/// `datetime()` and `strftime('%Y-%m-%d %H:%M:%f')` (so `event_time > datetime('now', '-7 days')` works).
public enum CallLogTime {
    public static func text(_ unixSeconds: Double, separator: String = " ", suffix: String = "") -> String {
        let milliseconds = Int64(max(-1e15, min(1e15, (unixSeconds * 1000).rounded(.down))))
        let seconds = milliseconds.floorDivided(by: 1000)
        let millis = Int(milliseconds - seconds * 1000)
        let inDay = Int(seconds - seconds.floorDivided(by: 86_400) * 86_400)
        // Written as bytes: `ai_usage_log` formats every row it reads.
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24 + suffix.utf8.count)
        CallLogSchema.appendDay(of: Double(seconds), to: &bytes)
        bytes.append(contentsOf: separator.utf8)
        func two(_ n: Int) {
            bytes.append(UInt8(48 + n / 10))
            bytes.append(UInt8(48 + n % 10))
        }
        two(inDay / 3600)
        bytes.append(58)
        two(inDay / 60 % 60)
        bytes.append(58)
        two(inDay % 60)
        bytes.append(46)
        bytes.append(UInt8(48 + millis / 100))
        two(millis % 100)
        bytes.append(contentsOf: suffix.utf8)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Unix seconds of `YYYY-MM-DD[( |T)HH:MM[:SS[.fff]]][Z]`, or of a finite number (Unix seconds); nil otherwise.
    public static func seconds(_ text: String) -> Double? {
        if let number = Double(text.trimmed()) { return number.isFinite ? number : nil }
        let bytes = Array(text.trimmed().utf8)
        var index = 0
        func digits(_ count: Int) -> Int? {
            guard index + count <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[index..<index + count] {
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            index += count
            return value
        }
        func skip(_ byte: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }
        guard let year = digits(4), skip(45), let month = digits(2), skip(45), let day = digits(2), (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        var seconds = Double(daysSince1970(year: year, month: month, day: day)) * 86_400
        if skip(32) || skip(84) {
            guard let hour = digits(2), skip(58), let minute = digits(2), hour < 24, minute < 60 else { return nil }
            seconds += Double(hour * 3600 + minute * 60)
            if skip(58) {
                guard let second = digits(2), second < 61 else { return nil }
                seconds += Double(second)
                if skip(46) {
                    var scale = 0.1
                    while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                        seconds += Double(bytes[index] - 48) * scale
                        scale /= 10
                        index += 1
                    }
                }
            }
        }
        _ = skip(90)
        return index == bytes.count ? seconds : nil
    }

    /// Howard Hinnant's days_from_civil.
    static func daysSince1970(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}

extension Int64 {
    /// Division rounded toward minus infinity (times before 1970 too).
    fileprivate func floorDivided(by divisor: Int64) -> Int64 {
        let (quotient, remainder) = quotientAndRemainder(dividingBy: divisor)
        return remainder < 0 ? quotient - 1 : quotient
    }
}
