import AIQueryTestSupport
import Foundation
import Testing

/// GGUF models decoded by llama.cpp inside the sqlite3 process (and `aiquery serve`): the built-in local-gemma and
/// local-chat, and a model file a user names. llama.cpp and the models come from `scripts/local-llm install`,
/// which scripts/test runs.
@Suite struct LocalGenerationTests {
    static let aiqueryHome =
        ProcessInfo.processInfo.environment["AIQUERY_HOME"] ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/aiquery").path
    static let gemma = aiqueryHome + "/models/gemma-3-270m-q4_k_m.gguf"
    static let smolLM = aiqueryHome + "/models/SmolLM2-135M-Instruct.Q4_1.gguf"
    static let prompts = ["The capital of France is", "Water boils at", "Once upon a time", "My favourite food is", "The largest planet is"]

    var shell: Shell

    init() throws {
        shell = try Shell(cacheInHome: true)
        shell.environment["AIQUERY_HOME"] = Self.aiqueryHome
    }

    /// llama.cpp's own greedy answers, from llama-cpp-python in the venv scripts/local-llm made.
    static func reference(_ model: String, maxTokens: Int, _ prompts: [String]) throws -> [String] {
        let python = aiqueryHome + "/llm-venv/bin/python"
        let script = Paths.repository.appendingPathComponent("Tests/Support/llama_reference.py").path
        let run = try runToEnd([python, script, model, String(maxTokens)] + prompts)
        try #require(run.status == 0, "llama_reference.py failed: \(run.output)")
        return try JSONDecoder().decode([String].self, from: Data(run.output.utf8))
    }

    static func sqlList(_ texts: [String]) -> String {
        texts.map { "('" + $0.replacingOccurrences(of: "'", with: "''") + "')" }.joined(separator: ", ")
    }

    /// Same tokens as llama.cpp's own greedy decoding, row by row, for the base model and the instruct model.
    @Test(arguments: [("local-gemma", gemma), ("smol", smolLM)])
    func greedyAnswersAreLlamaCppsOwn(endpoint: String, model: String) throws {
        let expected = try Self.reference(model, maxTokens: 16, Self.prompts)
        let lines = try shell.query(
            """
            SELECT ai_endpoint_set('smol', '{"provider":"local","task":"completions","model_path":"\(Self.smolLM)"}');
            CREATE TABLE p(id INTEGER PRIMARY KEY, prompt TEXT);
            INSERT INTO p(prompt) VALUES \(Self.sqlList(Self.prompts));
            SELECT json_group_array(ai_query('\(endpoint)', prompt, 'modelParameters', '{"max_tokens":16}')) FROM (SELECT prompt FROM p ORDER BY id);
            """)
        let answers = try JSONDecoder().decode([String].self, from: Data((lines.last ?? "[]").utf8))
        #expect(answers == expected)
    }

    /// Rows decoded together in one batch (ai_query_rows keeps 8 in flight) give what rows decoded alone give, on
    /// the instruct model. (Gemma 3's batched kernels round differently from its single-row ones, so its greedy
    /// answers may part after a few tokens: README, limits.)
    @Test func rowsDecodedTogetherEqualRowsDecodedAlone() throws {
        let prompts = Self.prompts + ["In 1969, astronauts", "A good breakfast includes", "The quick brown fox", "Databases are useful because"]
        let lines = try shell.query(
            """
            SELECT ai_endpoint_set('smol', '{"provider":"local","task":"completions","model_path":"\(Self.smolLM)"}');
            SELECT ai_config('cache', 'off');
            CREATE TABLE p(id INTEGER PRIMARY KEY, prompt TEXT);
            INSERT INTO p(prompt) VALUES \(Self.sqlList(prompts));
            CREATE TABLE alone AS SELECT id, ai_query('smol', prompt, 'modelParameters', '{"max_tokens":24}') AS answer FROM p;
            CREATE TABLE together AS SELECT id, response AS answer
              FROM ai_query_rows('smol', 'SELECT id, prompt FROM p', '{"concurrency":8,"modelParameters":{"max_tokens":24}}');
            SELECT count(*), sum(alone.answer = together.answer), sum(length(alone.answer) > 20) FROM alone JOIN together USING (id);
            SELECT sum(input_tokens) > 0, sum(output_tokens) > 0, sum(output_tokens) <= 2 * 9 * 24 FROM ai_usage WHERE endpoint = 'smol';
            """)
        #expect(lines.suffix(2) == ["9|9|9", "1|1|1"])
    }

