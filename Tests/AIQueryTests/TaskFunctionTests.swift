import AIQueryTestSupport
import Foundation
import Testing

/// Databricks' task AI functions through the sqlite3 shell, against a loopback chat and embeddings server whose
/// replies the tests script with [[reply:…]]: the request each sends, how answers are checked, NULL rules and
/// argument errors.
@Suite("task AI functions")
struct TaskFunctionTests {
    let server: MockServer
    let shell: Shell

    init() throws {
        server = try MockServer()
        shell = try Shell()
    }

    /// Points the task functions at the loopback server's chat and embeddings endpoints.
    var setUp: String {
        """
        SELECT ai_endpoint_set('chat', '{"provider":"openai","task":"chat","model":"m","url":"\(server.baseURL)/v1"}');
        SELECT ai_endpoint_set('embed', '{"provider":"openai","task":"embeddings","model":"e","url":"\(server.baseURL)/v1"}');
        SELECT ai_config('task_endpoint', 'chat'), ai_config('task_embeddings_endpoint', 'embed');
        """
    }

    func body(_ index: Int = 0) throws -> [String: Any] {
        try #require(try server.requests()[index]["body"] as? [String: Any])
    }

    @Test func classifyAsksForOneOfTheLabelsAndReturnsOnlyALabel() throws {
        let lines = try shell.query(
            setUp + """
                SELECT ai_classify('charged twice [[reply:{"label":"billing"}]]', json_array('billing', 'bug', 'other'));
                SELECT ai_classify('crash [[reply:I would say this is a Bug.]]', '["billing","bug","other"]');
                SELECT coalesce(ai_classify('x [[reply:{"label":"refund"}]]', json_array('billing', 'bug')), 'NULL');
                SELECT coalesce(ai_classify('x [[reply:billing or bug]]', json_array('billing', 'bug')), 'NULL');
                """)
        #expect(Array(lines.dropFirst(3)) == ["billing", "bug", "NULL", "NULL"])
        let request = try body()
        let messages = try #require(request["messages"] as? [[String: Any]])
        #expect(messages.map { $0["role"] as? String } == ["system", "user"])
        #expect((messages[0]["content"] as? String)?.contains("- billing\n- bug\n- other") == true)
        #expect(messages[1]["content"] as? String == #"charged twice [[reply:{"label":"billing"}]]"#)
        let format = try #require(request["response_format"] as? [String: Any])
        #expect(format["type"] as? String == "json_schema")
        let schema = try #require((format["json_schema"] as? [String: Any])?["schema"] as? [String: Any])
        let label = try #require((schema["properties"] as? [String: Any])?["label"] as? [String: Any])
        #expect(label["enum"] as? [String] == ["billing", "bug", "other"])
        #expect(schema["required"] as? [String] == ["label"])
        #expect(request["temperature"] as? Int == 0)
    }

    /// Labels with descriptions, or options, answer in Databricks' v2 shape.
    @Test func classifyV2AnswersResponseAndErrorMessage() throws {
        let lines = try shell.query(
            setUp + """
                SELECT ai_classify('a [[reply:{"label":"bug"}]]', '{"billing":"payments","bug":"defects"}');
                SELECT ai_classify('b [[reply:{"labels":["bug","billing","nope"]}]]', json_array('billing', 'bug'), json_object('multilabel', 'true'));
                SELECT ai_classify('c [[reply:no idea]]', '{"billing":"payments","bug":"defects"}');
                """)
        #expect(lines[3] == #"{"response":["bug"],"error_message":null}"#)
        #expect(lines[4] == #"{"response":["bug","billing"],"error_message":null}"#)
        #expect(lines[5] == #"{"response":null,"error_message":"the model's answer names none of the labels: no idea"}"#)
        let system = try #require(((body()["messages"] as? [[String: Any]])?[0])?["content"] as? String)
        #expect(system.contains("- billing: payments\n- bug: defects"))
    }

