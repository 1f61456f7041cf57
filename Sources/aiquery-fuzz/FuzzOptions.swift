import AIQueryCore

/// CallOptions.parse on 1–4 text arguments, and DataType.parse. The first byte is a control byte: bit i set
/// gives argument i SQLite's JSON subtype. The rest splits on newlines into the arguments (the last takes the
/// remainder), so seeds read as text: "@returnType\nARRAY<FLOAT>" is two plain arguments, "A{…}" one JSON one.
enum FuzzOptions {
    static func run(_ bytes: [UInt8]) {
        guard let control = bytes.first else { return }
        let rest = bytes.dropFirst()
        var pieces: [String] = []
        var start = rest.startIndex
        while pieces.count < 3, let newline = rest[start...].firstIndex(of: 0x0A) {
            pieces.append(String(decoding: rest[start..<newline], as: UTF8.self))
            start = newline + 1
        }
        pieces.append(String(decoding: rest[start...], as: UTF8.self))
        let arguments = pieces.enumerated().map { index, text in
            SQLArgument.text(text, subtype: control & (1 << index) != 0 ? jsonSubtype : 0)
        }
        // As the SQL functions pass them: a slice after the endpoint and request arguments.
        let all = [SQLArgument.text("endpoint", subtype: 0), .text("request", subtype: 0)] + arguments
        if let options = try? CallOptions.parse(all[2...]) {
            _ = options.returnType?.description
            _ = options.returnType?.jsonSchema.serialized()
            _ = options.request.responseFormat?.serialized()
            _ = options.request.modelParameters.count
        }
        for text in pieces + [String(decoding: rest, as: UTF8.self)] {
            guard let type = try? DataType.parse(text) else { continue }
            _ = type.jsonSchema.serialized(sortedKeys: true)
            _ = type.description
        }
    }
}