    /// The instruct model answers instructions: one English sentence for a summary, on topic for a question.
    @Test func localChatFollowsInstructions() throws {
        let lines = try shell.query(
            """
            SELECT ai_query('local-chat', 'Summarize in one sentence: The new phone has a great camera but the battery dies by noon and it overheats when charging.', 'modelParameters', '{"max_tokens":60}');
            SELECT ai_query('local-chat', 'What is the capital of France? Answer in one word.', 'modelParameters', '{"max_tokens":8}');
            """)
        #expect(lines.count == 2)
        #expect(lines.first?.lowercased().contains("battery") == true, "\(lines)")
        #expect(lines.last?.contains("Paris") == true, "\(lines)")
    }

    /// A JSON schema becomes a grammar: every answer parses and has the asked fields, whatever the small model
    /// would have written.
    @Test func jsonSchemaAnswersAreAlwaysValid() throws {
        let schema =
            #"{"type":"json_schema","json_schema":{"name":"order","strict":true,"schema":{"type":"object","properties":{"person":{"type":"string"},"city":{"type":"string"},"items":{"type":"integer"},"paid":{"type":"boolean"}},"required":["person","city","items","paid"]}}}"#
        let notes = [
            "Maria Lopez from Lyon ordered 3 lamps and paid by card.", "John Smith (Boston) wants 12 chairs, invoice not paid yet.",
            "Aiko Tanaka, Osaka: one desk, prepaid.", "Order from Lars Berg in Bergen for 7 mugs.", "Fatima Khan, Lahore, 2 rugs, paid.",
        ]
        let lines = try shell.query(
            """
            CREATE TABLE notes(body TEXT);
            INSERT INTO notes VALUES \(Self.sqlList(notes));
            SELECT count(*), sum(json_valid(a)), sum(json_type(a, '$.person') = 'text' AND json_type(a, '$.city') = 'text'
                AND json_type(a, '$.items') = 'integer' AND json_type(a, '$.paid') IN ('true', 'false'))
              FROM (SELECT ai_query('local-chat', 'Extract the order as JSON: ' || body, 'responseFormat', '\(schema)', 'modelParameters', '{"max_tokens":120}') AS a FROM notes);
            """)
        #expect(lines == ["5|5|5"])
    }

    /// `aiquery serve` streams the local chat model's tokens as they are decoded (not the whole answer replayed):
    /// the call log has the first token before the end.
    @Test func serveStreamsLocalTokensAsTheyAreDecoded() throws {
        var environment = shell.environment
        environment["AIQUERY_SERVE_TOKEN"] = ServeTests.token
        let server = try ServeProcess(home: shell.home, environment: environment)
        let reader = try EventStreamReader(
            url: server.baseURL + "/serving-endpoints/local-chat/invocations", token: ServeTests.token,
            body: #"{"stream":true,"max_tokens":48,"messages":[{"role":"user","content":"Name three colours."}]}"#)
        let events = reader.remainingEvents()
        #expect(events.count > 4 && events.last == "[DONE]", "\(events)")
        #expect(!EventStreamReader.text(of: events).isEmpty)
        let calls = try curl(["-H", "Authorization: Bearer \(ServeTests.token)", server.baseURL + "/api/2.0/aiquery/calls?limit=1"], in: shell.home)
        let call = ((try JSONSerialization.jsonObject(with: Data(calls.body.utf8)) as? [String: Any])?["calls"] as? [[String: Any]])?.first
        let ttft = call?["ttft_ms"] as? Double, latency = call?["latency_ms"] as? Double
        #expect(call?["endpoint_name"] as? String == "local-chat", "\(calls.body)")
        #expect(ttft != nil && latency != nil && ttft! < latency!, "first token \(String(describing: ttft)) ms of \(String(describing: latency)) ms")
    }

    /// An answer is cached like any other, and counted with the tokenizer's numbers.
    @Test func answersAreCachedAndCounted() throws {
        let prompt = "'The capital of France is', 'modelParameters', '{\"max_tokens\": 8}'"
        let lines = try shell.query(
            """
            SELECT ai_query('local-gemma', \(prompt)) = ai_query('local-gemma', \(prompt));
            SELECT rows, cache_hits, calls, input_tokens, output_tokens FROM ai_usage WHERE endpoint = 'local-gemma';
            """)
        #expect(lines == ["1", "2|1|1|6|8"])
    }

    @Test func withoutLlamaCppTheFirstUseSaysHowToInstallIt() throws {
        var shell = self.shell
        shell.environment["AIQUERY_HOME"] = shell.home.appendingPathComponent("empty-aiquery-home").path
        let lines = try shell.run(
            """
            .shell grep -h '^Threads:' /proc/$PPID/status
            SELECT ai_query('local-chat', 'hi');
            """)
        #expect(lines.stdout.contains("Threads:\t1"), "loading the extension opened no llama.cpp and started no thread")
        #expect(
            lines.stderr.contains(
                "ai_query: llama.cpp is not installed for in-process models: run scripts/local-llm install from the aiquery checkout (builds llama-cpp-python once, 5-7 minutes) or set AIQUERY_LLAMA_LIB to a libllama.so"),
            "\(lines.stderr)")
    }

