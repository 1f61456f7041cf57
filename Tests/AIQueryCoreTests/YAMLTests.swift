import Testing
@testable import AIQueryCore

// MARK: Helpers

/// A canonical text form that shows key order and integer-vs-double (JSONValue's == ignores both), so a failing
/// comparison prints a readable diff. Strings use Swift's debugDescription (so `'` shows as `\'`).
private func render(_ value: JSONValue) -> String {
    switch value {
    case .null: return "null"
    case .bool(let b): return "\(b)"
    case .integer(let i): return "\(i)"
    case .double(let d): return "\(d)d"
    case .string(let s): return s.debugDescription
    case .array(let items): return "[" + items.map(render).joined(separator: ", ") + "]"
    case .object(let members):
        return "{" + members.map { "\($0.0.debugDescription): \(render($0.1))" }.joined(separator: ", ") + "}"
    }
}

private func obj(_ members: KeyValuePairs<String, JSONValue>) -> JSONValue { .object(members.map { ($0.key, $0.value) }) }
private func str(_ s: String) -> JSONValue { .string(s) }
private func arr(_ items: JSONValue...) -> JSONValue { .array(items) }

/// Parses and renders, or renders the error, so every expectation is one string comparison.
private func parsed(_ text: String) -> String {
    do { return render(try YAML.parse(text)) } catch { return "error: \(error)" }
}

private func parseError(_ text: String) -> YAMLError? {
    do {
        _ = try YAML.parse(text)
        return nil
    } catch {
        return error
    }
}

private let mlflowConfig = """
    # comment
    endpoints:
      - name: chat            # trailing comment
        endpoint_type: llm/v1/chat
        model:
          provider: openai
          name: gpt-4o-mini
          config:
            openai_api_key: $OPENAI_API_KEY
            openai_api_base: "http://127.0.0.1:8080/v1"
        limit:
          renewal_period: minute
          calls: 10
      - name: embeddings
        endpoint_type: llm/v1/embeddings
        model: {provider: openai, name: text-embedding-3-small, config: {openai_api_key: $OPENAI_API_KEY}}
        limit: {renewal_period: minute, calls: 10}
        tags: [a, "b c", 3]

    """

@Suite struct YAMLTests {
    // MARK: The key use case

    @Test func mlflowGatewayConfig() throws {
        let expected = obj([
            "endpoints": arr(
                obj([
                    "name": str("chat"),
                    "endpoint_type": str("llm/v1/chat"),
                    "model": obj([
                        "provider": str("openai"),
                        "name": str("gpt-4o-mini"),
                        "config": obj([
                            "openai_api_key": str("$OPENAI_API_KEY"),
                            "openai_api_base": str("http://127.0.0.1:8080/v1"),
                        ]),
                    ]),
                    "limit": obj(["renewal_period": str("minute"), "calls": .integer(10)]),
                ]),
                obj([
                    "name": str("embeddings"),
                    "endpoint_type": str("llm/v1/embeddings"),
                    "model": obj([
                        "provider": str("openai"),
                        "name": str("text-embedding-3-small"),
                        "config": obj(["openai_api_key": str("$OPENAI_API_KEY")]),
                    ]),
                    "limit": obj(["renewal_period": str("minute"), "calls": .integer(10)]),
                    "tags": arr(str("a"), str("b c"), .integer(3)),
                ])
            ),
        ])
        let value = try YAML.parse(mlflowConfig)
        #expect(render(value) == render(expected))
        #expect(value == expected)
        #expect(value["endpoints"]?[1]?["limit"]?["calls"]?.int64Value == 10)
    }

    @Test func windowsLineEndingsAndByteOrderMark() {
        let crlf = mlflowConfig.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\r\n")
        #expect(parsed(crlf) == parsed(mlflowConfig))
        #expect(parsed("\u{FEFF}a: 1\r\nb:\r\n  - x\r\n") == #"{"a": 1, "b": ["x"]}"#)
    }

    // MARK: Scalars

