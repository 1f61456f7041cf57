import CLlama

#if canImport(Glibc)
import Glibc
#endif

/// Where llama.cpp's library is: `AIQUERY_LLAMA_LIB`, else the pinned llama-cpp-python build that
/// `scripts/local-llm install` makes in aiquery's home (`llama_cpp/lib/libllama.so`, beside the ggml libraries
/// it needs). Opened once per process, on first use.
enum LlamaLibrary {
    static let variable = "AIQUERY_LLAMA_LIB"

    static func load() throws(AIQueryError) {
        let path = try locate()
        if let failure = aiq_llama_load(path) { throw AIQueryError(.invalidConfiguration, String(cString: failure)) }
    }

    static func locate() throws(AIQueryError) -> String {
        if let given = System.environment(variable), !given.isEmpty {
            let path = System.expandingTilde(given)
            guard access(path, R_OK) == 0 else { throw AIQueryError(.invalidConfiguration, "\(variable)=\(given) does not name a readable libllama.so") }
            return path
        }
        var found = glob_t()
        defer { globfree(&found) }
        if glob(LocalModels.home + "/llm-venv/lib/python3*/site-packages/llama_cpp/lib/libllama.so", 0, nil, &found) == 0, found.gl_pathc > 0,
            let first = found.gl_pathv[0]
        {
            return String(cString: first)
        }
        throw AIQueryError(
            .invalidConfiguration,
            "llama.cpp is not installed for in-process models: run scripts/local-llm install from the aiquery checkout "
                + "(builds llama-cpp-python once, 5-7 minutes) or set \(variable) to a libllama.so")
    }
}
