/// Entities a pattern finds better than a small model: e-mail addresses, phone numbers, US social security and
/// credit card numbers (Luhn-checked). `ai_mask` masks these for the labels that name them, beside what the
/// model lists.
enum TaskPatterns {
    static func matches(in text: String, kinds: [String]) -> [String] {
        var found: [String] = []
        for kind in kinds.map({ $0.lowercased().replacingAll(" ", with: "_") }) {
            switch kind {
            case "email", "e-mail", "email_address": found += all(#"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}"#, in: text)
            case "phone", "phone_number", "telephone": found += all(#"\+?\(?\d{1,4}\)?(?:[ .\-]?\(?\d{2,4}\)?){2,5}"#, in: text).filter { $0.filter(\.isNumber).count >= 7 }
            case "ssn", "social_security_number": found += all(#"\b\d{3}-\d{2}-\d{4}\b"#, in: text)
            case "credit_card", "credit_card_number", "card_number": found += all(#"\b(?:\d[ \-]?){12,18}\d\b"#, in: text).filter(luhn)
            default: break
            }
        }
        return found
    }

    private static func all(_ pattern: String, in text: String) -> [String] {
        guard let regex = try? Regex(pattern) else { return [] }
        return text.matches(of: regex).map { String(text[$0.range]).trimmed() }
    }

    private static func luhn(_ candidate: String) -> Bool {
        let digits = candidate.compactMap(\.wholeNumberValue)
        guard (13...19).contains(digits.count) else { return false }
        let sum = digits.reversed().enumerated().reduce(0) { total, item in
            let (index, digit) = item
            let doubled = index % 2 == 1 ? digit * 2 : digit
            return total + (doubled > 9 ? doubled - 9 : doubled)
        }
        return sum % 10 == 0
    }
}
