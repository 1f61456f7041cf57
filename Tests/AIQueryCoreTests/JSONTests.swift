import Testing

@testable import AIQueryCore

@Suite struct JSONTests {
    @Test(arguments: [
        (#"{"b":1,"a":[true,false,null],"c":"x\"y\u00e9\n"}"#, #"{"b":1,"a":[true,false,null],"c":"x\"yé\n"}"#),
        ("[1.5,-2,1e3,0.1]", "[1.5,-2,1000.0,0.1]"),
        (#""\ud83d\ude00""#, #""😀""#),
        ("  {}  ", "{}"),
    ])
    func roundTrip(input: String, expected: String) throws {
        #expect(try JSONValue.parse(input).serialized() == expected)
    }

    @Test func keepsKeyOrderAndSortsOnRequest() throws {
        let value = try JSONValue.parse(#"{"z":1,"a":{"y":2,"b":3}}"#)
        #expect(value.serialized() == #"{"z":1,"a":{"y":2,"b":3}}"#)
        #expect(value.serialized(sortedKeys: true) == #"{"a":{"b":3,"y":2},"z":1}"#)
    }

    @Test(arguments: ["", "{", "[1,]", #"{"a" 1}"#, "tru", "01x", #""unterminated"#, "[1] 2", String(repeating: "[", count: 600)])
    func rejectsInvalid(input: String) {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(input) }
    }

    @Test func integersStayIntegers() throws {
        let value = try JSONValue.parse(#"{"max_tokens":50,"temperature":0.7,"big":12345678901234}"#)
        #expect(value["max_tokens"] == .integer(50))
        #expect(value.serialized() == #"{"max_tokens":50,"temperature":0.7,"big":12345678901234}"#)
    }

    @Test func base64RoundTrip() {
        for text in ["", "a", "ab", "abc", "abcd", "client:secret/+="] {
            let encoded = Base64.encode(Array(text.utf8))
            #expect(Base64.decode(encoded) == Array(text.utf8))
        }
        #expect(Base64.encode(Array("client:secret".utf8)) == "Y2xpZW50OnNlY3JldA==")
    }
}

@Suite struct SHA256Tests {
    func hex(_ bytes: [UInt8]) -> String { bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined() }

    @Test(arguments: [false, true]) func knownVectors(portable: Bool) {
        let hash = portable ? SHA256.portableHash : SHA256.hash
        #expect(hex(hash([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(hex(hash(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let long = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        #expect(hex(hash(long)) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(hex(hash([UInt8](repeating: 0x61, count: 1000))) == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }

    /// Every length around the block and padding boundaries gives the same digest on both paths.
    @Test func acceleratedMatchesPortable() {
        var message: [UInt8] = []
        for length in 0...300 {
            #expect(SHA256.hash(message) == SHA256.portableHash(message), "length \(length)")
            message.append(UInt8(truncatingIfNeeded: length &* 31 &+ 7))
        }
    }
}
