extension Setting {
    /// Checks a value given as SQL or JSON (`0.5`, `'0.5'`, `"on"`) against this setting's kind and bounds.
    /// - Parameter label: the name the user wrote it under, for the message (`timeout`, `endpoint 'x': max_retries`).
    public func parse(_ value: JSONValue, label: String) throws(AIQueryError) -> SettingValue {
        let shown: String
        switch value {
        case .string(let text): shown = text
        case .null: shown = "NULL"
        default: shown = value.serialized()
        }
        switch kind {
        case .seconds(let max):
            let number = value.doubleValue ?? value.stringValue.flatMap { Double($0.trimmed()) }
            guard let number, number.isFinite, number > 0, number <= max else {
                throw AIQueryError("\(label) must be a number of seconds greater than 0 and at most \(Self.format(max)), got '\(shown.truncatedForMessage(40))'")
            }
            return .seconds(number)
        case .count(let range):
            let integer: Int64? =
                switch value {
                case .integer(let i): i
                case .double(let d) where d.rounded() == d && abs(d) < 9e18: Int64(d)
                case .string(let text): Int64(text.trimmed())
                default: nil
                }
            guard let integer, integer >= Int64(range.lowerBound), integer <= Int64(range.upperBound) else {
                throw AIQueryError("\(label) must be an integer from \(range.lowerBound) to \(range.upperBound), got '\(shown.truncatedForMessage(40))'")
            }
            return .count(Int(integer))
        case .choice(let choices):
            guard let text = value.stringValue?.lowercased(), choices.contains(text) else {
                let list = choices.dropLast().joined(separator: ", ") + " or " + (choices.last ?? "")
                throw AIQueryError("\(label) must be \(list), got '\(shown.truncatedForMessage(40))'")
            }
            return .choice(text)
        case .tags:
            return .json(try RequestTags.normalized(value, label: label) ?? "{}")
        }
    }

    static func format(_ number: Double) -> String {
        number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
    }
}