    @Test func aMissingOrBrokenModelFileIsNamed() throws {
        let broken = try shell.write("broken.gguf", "not a model")
        let missing = try shell.error(
            #"SELECT ai_endpoint_set('m', '{"provider":"local","task":"chat","model_path":"/nowhere/model.gguf"}'), ai_query('m', 'hi');"#)
        #expect(missing == "ai_query: the model file /nowhere/model.gguf does not exist or cannot be read; model_path must name a .gguf file")
        let notGGUF = try shell.error(
            #"SELECT ai_endpoint_set('m', '{"provider":"local","task":"chat","model_path":"\#(broken)"}'), ai_query('m', 'hi');"#)
        #expect(notGGUF == "ai_query: llama.cpp could not load \(broken) (not a GGUF model, or a kind this llama.cpp does not know)")
    }

    /// A prompt longer than a row's context fails that row only: an error, or its errorMessage.
    @Test func aPromptTooLongForTheContextIsThatRowsError() throws {
        let long = "replace(hex(zeroblob(3000)), '0', 'word ')"
        let failing = try shell.error("SELECT ai_query('local-chat', \(long));")
        #expect(failing.hasPrefix("ai_query: the prompt is "))
        #expect(failing.hasSuffix(" tokens; SmolLM2-135M-Instruct.Q4_1 holds 2048 per row (prompt and answer together): shorten the input"))
        let lines = try shell.query(
            """
            SELECT json_extract(r, '$.response') IS NULL, json_extract(r, '$.errorMessage') LIKE 'ai_query: the prompt is % tokens;%'
              FROM (SELECT ai_query('local-chat', \(long), 'failOnError', 'false') AS r);
            SELECT json_extract(ai_query('local-chat', 'Say hi.', 'failOnError', 'false', 'modelParameters', '{"max_tokens":4}'), '$.errorMessage') IS NULL;
            """)
        #expect(lines == ["1|1", "1"])
    }

    /// Ctrl-C stops decoding between tokens: 40 rows of 1,500 tokens would take many minutes. The shell is
    /// interrupted again until it stops, as a user presses Ctrl-C again: one that lands between two statements
    /// interrupts nothing.
    @Test func ctrlCStopsDecoding() throws {
        let started = shell.home.appendingPathComponent("started.txt")
        let running = try shell.start(
            """
            SELECT ai_config('cache', 'off');
            .output \(started.path)
            SELECT ai_query('local-chat', 'Say hi.', 'modelParameters', '{"max_tokens":2}');
            .output stdout
            SELECT count(*) FROM ai_query_rows('local-chat', 'SELECT value, ''Write a very long story about the number '' || value FROM generate_series(1, 40)', '{"modelParameters":{"max_tokens":1500}}');
            """, signals: true)
        let deadline = Date().addingTimeInterval(120)
        while running.process.isRunning, Date() < deadline {
            if ((try? Data(contentsOf: started))?.count ?? 0) > 0 { kill(running.process.processIdentifier, SIGINT) }
            usleep(200_000)
        }
        let result = try running.wait(timeout: 10)
        #expect(result.stderr.contains("interrupted (Ctrl-C)"), "\(result.stderr)")
    }
}
