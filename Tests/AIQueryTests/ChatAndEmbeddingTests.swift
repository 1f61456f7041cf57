import AIQueryTestSupport
import Foundation
import Testing

/// ai_query against OpenAI-compatible, Anthropic and custom endpoints on a loopback server, through the real shell.
@Suite("ai_query through the sqlite3 shell")
struct ChatAndEmbeddingTests {
    let server: MockServer
    let shell: Shell

    init() throws {
        server = try MockServer()
        shell = try Shell(environment: ["TEST_KEY": "sk-test-secret-123"])
    }

    func define(_ name: String, _ json: String) -> String {
        "SELECT ai_endpoint_set('\(name)', '\(json)');"
    }

    var openAI: String { #"{"provider":"openai","task":"chat","model":"gpt-test","url":"\#(server.baseURL)/v1","api_key":"$TEST_KEY"}"# }

    @Test func chatReturnsTheAssistantText() throws {
        let lines = try shell.query(
            define("llm", openAI) + """
                CREATE TABLE docs(id INTEGER PRIMARY KEY, body TEXT);
                INSERT INTO docs(body) VALUES ('first doc'), ('second doc'), (NULL);
                SELECT id, ai_query('llm', 'Summarize: ' || body) FROM docs ORDER BY id;
                """)
        #expect(lines == ["llm", "1|echo: Summarize: first doc", "2|echo: Summarize: second doc", "3|"])
        let requests = try server.requests()
        #expect(requests.count == 2)  // the NULL row makes no call
        let body = try #require(requests.first?["body"] as? [String: Any])
        #expect(body["model"] as? String == "gpt-test")
        let messages = try #require(body["messages"] as? [[String: Any]])
        #expect(messages.count == 1 && messages[0]["role"] as? String == "user")
        #expect(messages[0]["content"] as? String == "Summarize: first doc")
        let headers = try #require(requests.first?["headers"] as? [String: String])
        #expect(headers["authorization"] == "Bearer sk-test-secret-123")
        #expect(requests.first?["path"] as? String == "/v1/chat/completions")
    }

    @Test func completionsAndListContent() throws {
        let completions = #"{"provider":"openai","task":"llm/v1/completions","model":"base","url":"\#(server.baseURL)/v1"}"#
        let lines = try shell.query(
            define("base", completions) + define("llm", openAI) + """
                SELECT ai_query('base', 'Once upon');
                SELECT ai_query('llm', 'think [[list_content]]');
                """)
        #expect(lines == ["base", "llm", "echo: Once upon", "part one, part two"])
        let body = try #require(try server.requests().first?["body"] as? [String: Any])
        #expect(body["prompt"] as? String == "Once upon")
    }

    @Test func embeddingsAreFloat32BlobsOrJSON() throws {
        let embedder = #"{"provider":"openai","task":"embeddings","model":"emb","url":"\#(server.baseURL)/v1"}"#
        let lines = try shell.query(
            define("emb", embedder) + """
                SELECT typeof(ai_query('emb', 'hello')), length(ai_query('emb', 'hello'));
                SELECT ai_query('emb', 'hello', 'returnType', 'ARRAY<FLOAT>');
                SELECT hex(ai_query('emb', 'hello'));
                SELECT json_array_length(ai_query('emb', 'hello', json_object('returnType', 'ARRAY<FLOAT>')));
                """)
        #expect(lines.first == "emb")
        #expect(lines[1] == "blob|32")
        let expected = mockEmbedding("hello")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(lines[2].utf8)) as? [Double])
        #expect(json.count == 8)
        for (a, b) in zip(json, expected) { #expect(abs(a - Double(b)) < 1e-6) }
        // The BLOB is little-endian float32, exactly what sqlite-vec reads.
        let hex = lines[3]
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            bytes.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        let floats = stride(from: 0, to: bytes.count, by: 4).map { i in
            Float(bitPattern: UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24)
        }
        #expect(floats == expected)
        #expect(lines[4] == "8")
    }

    @Test func anthropicMessagesAPI() throws {
        let claude = #"{"provider":"anthropic","task":"chat","model":"claude-test","url":"\#(server.baseURL)","api_key":"$TEST_KEY"}"#
        let lines = try shell.query(
            define("claude", claude) + """
                SELECT ai_query('claude', 'hi there', 'modelParameters', '{"stop":"END","temperature":0.2}');
                SELECT ai_query('claude', json_object('messages', json_array(json_object('role','system','content','be brief'), json_object('role','user','content','yo'))));
                """)
        #expect(lines == ["claude", "echo: hi there", "echo: yo"])
        let requests = try server.requests()
        let first = try #require(requests[0]["body"] as? [String: Any])
        #expect(first["max_tokens"] as? Int == 1024)
        #expect(first["stop_sequences"] as? [String] == ["END"])
        #expect(first["model"] as? String == "claude-test")
        let headers = try #require(requests[0]["headers"] as? [String: String])
        #expect(headers["x-api-key"] == "sk-test-secret-123")
        #expect(headers["anthropic-version"] == "2023-06-01")
        let second = try #require(requests[1]["body"] as? [String: Any])
        #expect(second["system"] as? String == "be brief")
        #expect((second["messages"] as? [Any])?.count == 1)
    }

