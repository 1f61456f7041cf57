/// A small YAML reader for configuration files (MLflow AI Gateway style), written against the Swift stdlib only so
/// the shipped extension stays small. It covers the block and flow styles configs use; it does not aim to be a full
/// YAML 1.2 implementation (no anchors/aliases, tags, complex keys or multiple documents).
public enum YAML {
    /// Parses a YAML document into a JSONValue (mappings → .object in document order, sequences → .array,
    /// plain scalars typed with the YAML 1.2 core schema, quoted scalars always strings).
    public static func parse(_ text: String) throws(YAMLError) -> JSONValue {
        var parser = YAMLParser(text: text)
        return try parser.parseDocument()
    }
}