    @Test func extractReturnsExactlyTheAskedKeys() throws {
        let lines = try shell.query(
            setUp + """
                SELECT ai_extract('x [[reply:{"person":"Ada","date":null,"extra":"dropped","City":"London"}]]', json_array('person', 'date', 'city'));
                SELECT ai_extract('x [[reply:not json at all]]', json_array('person', 'date'));
                SELECT ai_extract('x [[reply:```json {"n": 3} ```]]', '{"type":"object","properties":{"n":{"type":"integer"}}}');
                """)
        #expect(lines[3] == #"{"person":"Ada","date":null,"city":"London"}"#)
        #expect(lines[4] == #"{"person":null,"date":null}"#)
        #expect(lines[5] == #"{"response":{"n":3},"error_message":null}"#)
        let schema = try #require(
            ((body()["response_format"] as? [String: Any])?["json_schema"] as? [String: Any])?["schema"] as? [String: Any])
        #expect(schema["required"] as? [String] == ["person", "date", "city"])
    }

    @Test func sentimentIsOneOfFourOrNull() throws {
        let lines = try shell.query(
            setUp + """
                SELECT ai_analyze_sentiment('a [[reply:{"sentiment":"positive"}]]');
                SELECT ai_analyze_sentiment('b [[reply:Negative.]]');
                SELECT coalesce(ai_analyze_sentiment('c [[reply:{"sentiment":"angry"}]]'), 'NULL');
                """)
        #expect(Array(lines.dropFirst(3)) == ["positive", "negative", "NULL"])
    }

    /// The text never comes from the model: what it lists is masked where it occurs, and patterns catch what
    /// it missed (TaskCallTests checks that listed strings absent from the text change nothing).
    @Test func maskReplacesListedEntitiesAndPatterns() throws {
        let lines = try shell.query(
            setUp + """
                SELECT ai_mask('Ada Lovelace wrote to ada@example.com and Bob, call +1 555 123 4567 [[reply:{"entities":["Ada Lovelace","Bob","Charles"]}]]', json_array('person', 'email', 'phone'));
                """)
        // (The reply marker is part of the text, so what it lists is masked there too.)
        #expect(lines.last == #"[MASKED] wrote to [MASKED] and [MASKED], call [MASKED] [[reply:{"entities":["[MASKED]","[MASKED]","[MASKED]"]}]]"#)
    }

    @Test func textFunctionsSendTheirInstructions() throws {
        let lines = try shell.query(
            setUp + """
                SELECT ai_summarize('one two three four five six [[reply:  a b c d e f g  ]]', 3);
                SELECT ai_translate('Hello [[reply:Bonjour]]', 'fr');
                SELECT ai_fix_grammar('she go [[reply:She goes.]]');
                SELECT ai_gen('Write a haiku [[reply:An old pond]]');
                """)
        #expect(Array(lines.dropFirst(3)) == ["a b c", "Bonjour", "She goes.", "An old pond"])
        let systems = try server.requests().map { (($0["body"] as? [String: Any])?["messages"] as? [[String: Any]])?.first?["content"] as? String }
        #expect(systems[0] == "Summarize the user's text in at most 3 words. Reply with the summary only.")
        #expect(systems[1] == "Translate the user's text into French. Reply with the translation only.")
        #expect(systems[2]?.hasPrefix("Correct the grammar") == true)
        #expect(systems[3] == "Write a haiku [[reply:An old pond]]", "ai_gen sends the prompt alone")
    }

    @Test func similarityComparesEmbeddings() throws {
        let lines = try shell.query(
            setUp + """
                SELECT ai_similarity('same text', 'same text');
                SELECT ai_similarity('a', 'b') BETWEEN -1 AND 1, typeof(ai_similarity('a', 'b'));
                """)
        #expect(Array(lines.dropFirst(3)) == ["1.0", "1|real"])
        #expect(try server.requests().allSatisfy { $0["path"] as? String == "/v1/embeddings" })
    }

    @Test func nullInNullOutWithoutACall() throws {
        let lines = try shell.query(
            setUp + """
                SELECT quote(ai_classify(NULL, json_array('a', 'b'))), quote(ai_summarize(NULL)), quote(ai_similarity('x', NULL)),
                       quote(ai_mask(NULL, json_array('person'))), quote(ai_gen(NULL));
                """)
        #expect(lines.last == "NULL|NULL|NULL|NULL|NULL")
        #expect(try server.requests().isEmpty)
    }

    @Test func badArgumentsNameTheFunctionAndTheFix() throws {
        let cases: [(String, String)] = [
            ("SELECT ai_classify('x', json_array('a'));",
             "ai_classify: labels must be a JSON array of 2 to 500 strings, e.g. json_array('billing', 'bug', 'other'); got 1"),
            ("SELECT ai_classify('x', 'billing');",
             "ai_classify: labels must be a JSON array of 2 to 500 strings, e.g. json_array('billing', 'bug', 'other') or an object of label → description; got text that is not JSON"),
            ("SELECT ai_classify('x', json_array('a', 'A'));", "ai_classify: labels must be distinct; 'A' appears twice"),
            ("SELECT ai_classify('x', json_array('a', 'b'), json_object('colour', 'red'));",
             "ai_classify: unknown option 'colour'; ai_classify takes instructions, multilabel, version"),
            ("SELECT ai_translate('x', 'klingon');",
             "ai_translate: to_lang must be one of en, de, fr, it, pt, hi, es, th (or its English name), got 'klingon'"),
            ("SELECT ai_summarize('x', -1);", "ai_summarize: max_words must be a whole number from 0 (no limit) to 10000, got -1"),
            ("SELECT ai_gen();", "ai_gen: expected ai_gen(prompt), got 0 arguments"),
            ("SELECT ai_extract('x', '{\"type\":\"array\"}');",
             #"ai_extract: a schema must describe an object: {"type": "object", "properties": {"name": {"type": "string"}, …}}"#),
            ("SELECT ai_config('task_endpoint', 'missing');", "ai_config: unknown endpoint 'missing'"),
            ("SELECT ai_task_request('ai_nothing', 'x');",
             "ai_task_request: the first argument names a task function: ai_gen, ai_summarize, ai_translate, ai_fix_grammar, ai_analyze_sentiment, ai_classify, ai_extract, ai_mask, ai_similarity, e.g. ai_task_request('ai_classify', 'text', json_array('a', 'b'))"),
        ]
        for (sql, expected) in cases {
            let error = try shell.error(sql)
            #expect(error.hasPrefix(expected), "\(sql)")
        }
        #expect(try server.requests().isEmpty)
    }

    /// An embeddings endpoint cannot answer a text function, and says which setting to change.
    @Test func aWrongTaskEndpointSaysWhatToSet() throws {
        let error = try shell.error(setUp + "SELECT ai_config('task_endpoint', 'embed'); SELECT ai_gen('x');")
        #expect(error.contains("ai_gen: the task endpoint 'embed' is an embeddings endpoint; ai_gen needs a chat or completions endpoint: ai_config('task_endpoint', 'my-llm')"))
    }

    /// The dry run shows the request without sending it; the built-in default is the local model.
    @Test func theDryRunShowsTheExactRequest() throws {
        let lines = try shell.query(
            """
            SELECT ai_config('task_endpoint');
            SELECT json_extract(ai_task_request('ai_classify', 'my card was charged twice', json_array('billing', 'bug')), '$.endpoint', '$.request.grammar');
            """ + setUp + """
            SELECT json_extract(ai_task_request('ai_analyze_sentiment', 'great'), '$.request.response_format.json_schema.schema.properties.sentiment.enum');
            """)
        #expect(lines[0] == "local-gemma")
        #expect(lines[1] == #"["local-gemma","root ::= label\nlabel ::= \"billing\" | \"bug\""]"#)
        #expect(lines.last == #"["positive","negative","neutral","mixed"]"#)
        #expect(try server.requests().isEmpty)
    }

    /// `task_endpoints:` in the endpoints file, under the per-connection setting.
    @Test func theEndpointsFileNamesTheTaskEndpoints() throws {
        var shell = shell
        shell.environment["AIQUERY_CONFIG"] = try shell.write(
            "endpoints.yaml",
            """
            task_endpoints: {chat: filed-llm}
            endpoints:
              - name: filed-llm
                endpoint_type: llm/v1/chat
                model: {provider: openai, name: m, config: {openai_api_base: "\(server.baseURL)/v1"}}
            """)
        let lines = try shell.query("SELECT ai_config('task_endpoint'); SELECT ai_gen('hi [[reply:hello]]');")
        #expect(lines == ["filed-llm", "hello"])
    }
    /// The many-rows form: rows in flight together (the barrier holds each request until all four are there),
    /// answers in the query's order, NULL rows without a call, ai_mask masking each row's own text.
    @Test func taskRowsRunRowsTogetherInOrder() throws {
        let lines = try shell.query(
            setUp + """
                SELECT ai_config('concurrency', 4);
                CREATE TABLE t(id INTEGER PRIMARY KEY, body TEXT);
                INSERT INTO t(body) VALUES ('a [[barrier:b:4]] [[reply:{"label":"bug"}]]'), ('b [[barrier:b:4]] [[reply:{"label":"billing"}]]'),
                  (NULL), ('c [[barrier:b:4]] [[reply:other]]'), ('d [[barrier:b:4]] [[reply:{"label":"bug"}]]');
                SELECT id, quote(response) FROM ai_task_rows('ai_classify', 'SELECT id, body FROM t', json_array('billing', 'bug', 'other'));
                SELECT response FROM ai_task_rows('ai_mask', 'SELECT ''mail ann@example.com now''', json_array('email'));
                """)
        #expect(Array(lines.dropFirst(4)) == ["1|'bug'", "2|'billing'", "3|NULL", "4|'other'", "5|'bug'", "mail [MASKED] now"])
        #expect(try server.requests().count == 5)
    }

    @Test func taskRowsErrorsNameTheFunctionAndTheRow() throws {
        #expect(try shell.error("SELECT * FROM ai_task_rows('ai_classify', 'SELECT 1', json_array('a'));")
            == "ai_task_rows: ai_classify: labels must be a JSON array of 2 to 500 strings, e.g. json_array('billing', 'bug', 'other'); got 1")
        #expect(try shell.error("SELECT * FROM ai_task_rows('ai_similarity', 'SELECT 1');")
            == "ai_task_rows: ai_similarity compares two texts per row: embed them with ai_query_rows and compare with ai_cosine")
        let failing = try shell.error(setUp + "SELECT * FROM ai_task_rows('ai_gen', 'SELECT 7, ''x [[status:400]]''');")
        #expect(failing.hasPrefix("ai_task_rows: row 1 (id 7): ai_gen: endpoint 'chat' returned HTTP 400"), "\(failing)")
    }
}