    @Test func modelParametersAndResponseFormat() throws {
        let lines = try shell.query(
            define("llm", openAI) + """
                SELECT ai_query('llm', 'a', 'modelParameters', '{"max_tokens":50,"temperature":0.7,"custom_flag":true}');
                SELECT ai_query('llm', 'b', json_object('modelParameters', json_object('max_tokens', 7)));
                SELECT json_extract(ai_query('llm', 'c', 'responseFormat', '{"type":"json_object"}'), '$.echo');
                SELECT ai_query('llm', 'd', 'responseFormat', 'STRUCT<result: STRUCT<title: STRING, tags: ARRAY<STRING>>>');
                """)
        #expect(lines == ["llm", "echo: a", "echo: b", "c", #"{"echo": "d"}"#])
        let bodies = try server.requests().compactMap { $0["body"] as? [String: Any] }
        #expect(bodies[0]["max_tokens"] as? Int == 50)
        #expect(bodies[0]["temperature"] as? Double == 0.7)
        #expect(bodies[0]["custom_flag"] as? Bool == true)
        #expect(bodies[1]["max_tokens"] as? Int == 7)
        #expect((bodies[2]["response_format"] as? [String: Any])?["type"] as? String == "json_object")
        let schema = try #require((bodies[3]["response_format"] as? [String: Any])?["json_schema"] as? [String: Any])
        #expect(schema["name"] as? String == "result")
        let properties = try #require((schema["schema"] as? [String: Any])?["properties"] as? [String: Any])
        #expect(Set(properties.keys) == ["title", "tags"])
    }

    @Test func returnTypeCasts() throws {
        let lines = try shell.query(
            define("llm", openAI) + """
                SELECT ai_query('llm', '[[reply:42]]', 'returnType', 'INT') + 1;
                SELECT typeof(ai_query('llm', '[[reply: 2.5 ]]', 'returnType', 'DOUBLE'));
                SELECT ai_query('llm', '[[reply:TRUE]]', 'returnType', 'BOOLEAN');
                SELECT ai_query('llm', '[[reply:{"a":1,"b":[1,2],"extra":0}]]', 'returnType', 'STRUCT<a:INT,b:ARRAY<INT>,c:STRING>');
                """)
        #expect(lines == ["llm", "43", "real", "1", #"{"a":1,"b":[1,2],"c":null}"#])
    }

    @Test func failOnErrorFalseWrapsEachRow() throws {
        let lines = try shell.query(
            define("llm", openAI) + """
                CREATE TABLE t(id INTEGER, prompt TEXT);
                INSERT INTO t VALUES (1, 'fine'), (2, 'broken [[status:500]]'), (3, 'also fine');
                SELECT id, ai_query('llm', prompt, 'failOnError', 'false') FROM t ORDER BY id;
                SELECT json_extract(ai_query('llm', '[[reply:x]]', 'returnType', 'INT', 'failOnError', false), '$.errorMessage') LIKE 'ai_query: cannot cast%';
                """)
        #expect(lines.count == 5)
        #expect(lines[1] == #"1|{"response":"echo: fine","errorMessage":null}"#)
        #expect(lines[2].hasPrefix(#"2|{"response":null,"errorMessage":"ai_query: endpoint 'llm' returned HTTP 500"#))
        #expect(lines[3] == #"3|{"response":"echo: also fine","errorMessage":null}"#)
        #expect(lines[4] == "1")
    }

    @Test func structuredRequestAndCustomModel() throws {
        let custom = #"{"provider":"openai","task":"chat","model":"m","url":"\#(server.baseURL)/v1"}"#
        let lines = try shell.query(
            define("llm", custom) + """
                SELECT ai_query('llm', json_object('messages', json_array(json_object('role', 'user', 'content', 'full body')), 'temperature', 0));
                """)
        #expect(lines == ["llm", "echo: full body"])
        let body = try #require(try server.requests().first?["body"] as? [String: Any])
        #expect(body["temperature"] as? Int == 0)
        #expect(body["model"] as? String == "m")
    }

    @Test func dryRunNeedsNoNetwork() throws {
        let offline = #"{"provider":"openai","task":"chat","model":"gpt-x","url":"http://127.0.0.1:9/v1"}"#
        let lines = try shell.query(
            define("llm", offline) + """
                SELECT ai_query_request('llm', 'Hello', 'modelParameters', '{"max_tokens":5}', 'responseFormat', '{"type":"json_object"}');
                """)
        #expect(lines == ["llm", #"{"model":"gpt-x","messages":[{"role":"user","content":"Hello"}],"max_tokens":5,"response_format":{"type":"json_object"}}"#])
    }
}

/// The mock server's deterministic embedding (Tests/Support/mock_llm_server.py `embedding_of`).
func mockEmbedding(_ text: String) -> [Float] {
    let bytes = Array(text.utf8)
    return (0..<8).map { i in
        var sum = 0
        for (j, byte) in bytes.enumerated() { sum += (j + 1) * (i + 1) * Int(byte) }
        return Float(Double(sum % 1000) / 1000.0 - 0.5)
    }
}
