// The VFW_LIMITS parser every reader shares (README "Safety and limits"), byte limits as messages print them, and
// the escaping of text from files in one-line messages. End to end (each reader, each format): the readers' own
// HostileInputTests and Tests/CLITests/MaliciousTests.

import Testing
import TensorCore

/// A stand-in for a reader's limits (VFWLimits, PickleLimits ...), to test `apply` without any reader.
private struct ToyLimits: Equatable {
    var header = 100
    var tensors = 7
}

@Suite("VFW_LIMITS and one-line text")
struct LimitsVariableTests {
    @Test("VFW_LIMITS: keys, suffixes and separators", arguments: [
        ("absent", nil, [:]),
        ("empty", "", [:]),
        ("blank", "   ", [:]),
        ("two keys, Gi and _", "header=1Gi, tensors=2_000", ["header": 1 << 30, "tensors": 2000]),
        ("every suffix", "copy=3G,memo=5M,items=7K,string=1Ti,pickle=2Mi,depth=3Ki,opcodes=2T",
         ["copy": 3_000_000_000, "memo": 5_000_000, "items": 7000, "string": 1 << 40, "pickle": 2 << 20,
          "depth": 3 << 10, "opcodes": 2_000_000_000_000]),
        ("spaces around key and value", " header = 64 ", ["header": 64]),
        ("empty items between commas are skipped", "header=1,,tensors=2,", ["header": 1, "tensors": 2]),
        ("the last of a repeated key wins", "header=1,header=2", ["header": 2]),
        ("zero", "tensors=0", ["tensors": 0]),
        ("largest Int", "copy=9223372036854775807", ["copy": Int.max]),
    ] as [(String, String?, [String: Int])])
    func accepted(_ c: (String, String?, [String: Int])) {
        switch LimitsVariable.parse(c.1) {
        case .success(let v): #expect(v == c.2, "\(c.0)")
        case .failure(let p): Issue.record("\(c.0): refused: \(p.reason)")
        }
    }

    @Test("VFW_LIMITS: every malformed form is refused in the words users see", arguments: [
        ("no =", "header", "VFW_LIMITS: 'header' is not key=value"),
        ("no key", "=5", "VFW_LIMITS: '=5' is not key=value"),
        ("unknown key", "heder=5",
         "VFW_LIMITS: unknown limit 'heder' (known: copy, depth, header, items, memo, opcodes, pickle, string, tensors)"),
        ("keys are case-sensitive", "Header=5", "VFW_LIMITS: unknown limit 'Header' (known: copy, depth, header, items, memo, opcodes, pickle, string, tensors)"),
        ("negative", "header=-1", "VFW_LIMITS: '-1' for header is not a non-negative number like 500000, 200M or 4Gi"),
        ("plus sign", "header=+1", "VFW_LIMITS: '+1' for header is not a non-negative number like 500000, 200M or 4Gi"),
        ("unknown suffix", "header=5X", "VFW_LIMITS: '5X' for header is not a non-negative number like 500000, 200M or 4Gi"),
        ("lower-case suffix", "header=5k", "VFW_LIMITS: '5k' for header is not a non-negative number like 500000, 200M or 4Gi"),
        ("suffix alone", "header=Mi", "VFW_LIMITS: 'Mi' for header is not a non-negative number like 500000, 200M or 4Gi"),
        ("empty value", "header=", "VFW_LIMITS: 'header=' is not key=value"),
        ("fraction", "header=1.5G", "VFW_LIMITS: '1.5G' for header is not a non-negative number like 500000, 200M or 4Gi"),
        ("non-ASCII digits", "header=٣", "VFW_LIMITS: '٣' for header is not a non-negative number like 500000, 200M or 4Gi"),
        ("overflow by suffix", "header=99999999999T", "VFW_LIMITS: '99999999999T' for header is not a non-negative number like 500000, 200M or 4Gi"),
        ("overflow of digits", "header=99999999999999999999", "VFW_LIMITS: '99999999999999999999' for header is not a non-negative number like 500000, 200M or 4Gi"),
        ("first problem wins", "header=1,bad,tensors=x", "VFW_LIMITS: 'bad' is not key=value"),
    ])
    func refused(_ c: (String, String, String)) {
        switch LimitsVariable.parse(c.1) {
        case .success(let v): Issue.record("\(c.0): accepted as \(v)")
        case .failure(let p): #expect(p.reason == c.2, "\(c.0)")
        }
    }

    @Test("apply: a reader takes its own keys, skips the others' and keeps its defaults when the variable is malformed")
    func apply() {
        let fields: [String: WritableKeyPath<ToyLimits, Int>] = ["header": \.header, "tensors": \.tensors]
        let set = LimitsVariable.apply("header=1K,memo=5", to: ToyLimits(), fields: fields)
        #expect(set.limits == ToyLimits(header: 1000, tensors: 7) && set.problem == nil)
        let none = LimitsVariable.apply(nil, to: ToyLimits(), fields: fields)
        #expect(none.limits == ToyLimits() && none.problem == nil)
        let bad = LimitsVariable.apply("header=1K,tensors=lots", to: ToyLimits(), fields: fields)
        #expect(bad.limits == ToyLimits())
        #expect(bad.problem == "VFW_LIMITS: 'lots' for tensors is not a non-negative number like 500000, 200M or 4Gi")
    }

    @Test("byte limits read as people write them", arguments: [
        (100_000_000, "100 MB"), (1 << 30, "1 GiB"), (3 << 30, "3 GiB"), (16_000_000, "16 MB"),
        (100, "100-byte"), (0, "0-byte"), (1 << 20, "1048576-byte"), (1_500_000, "1500000-byte"),
    ])
    func byteLimits(_ c: (Int, String)) {
        #expect(byteLimitText(c.0) == c.1)
    }

    @Test("oneLine escapes what could break the line or drive a terminal", arguments: [
        ("newline, return, tab", "a\nb\rc\td", "a\\nb\\rc\\td"),
        ("ESC of a colour sequence", "\u{1B}[31mred", "\\u{1b}[31mred"),
        ("NUL, BEL, DEL", "\u{0}\u{7}\u{7F}", "\\u{0}\\u{7}\\u{7f}"),
        ("C1 controls (8-bit CSI)", "\u{85}\u{9B}2J", "\\u{85}\\u{9b}2J"),
        ("line and paragraph separators", "a\u{2028}b\u{2029}", "a\\u{2028}b\\u{2029}"),
        ("printable text is kept, non-ASCII too", "layer.0 weight Ωé 名前 🙂 \u{A0}", "layer.0 weight Ωé 名前 🙂 \u{A0}"),
    ])
    func escapes(_ c: (String, String, String)) {
        #expect(oneLine(c.1, limit: 1000) == c.2, "\(c.0)")
    }

    @Test("oneLine cuts after `limit` scalars of the input and marks the cut", arguments: [
        ("shorter than the limit", "abc", 5, "abc"),
        ("exactly the limit", "abcde", 5, "abcde"),
        ("one past the limit", "abcdef", 5, "abcde…"),
        ("an escape counts as one", "\n\n\n\n", 2, "\\n\\n…"),
        ("limit zero", "a", 0, "…"),
        ("empty", "", 0, ""),
        ("no cut at Int.max", String(repeating: "x", count: 10_000), Int.max, String(repeating: "x", count: 10_000)),
    ])
    func cut(_ c: (String, String, Int, String)) {
        #expect(oneLine(c.1, limit: c.2) == c.3, "\(c.0)")
    }
}
