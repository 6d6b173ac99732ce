// CRC-32 and SHA-256 against their published test vectors (zlib / ISO-HDLC check value; FIPS 180-4 examples).

import Testing
@testable import TensorCore

@Suite("checksums")
struct ChecksumTests {
    @Test("CRC-32 check value of \"123456789\" is cbf43926")
    func crc() {
        #expect(Array("123456789".utf8).withUnsafeBytes { crc32($0) } == 0xCBF4_3926)
        #expect([UInt8]().withUnsafeBytes { crc32($0) } == 0)
    }

    @Test("SHA-256 FIPS 180-4 examples", arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    ])
    func sha(_ c: (String, String)) {
        #expect(Array(c.0.utf8).withUnsafeBytes { SHA256.hex($0) } == c.1)
    }

    @Test("SHA-256 of a million 'a' fed in uneven pieces")
    func shaStreamed() {
        var s = SHA256()
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 999)
        var left = 1_000_000
        while left > 0 {
            let n = min(left, left % 7 == 0 ? 63 : 999)
            chunk.withUnsafeBytes { s.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            left -= n
        }
        let hex = s.finalize().map { String(format2: $0) }.joined()
        #expect(hex == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}