    @Test(arguments: [
        // null
        ("", "null"), ("~", "null"), ("null", "null"), ("Null", "null"), ("NULL", "null"),
        // bool: only true/false in three spellings (YAML 1.2 core schema, so yes/no/on stay strings)
        ("true", "true"), ("True", "true"), ("TRUE", "true"),
        ("false", "false"), ("False", "false"), ("FALSE", "false"),
        ("tRUE", #""tRUE""#), ("yes", #""yes""#), ("off", #""off""#),
        // integers
        ("0", "0"), ("42", "42"), ("-17", "-17"), ("+8", "8"), ("007", "7"),
        ("9223372036854775807", "9223372036854775807"), ("-9223372036854775808", "-9223372036854775808"),
        ("9223372036854775808", "9.223372036854776e+18d"),
        ("0x1F", "31"), ("0xff", "255"), ("0o17", "15"),
        ("0x", #""0x""#), ("0xZZ", #""0xZZ""#), ("0x-1", #""0x-1""#), ("0b101", #""0b101""#),
        // floats
        ("1.5", "1.5d"), ("-2e3", "-2000.0d"), (".5", "0.5d"), ("1.", "1.0d"), ("1e3", "1000.0d"),
        ("6.02E+23", "6.02e+23d"), ("-0.0", "-0.0d"),
        (".inf", "infd"), (".Inf", "infd"), ("+.INF", "infd"), ("-.inf", "-infd"),
        (".nan", "nand"), (".NaN", "nand"), (".NAN", "nand"),
        ("inf", #""inf""#), ("nan", #""nan""#), ("1.2.3", #""1.2.3""#), ("1e", #""1e""#), ("12abc", #""12abc""#),
        ("0x1p3", #""0x1p3""#), ("1_000", #""1_000""#),
        // plain strings, including indicators we accept as plain text (anchors, aliases, tags are not supported)
        ("hello world", #""hello world""#), ("$OPENAI_API_KEY", #""$OPENAI_API_KEY""#),
        ("a#b", #""a#b""#), ("http://127.0.0.1:8080/v1", #""http://127.0.0.1:8080/v1""#), ("12:30", #""12:30""#),
        ("&anchor value", #""&anchor value""#), ("*alias", #""*alias""#), ("!tag x", #""!tag x""#), ("@x", #""@x""#),
        ("llm/v1/chat", #""llm/v1/chat""#), ("-1x", #""-1x""#), ("héllo wörld ✓", #""héllo wörld ✓""#),
        // quoted scalars are always strings
        (#""123""#, #""123""#), ("'true'", #""true""#), ("''", #""""#), (#""""#, #""""#), ("'~'", #""~""#),
        ("'it''s'", #""it\'s""#), (#"'a\nb'"#, #""a\\nb""#),
        (#""a\"b\\c\n\t\/""#, #""a\"b\\c\n\t/""#), (#""caf\u00e9 \x41 \U0001F600""#, #""café A 😀""#),
        (#""\uD83D\uDE00""#, #""😀""#), (#""\0\a\b\v\f\r\e\ \N\_\L\P""#, "\u{0}\u{7}\u{8}\u{B}\u{C}\r\u{1B} \u{85}\u{A0}\u{2028}\u{2029}".debugDescription),
        (##""# not a comment""##, ##""# not a comment""##), ("'a # b'", #""a # b""#), (#"  "padded"  # c"#, #""padded""#),
    ])
    func scalar(yaml: String, expected: String) {
        #expect(parsed("v: \(yaml)\n") == "{\"v\": \(expected)}")
    }

    @Test func scalarDocuments() {
        #expect(parsed("plain text") == #""plain text""#)
        #expect(parsed("42\n") == "42")
        #expect(parsed("'quoted'  # comment") == #""quoted""#)
        #expect(parsed("") == "null")
        #expect(parsed("\n\n  \n") == "null")
        #expect(parsed("# only a comment\n  # another\n") == "null")
    }

    // MARK: Mappings and sequences

    @Test func blockMappings() {
        #expect(parsed("a: 1\nb:\n  c: x\n  d:\n    e: true\nf: 2\n") == #"{"a": 1, "b": {"c": "x", "d": {"e": true}}, "f": 2}"#)
        #expect(parsed("empty:\nnext: 1\nlast:") == #"{"empty": null, "next": 1, "last": null}"#)
        #expect(parsed("\"a b\": 1\n'c''d': 2\n\"k:x\": 3\n\"\": 4\n") == #"{"a b": 1, "c\'d": 2, "k:x": 3, "": 4}"#)
        #expect(parsed("a  : 1\n1: one\nnull: n\nключ: значение\n") == #"{"a": 1, "1": "one", "null": "n", "ключ": "значение"}"#)
        #expect(parsed("a: 1\nb: 2\na: 3\n") == #"{"a": 3, "b": 2}"#)  // duplicate keys: last one wins
        #expect(parsed("  indented: 1\n  root: 2\n") == #"{"indented": 1, "root": 2}"#)
    }

    @Test func nestedSequencesOfMappings() {
        let yaml = """
            - name: a
              items:
                - x: 1
                  y: 2
                - x: 3
              flags:
              - on
              - off
            - name: b
            - - 1
              - 2
            -
              k: v
            -
            - - - deep
            """
        #expect(parsed(yaml) == #"""
            [{"name": "a", "items": [{"x": 1, "y": 2}, {"x": 3}], "flags": ["on", "off"]}, {"name": "b"}, [1, 2], {"k": "v"}, null, [["deep"]]]
            """#)
    }

    @Test func sequenceAtItsKeysIndentation() {
        #expect(parsed("key:\n- a\n- b\nother: c\n") == #"{"key": ["a", "b"], "other": "c"}"#)
        #expect(parsed("- key:\n  - a\n  other: 1\n- 2\n") == #"[{"key": ["a"], "other": 1}, 2]"#)
        #expect(parsed("list:\n    - 1\n    -   2   # spaced\n") == #"{"list": [1, 2]}"#)
    }

    // MARK: Flow collections

    @Test func flowCollections() {
        #expect(parsed("{a: 1, b: {c: 2}}") == #"{"a": 1, "b": {"c": 2}}"#)
        #expect(parsed(#"[1, two, "three", 'four', 5.5, null, true]"#) == #"[1, "two", "three", "four", 5.5d, null, true]"#)
        #expect(parsed("a: []\nb: {}\nc: [[], {}]") == #"{"a": [], "b": {}, "c": [[], {}]}"#)
        #expect(parsed("[a, [b, [c]], {d: e, f: [g]}]") == #"["a", ["b", ["c"]], {"d": "e", "f": ["g"]}]"#)
        #expect(parsed("[a, b, ]") == #"["a", "b"]"#)  // trailing comma
        #expect(parsed("{a, b: , c:}") == #"{"a": null, "b": null, "c": null}"#)
        #expect(parsed(#"{"a":1, 'b': [x], "c" : {}}"#) == #"{"a": 1, "b": ["x"], "c": {}}"#)  // JSON-style
        #expect(parsed("[a: 1, b, 'c': [2]]") == #"[{"a": 1}, "b", {"c": [2]}]"#)  // single-pair mappings
        #expect(parsed("[http://x/y?q=1#frag, a:b, 'q, r']") == #"["http://x/y?q=1#frag", "a:b", "q, r"]"#)
        #expect(parsed("{a:1}") == #"{"a:1": null}"#)  // YAML needs a space after ':' for a plain key
        #expect(parsed("k: [a, b]  # comment") == #"{"k": ["a", "b"]}"#)
        #expect(parsed("k: [a, b]# comment") == #"{"k": ["a", "b"]}"#)  // PyYAML accepts this too
    }

    @Test func multiLineFlowCollections() {
        let yaml = """
            tags: [
              a,   # first
              "b",
              {c: 1,
               d: [2, 3]},
            ]
            model: {
              provider: openai
            }
            next: 1
            """
        #expect(parsed(yaml) == #"{"tags": ["a", "b", {"c": 1, "d": [2, 3]}], "model": {"provider": "openai"}, "next": 1}"#)
        // Emitters wrap long plain values inside brackets; the pieces fold with a space.
        #expect(parsed("k: [a long\n    value, b, {c: d\n  e}]\n") == #"{"k": ["a long value", "b", {"c": "d e"}]}"#)
        #expect(parsed("k: [# comment\n  a,\n  # another\n  b]") == #"{"k": ["a", "b"]}"#)
    }

    // MARK: Comments, quotes, multi-line scalars

    @Test func commentsAndQuotes() {
        let yaml = """
            # leading comment

            a: 1 # trailing
              # indented comment line
            b: "x # y"   # comment
            c: 'it''s' # comment
            d: a#b
            e: # comment on an empty value
            f:
              # comment before the nested mapping
              g: 1   

            # comment between keys
            h: "#"
            i: "v"# comment right after the quote
            """
        #expect(parsed(yaml) == ##"{"a": 1, "b": "x # y", "c": "it\'s", "d": "a#b", "e": null, "f": {"g": 1}, "h": "#", "i": "v"}"##)
    }

    @Test func multiLineScalars() {
        #expect(parsed("k: a\n  b\n\n  c\nn: 1\n") == #"{"k": "a b\nc", "n": 1}"#)
        #expect(parsed("- a\n  b\n- c\n") == #"["a b", "c"]"#)
        #expect(parsed("k: \"a\n  b\\\n  c\"\nn: 1\n") == #"{"k": "a bc", "n": 1}"#)
        #expect(parsed("k: 'a   \n\n   b'\n") == #"{"k": "a\nb"}"#)
        #expect(parsed("k:\n  just\n  text\n") == #"{"k": "just text"}"#)
    }

    // MARK: Document markers

    @Test func documentMarkers() {
        #expect(parsed("---\na: 1\n") == #"{"a": 1}"#)
        #expect(parsed("# c\n--- # start\na: 1\n...\n# trailing comment\n") == #"{"a": 1}"#)
        #expect(parsed("---\n") == "null")
        #expect(parsed("--- [1, 2]\n") == "[1, 2]")
        #expect(parsed("%YAML 1.2\n---\na: 1\n") == #"{"a": 1}"#)
        #expect(parsed("a: ---x\n") == #"{"a": "---x"}"#)
    }

    // MARK: Block scalars

    @Test func blockScalars() {
        let yaml = """
            lit: |
              line 1
                indented
              line 3

            folded: >
              a
              b

              c
            strip: |-
              x
            keep: |+
              y

            more: >
              p
                q
              r
            explicit: |2
                four
              two
            empty: |
            code: |  # a comment on the header
              # not a comment
              x: [y
            after: 1
            """
        #expect(parsed(yaml) == #"""
            {"lit": "line 1\n  indented\nline 3\n", "folded": "a b\nc\n", "strip": "x", "keep": "y\n\n", "more": "p\n  q\nr\n", "explicit": "  four\ntwo\n", "empty": "", "code": "# not a comment\nx: [y\n", "after": 1}
            """#)
        #expect(parsed("- |\n  a\n  b\n- >-\n  c\n  d\n- e\n") == #"["a\nb\n", "c d", "e"]"#)
        #expect(parsed("- k: |\n    text\n  other: 2\n") == #"[{"k": "text\n", "other": 2}]"#)
        #expect(parsed("k: |\n  no final newline") == #"{"k": "no final newline"}"#)
        #expect(parsed("|\n text\n") == #""text\n""#)
    }

    // MARK: Errors

    @Test(arguments: [
        ("a:\n\tb: 1\n", 2, "tabs are not allowed for indentation"),
        ("a:\n  \tb: 1\n", 2, "tabs are not allowed for indentation"),
        ("- a\n\t- b\n", 2, "tabs are not allowed for indentation"),
        ("a:\n  b: 1\n    c: 2\n", 3, "bad indentation (found 4 spaces, expected 2)"),
        ("a: \"x\"\n  b: 2\n", 2, "bad indentation (found 2 spaces, expected 0)"),
        ("a: [1]\n   b\n", 2, "bad indentation (found 3 spaces, expected 0)"),
        ("a:\n    b: 1\n  c: 2\n", 3, "bad indentation (found 2 spaces, expected 0)"),
        ("- a\n   b: 1\n", 2, "bad indentation (found 3 spaces, expected 0)"),
        ("  a: 1\nb: 2\n", 2, "bad indentation (found 0 spaces, expected 2)"),
        ("a: 1\nb: \"abc\nc: 2\n", 2, "unterminated quoted string"),
        ("a: 'abc\n", 1, "unterminated quoted string"),
        ("a: 1\n\"b: 2\n", 2, "unterminated quoted string"),
        ("\"never closed\n\n", 1, "unterminated quoted string"),
        ("a: [1, 2\nb: 3\n", 1, "unterminated flow sequence (missing ']')"),
        ("x:\n  y: {a: 1, b: [2\n", 2, "unterminated flow sequence (missing ']')"),
        ("{a: 1", 1, "unterminated flow mapping (missing '}')"),
        ("a: {b: 1,\nc: 2\n", 1, "unterminated flow mapping (missing '}')"),
        ("[a, b}", 1, "expected ',' or ']' in a flow sequence"),
        ("{a: 1 ]", 1, "expected ',' or '}' in a flow mapping"),
        ("[a, , b]", 1, "expected a value, found ','"),
        ("{[a]: 1}", 1, "expected a mapping key"),
        ("a: 1\njust text\n", 2, "expected a mapping key"),
        ("a: 1\n[x]\n", 2, "expected a mapping key"),
        ("a: 1\n- b\n", 2, "expected a mapping key, found a sequence item"),
        ("a: 1\n? b\n", 2, "complex mapping keys ('?') are not supported"),
        ("- a\nb: 1\n", 2, "expected a sequence item ('- ')"),
        ("key:\n  - a\n  b: 1\n", 3, "expected a sequence item ('- ')"),
        ("a: b\n  c: d\n", 2, "bad indentation (found 2 spaces, expected 0)"),
        ("a: b # a comment ends a plain scalar\n  c\n", 2, "bad indentation (found 2 spaces, expected 0)"),
        ("a: 1\n: x\n", 2, "expected a mapping key"),
        ("a: ]\n", 1, "unexpected ']'"),
        ("a: }x\n", 1, "unexpected '}'"),
        ("text\nkey: 1\n", 2, "a mapping key cannot follow a top-level scalar"),
        ("[1]\nmore\n", 2, "unexpected content after the top-level value"),
        ("key: a: b\n", 1, "mapping values are not allowed here (quote the value if it contains ': ')"),
        ("a: - b\n", 1, "a block sequence cannot start on the same line as a mapping key"),
        ("a: \"x\" y\n", 1, "unexpected text after the quoted string"),
        ("a: [1] 2\n", 1, "unexpected text after the flow collection"),
        ("a: 1\n---\nb: 2\n", 2, "multiple documents are not supported"),
        ("a: 1\n...\nb: 2\n", 3, "multiple documents are not supported"),
        ("a: \"\\q\"\n", 1, "invalid escape sequence '\\q' in a double-quoted string"),
        ("a: \"ok\"\nb: \"\\u12\"\n", 2, "invalid hexadecimal escape in a double-quoted string"),
        ("a: \"\\uD800\"\n", 1, "invalid Unicode escape in a double-quoted string"),
        ("a: |x\n  t\n", 1, "invalid block scalar header"),
        ("a: |-- \n  t\n", 1, "invalid block scalar header"),
        ("a: > text\n", 1, "invalid block scalar header"),
        (String(repeating: "[", count: 500), 1, "nesting is deeper than 128 levels"),
        (String(repeating: "- ", count: 500) + "x", 1, "nesting is deeper than 128 levels"),
    ])
    func error(yaml: String, line: Int, message: String) {
        let error = parseError(yaml)
        #expect(error == YAMLError(line: line, message: message), "for \(yaml.debugDescription)")
    }

    @Test func largeDocumentsParseInLinearTime() throws {
        var mapping = ""
        for i in 0..<20_000 { mapping += "key\(i): value \(i)\n" }
        #expect(try YAML.parse(mapping).objectValue?.count == 20_000)
        let sequence = "- " + (0..<10_000).map { "{a: \($0), b: [x, 'y']}" }.joined(separator: "\n- ")
        #expect(try YAML.parse(sequence).arrayValue?.count == 10_000)
    }

    @Test func errorDescription() {
        #expect(parseError("a:\n\tb: 1")?.description == "line 2: tabs are not allowed for indentation")
    }

    // MARK: Robustness

    /// Truncated and mutated variants of a realistic config must return or throw, never crash or hang.
    @Test func survivesTruncatedAndMutatedInput() {
        let base = mlflowConfig + """
            notes: |
              multi
              line
            quoted: 'it''s "x"'
            escaped: "a\\tb\\u00e9"

            """
        let scalars = Array(base.unicodeScalars)
        var variants: [String] = []
        // Every prefix: cuts in the middle of quotes, flow collections, keys and indentation.
        for cut in 0...scalars.count {
            variants.append(String(String.UnicodeScalarView(scalars[0..<cut])))
        }
        // Deterministic pseudo-random deletions, insertions of YAML-significant characters, and line swaps.
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ bound: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(max(bound, 1)))
        }
        let inserts = Array("-:{}[],'\"#|>\t \n&*!?\\.0".unicodeScalars)
        for _ in 0..<300 {
            var mutated = scalars
            for _ in 0..<(1 + next(6)) {
                if next(2) == 0, !mutated.isEmpty {
                    mutated.remove(at: next(mutated.count))
                } else {
                    mutated.insert(inserts[next(inserts.count)], at: next(mutated.count + 1))
                }
            }
            variants.append(String(String.UnicodeScalarView(mutated)))
        }
        var lines = base.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for _ in 0..<50 {
            lines.swapAt(next(lines.count), next(lines.count))
            variants.append(lines.joined(separator: "\n"))
        }
        let deepBlock = (0..<400).map { String(repeating: " ", count: $0) + "a:" }.joined(separator: "\n")
        variants += ["[" + String(repeating: "{a: [", count: 300), deepBlock,
                     "\"\\", "'", "\"\\u", "- ", "-", ":", ": :", "? ", "{", "}", "]", "[,]", "{,}", "|", ">+9", "\t", "#"]

        var returned = 0
        var threw = 0
        for variant in variants {
            do {
                _ = try YAML.parse(variant)
                returned += 1
            } catch {
                #expect(error.line >= 1 && error.line <= variant.count + 1, "line out of range for \(variant.debugDescription)")
                threw += 1
            }
        }
        #expect(returned + threw == variants.count)
        #expect(returned > 0 && threw > 0)
    }
}
