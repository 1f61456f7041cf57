/// Databricks' task AI functions, by their SQL names. Each one is a fixed request to a chat (or completions)
/// endpoint, or for `ai_similarity` an embeddings endpoint, with an answer that is checked before SQL sees it.
public enum TaskFunction: String, Sendable, CaseIterable {
    case gen = "ai_gen"
    case summarize = "ai_summarize"
    case translate = "ai_translate"
    case fixGrammar = "ai_fix_grammar"
    case analyzeSentiment = "ai_analyze_sentiment"
    case classify = "ai_classify"
    case extract = "ai_extract"
    case mask = "ai_mask"
    case similarity = "ai_similarity"

    public var name: String { rawValue }

    /// The arguments, as the error for a wrong count shows them.
    public var usage: String {
        switch self {
        case .gen: return "ai_gen(prompt)"
        case .summarize: return "ai_summarize(content [, max_words])"
        case .translate: return "ai_translate(content, to_lang)"
        case .fixGrammar: return "ai_fix_grammar(content)"
        case .analyzeSentiment: return "ai_analyze_sentiment(content)"
        case .classify: return "ai_classify(content, labels [, options])"
        case .extract: return "ai_extract(content, labels | schema [, options])"
        case .mask: return "ai_mask(content, labels)"
        case .similarity: return "ai_similarity(expr1, expr2)"
        }
    }

    /// How many SQL arguments it takes.
    public var arity: ClosedRange<Int> {
        switch self {
        case .gen, .fixGrammar, .analyzeSentiment: return 1...1
        case .summarize: return 1...2
        case .translate, .mask, .similarity: return 2...2
        case .classify, .extract: return 2...3
        }
    }

    /// Whether it asks an embeddings endpoint rather than a text model.
    public var usesEmbeddings: Bool { self == .similarity }

    public static let sentiments = ["positive", "negative", "neutral", "mixed"]

    /// ai_translate's languages, as Databricks lists them, by code and by English name.
    public static let languages: [(code: String, name: String)] = [
        ("en", "English"), ("de", "German"), ("fr", "French"), ("it", "Italian"), ("pt", "Portuguese"), ("hi", "Hindi"),
        ("es", "Spanish"), ("th", "Thai"),
    ]
}
