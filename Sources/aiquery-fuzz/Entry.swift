// Fuzz targets over the parsers that read what users and upstreams write: JSON, YAML, call options and DDL types,
// and endpoint answers. scripts/fuzz builds this with `-D FUZZING -sanitize=fuzzer,address`: main hands each input
// to the target AIQUERY_FUZZ_TARGET names, through libFuzzer's driver. Built without FUZZING (plain `swift build`)
// it is a small program that runs files through a target, to replay a finding without the sanitizers:
//     .build/debug/aiquery-fuzz json .build-fuzz/artifacts/json/crash-…
// A thrown parse error is a normal outcome; a finding is a crash, a hang, running out of memory, or a broken
// invariant (a JSON round trip that changes the value, a secret left in an error message), reported with
// `finding(…)`, which aborts.
#if canImport(Glibc)
import Glibc
#endif
import AIQueryCore
#if FUZZING
import CFuzzDriver
#endif

enum FuzzTarget: String, CaseIterable {
    case json, yaml, options, responses

    func run(_ bytes: [UInt8]) {
        switch self {
        case .json: FuzzJSON.run(bytes)
        case .yaml: FuzzYAML.run(bytes)
        case .options: FuzzOptions.run(bytes)
        case .responses: FuzzResponses.run(bytes)
        }
    }
}

/// Writes to standard error (Swift 6 refuses the C global `stderr`).
func printError(_ text: String) {
    var text = text
    text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

/// A broken invariant: printed with the input's text, then abort() so libFuzzer saves the input as a crash.
func finding(_ message: String, _ bytes: [UInt8]) -> Never {
    let shown = String(decoding: bytes.prefix(2000), as: UTF8.self)
    printError("aiquery-fuzz: FINDING: \(message)\ninput (\(bytes.count) bytes): \(shown)\n")
    abort()
}

/// Whether `needle`'s bytes occur anywhere in `haystack` (a byte search, unlike String's Character-based one).
func containsBytes(_ haystack: String, _ needle: String) -> Bool {
    let h = Array(haystack.utf8), n = Array(needle.utf8)
    guard !n.isEmpty, h.count >= n.count else { return false }
    for start in 0...(h.count - n.count) where h[start] == n[0] && h[start..<(start + n.count)].elementsEqual(n) {
        return true
    }
    return false
}

#if FUZZING
// SwiftPM links an executable's entry point under its own name, so libFuzzer's main cannot be the program's:
// this one runs libFuzzer's driver, which parses the usual libFuzzer flags.
@main
enum Fuzz {
    nonisolated(unsafe) static var target = FuzzTarget.json

    static func main() {
        let name = getenv("AIQUERY_FUZZ_TARGET").map { String(cString: $0) } ?? ""
        guard let target = FuzzTarget(rawValue: name) else {
            let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
            printError("aiquery-fuzz: set AIQUERY_FUZZ_TARGET to one of \(names)\n")
            exit(2)
        }
        Fuzz.target = target
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in
            Fuzz.target.run(size > 0 && data != nil ? Array(UnsafeBufferPointer(start: data, count: size)) : [])
            return 0
        })
    }
}
#else
@main
enum Replay {
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        guard let name = arguments.first, let target = FuzzTarget(rawValue: name), arguments.count > 1 else {
            let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: "|")
            printError("usage: aiquery-fuzz \(names) FILE...  (runs each file through the target; scripts/fuzz fuzzes)\n")
            exit(2)
        }
        for path in arguments.dropFirst() {
            guard let bytes = System.readFile(path) else {
                printError("aiquery-fuzz: cannot read \(path)\n")
                exit(1)
            }
            target.run(bytes)
            print("\(path): ok")
        }
    }
}
#endif
