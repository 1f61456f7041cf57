import CSHA256

/// SHA-256 (FIPS 180-4) for cache keys, from the C target so the CPU's SHA extensions are used when present.
public enum SHA256 {
    public static func hash(_ message: [UInt8]) -> [UInt8] {
        digest(message, aiq_sha256)
    }

    /// The hash without the CPU extensions: tests compare both paths.
    public static func portableHash(_ message: [UInt8]) -> [UInt8] {
        digest(message, aiq_sha256_portable)
    }

    public static var isAccelerated: Bool { aiq_sha256_accelerated() != 0 }

    private static func digest(
        _ message: [UInt8], _ function: (UnsafePointer<UInt8>?, Int, UnsafeMutablePointer<UInt8>?) -> Void
    ) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: 32) { digest, count in
            message.withUnsafeBufferPointer { function($0.baseAddress, $0.count, digest.baseAddress) }
            count = 32
        }
    }
}
