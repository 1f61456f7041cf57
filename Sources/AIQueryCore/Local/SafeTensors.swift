#if canImport(Glibc)
import Glibc
#endif

/// A read-only view of a `.safetensors` file: 8-byte little-endian header length, a JSON header naming each
/// tensor's dtype, shape and byte range, then the raw data. The file is memory-mapped so loading copies each
/// tensor once, straight from the page cache into the embedder's own buffer.
final class SafeTensorsFile {
    struct TensorInfo {
        var dtype: String
        var shape: [Int]
        var begin: Int  // byte offsets into the data section
        var end: Int
    }

    let path: String
    let tensors: [String: TensorInfo]
    private let base: UnsafeRawPointer
    private let mappedSize: Int
    private let dataStart: Int

    init(path: String) throws(AIQueryError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw AIQueryError(.invalidConfiguration, "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_size >= 8 else { throw AIQueryError(.invalidConfiguration, "\(path) is not a safetensors file") }
        let size = Int(info.st_size)
        guard let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED else {
            throw AIQueryError(.invalidConfiguration, "cannot map \(path): \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(mapped)
        mappedSize = size

        var headerLength = 0
        for i in 0..<8 { headerLength |= Int(base.load(fromByteOffset: i, as: UInt8.self)) << (8 * i) }
        guard headerLength > 1, headerLength <= size - 8 else {
            munmap(mapped, size)
            throw AIQueryError(.invalidConfiguration, "\(path) has a bad safetensors header length")
        }
        dataStart = 8 + headerLength
        let headerBytes = Array(UnsafeRawBufferPointer(start: base + 8, count: headerLength))
        do {
            tensors = try Self.parseHeader(headerBytes, dataSize: size - dataStart, path: path)
        } catch {
            munmap(mapped, size)
            throw error
        }
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: base), mappedSize) }

    private static func parseHeader(
        _ bytes: [UInt8], dataSize: Int, path: String
    ) throws(AIQueryError) -> [String: TensorInfo] {
        let header: JSONValue
        do { header = try JSONValue.parse(bytes: bytes) } catch {
            throw AIQueryError(.invalidConfiguration, "\(path): bad safetensors header: \(error)")
        }
        guard let members = header.objectValue else { throw AIQueryError(.invalidConfiguration, "\(path): safetensors header is not an object") }
        var tensors: [String: TensorInfo] = [:]
        for (name, entry) in members where name != "__metadata__" {
            guard let dtype = entry["dtype"]?.stringValue,
                  let shape = entry["shape"]?.arrayValue?.compactMap({ $0.int64Value }).map({ Int($0) }),
                  let offsets = entry["data_offsets"]?.arrayValue?.compactMap({ $0.int64Value }), offsets.count == 2,
                  offsets[0] >= 0, offsets[0] <= offsets[1], Int(offsets[1]) <= dataSize
            else { throw AIQueryError(.invalidConfiguration, "\(path): bad safetensors entry for \(name)") }
            tensors[name] = TensorInfo(dtype: dtype, shape: shape, begin: Int(offsets[0]), end: Int(offsets[1]))
        }
        return tensors
    }

    /// Copies tensor `name` as Float32 into `destination`, checking its shape; F16 and BF16 are widened.
    func copy(_ name: String, shape expected: [Int], into destination: UnsafeMutablePointer<Float>) throws(AIQueryError) {
        guard let tensor = tensors[name] else { throw AIQueryError(.invalidConfiguration, "\(path): tensor \(name) is missing") }
        guard tensor.shape == expected else {
            throw AIQueryError(.invalidConfiguration, "\(path): tensor \(name) has shape \(tensor.shape), expected \(expected)")
        }
        let count = expected.reduce(1, *)
        let source = base + dataStart + tensor.begin
        let byteCount = tensor.end - tensor.begin
        switch tensor.dtype {
        case "F32" where byteCount == count * 4:
            // memcpy because the data section need not be 4-byte aligned.
            memcpy(destination, source, byteCount)
        case "F16" where byteCount == count * 2:
            for i in 0..<count {
                destination[i] = Self.halfToFloat(source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
            }
        case "BF16" where byteCount == count * 2:
            for i in 0..<count {
                let bits = UInt32(source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                destination[i] = Float(bitPattern: bits << 16)
            }
        case "F64" where byteCount == count * 8:
            for i in 0..<count { destination[i] = Float(source.loadUnaligned(fromByteOffset: 8 * i, as: Double.self)) }
        default:
            throw AIQueryError(.invalidConfiguration, "\(path): tensor \(name) has unsupported dtype \(tensor.dtype) or a wrong size")
        }
    }

    /// IEEE binary16 to binary32 by hand: Float16 is not available on every platform Swift supports.
    static func halfToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = Int((h >> 10) & 0x1F)
        let mantissa = UInt32(h & 0x3FF)
        if exponent == 0 {  // zero or subnormal: mantissa * 2^-24
            let magnitude = Float(mantissa) * (1.0 / 16_777_216.0)
            return sign != 0 ? -magnitude : magnitude
        }
        if exponent == 31 { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13)) }
        return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | (mantissa << 13))
    }
}
