// Damaged copies of real fixtures: every truncation fails with a TorchArchiveError; flipped and random bytes either
// load or fail with a TorchArchiveError — never a crash, a trap or a hang — and hostile payloads never run.

import Foundation
import Testing
import TensorCore
@testable import TorchArchive

/// Deterministic xorshift64* so that a failure can be reproduced from the test name alone.
struct SeededRandom {
    var state: UInt64
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 2_685_821_657_736_338_717
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

@Suite("damaged files fail cleanly")
struct CorruptionTests {
    static let truncationFiles = ["dtypes.pt", "legacy.pt", "deflate.pt", "zip64_extras.pt", "bigendian.pt", "protocol4.pt",
                                  "checkpoint_module_prefix.pt", "v3_dtypes.pt", "noncontiguous.pt", "malicious_system.pt"]

    @Test("every truncation of a fixture is an error", arguments: truncationFiles)
    func truncation(file: String) {
        let full = Fixtures.bytes(file)
        #expect(!full.isEmpty)
        let f = TempFile([], name: file)
        var cuts = Set(stride(from: 0, to: full.count, by: 13))
        for k in 1...min(120, full.count) { cuts.insert(full.count - k) }
        for k in 0..<min(80, full.count) { cuts.insert(k) }
        for cut in cuts.sorted() {
            f.write(full)
            _ = ftruncateFile(f.path, cut)
            #expect(!loadsOrFailsCleanly(f.path), "\(file) cut to \(cut) of \(full.count) bytes loaded")
        }
    }

    static let flipFiles = ["legacy.pt", "dtypes.pt", "malicious_fickling.pt", "malicious_legacy.pt", "deflate_shared.pt",
                            "zip64_extras.pt", "protocol4.pt", "parameters.pt"]

    @Test("every single byte of a fixture inverted: loads or fails cleanly", arguments: flipFiles)
    func flipEveryByte(file: String) {
        let full = Fixtures.bytes(file)
        let f = TempFile(full, name: file)
        for markerName in ["system", "fickling", "legacy"] { try? FileManager.default.removeItem(atPath: "/tmp/vfw-pwned-" + markerName) }
        for i in full.indices {
            f.patch(i, [full[i] ^ 0xFF])
            _ = loadsOrFailsCleanly(f.path)
            f.patch(i, [full[i]])
        }
        for markerName in ["system", "fickling", "legacy"] {
            #expect(!FileManager.default.exists("/tmp/vfw-pwned-" + markerName), "a payload ran")
        }
    }

    @Test("header fields set to 0x00 and 0xFF (first 128 and last 400 bytes) load or fail cleanly",
          arguments: ["dtypes.pt", "bigendian.pt", "deflate.pt", "checkpoint_keys.pt", "v3_dtypes.pt"])
    func headerExtremes(file: String) {
        let full = Fixtures.bytes(file)
        let f = TempFile(full, name: file)
        let positions = Set(Array(0..<min(128, full.count)) + Array(max(0, full.count - 400)..<full.count))
        for i in positions.sorted() {
            for v: UInt8 in [0x00, 0xFF, 0x80] where v != full[i] {
                f.patch(i, [v])
                _ = loadsOrFailsCleanly(f.path)
            }
            f.patch(i, [full[i]])
        }
    }

    @Test("2000 random multi-byte corruptions (seeded) load or fail cleanly")
    func randomCorruption() {
        var rng = SeededRandom(state: 0x5EED_1234_ABCD_0001)
        let files = ["legacy.pt", "dtypes.pt", "noncontiguous.pt", "deflate.pt", "checkpoint_module_prefix.pt", "malicious_system.pt"]
        let sources = files.map(Fixtures.bytes)
        let f = TempFile([])
        for _ in 0..<2000 {
            let k = rng.below(sources.count)
            var b = sources[k]
            for _ in 0..<(1 + rng.below(4)) {
                let at = rng.below(b.count)
                switch rng.below(3) {
                case 0: b[at] = UInt8(truncatingIfNeeded: rng.next())
                case 1: b[at] ^= 1 << UInt8(rng.below(8))
                default:  // overwrite a 4-byte field with an extreme value
                    let v: [UInt32] = [0, 0xFFFF_FFFF, 0x7FFF_FFFF, 0x8000_0000, UInt32(b.count)]
                    let x = v[rng.below(v.count)]
                    for j in 0..<4 where at + j < b.count { b[at + j] = UInt8(truncatingIfNeeded: x >> (8 * UInt32(j))) }
                }
            }
            f.write(b)
            _ = loadsOrFailsCleanly(f.path)
        }
        #expect(!FileManager.default.exists("/tmp/vfw-pwned-system"))
    }

    @Test("tight limits on real fixtures fail with the limit's name, not a crash")
    func tightLimits() {
        let p = Fixtures.path("dtypes.pt")
        do {
            _ = try TorchCheckpoint.load(path: p, limits: PickleLimits(maxMemo: 3))
            Issue.record("loaded with maxMemo 3")
        } catch let e as TorchArchiveError {
            guard case .limitExceeded(let path, "data.pkl", _, "maxMemo", 3) = e else { Issue.record("\(e)"); return }
            #expect(path == p)
            #expect(e.description.contains("exceeds the pickle limit maxMemo = 3"))
        } catch { Issue.record("\(error)") }
        for limits in [PickleLimits(maxStackDepth: 4), PickleLimits(maxStringLength: 5), PickleLimits(maxContainerItems: 10),
                       PickleLimits(maxOpcodes: 50), PickleLimits(maxTotalBytes: 100)] {
            #expect(!loadsOrFailsCleanly(p, limits: limits), "\(limits)")
            #expect(!loadsOrFailsCleanly(Fixtures.path("legacy.pt"), limits: limits), "\(limits)")
        }
    }
}

func ftruncateFile(_ path: String, _ length: Int) -> Int32 { truncate(path, off_t(length)) }

extension FileManager {
    func exists(_ path: String) -> Bool { fileExists(atPath: path) }
}
