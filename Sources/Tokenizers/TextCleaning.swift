// Text cleaning before CLIP's pre-tokenizer, one function per library, on Unicode scalars (Python's and Rust's
// strings index code points):
//
// - open_clip (`clean='lower'`): ftfy.fix_text (its deterministic fixes; see `FTFY`), html.unescape twice, strip,
//   " ".join(text.split()), str.lower() (full case mapping with the final-sigma rule);
// - transformers' CLIPTokenizer (tokenizers backend): NFC, Replace(\s+ -> " "), Lowercase (full case mapping per
//   code point, no final-sigma rule).

import Foundation

enum TextCleaning {
    typealias Scalars = [Unicode.Scalar]

    // MARK: open_clip

    /// open_clip's `_clean_lower`: whitespace_clean(basic_clean(text)).lower().
    static func openCLIP(_ text: String) -> Scalars {
        var s = FTFY.fixText(Array(text.unicodeScalars))
        s = HTML.unescape(HTML.unescape(s))
        s = pythonStrip(s)
        s = pythonSplitJoin(s)
        return pythonLower(s)
    }

    /// Python's str.isspace().
    static func isPythonSpace(_ c: Unicode.Scalar) -> Bool { pythonSpaces.contains(c.value) }
    private static let pythonSpaces = Set(CLIPTextTables.pythonSpace)

    /// str.strip() with no argument.
    static func pythonStrip(_ s: Scalars) -> Scalars {
        guard let first = s.firstIndex(where: { !isPythonSpace($0) }),
              let last = s.lastIndex(where: { !isPythonSpace($0) }) else { return [] }
        return Array(s[first...last])
    }

    /// " ".join(s.split()).
    static func pythonSplitJoin(_ s: Scalars) -> Scalars {
        var out = Scalars()
        out.reserveCapacity(s.count)
        var pendingSpace = false
        for c in s {
            if isPythonSpace(c) {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.append(" ") }
                pendingSpace = false
                out.append(c)
            }
        }
        return out
    }

    /// Python's str.lower(): each code point's full lower-case mapping (SpecialCasing's unconditional entries, so
    /// U+0130 becomes "i̇"), and U+03A3 becomes final ς when a cased letter precedes it and none follows (case-ignorable
    /// code points skipped both ways), as CPython's handle_capital_sigma decides.
    static func pythonLower(_ s: Scalars) -> Scalars {
        var out = Scalars()
        out.reserveCapacity(s.count)
        for (i, c) in s.enumerated() {
            if c.value == 0x3A3 {
                out.append(isFinalSigma(s, at: i) ? "\u{3C2}" : "\u{3C3}")
            } else {
                out.append(contentsOf: lowerMapping(c))
            }
        }
        return out
    }

    private static func isFinalSigma(_ s: Scalars, at i: Int) -> Bool {
        var j = i - 1
        while j >= 0 && s[j].properties.isCaseIgnorable { j -= 1 }
        guard j >= 0 && s[j].properties.isCased else { return false }
        j = i + 1
        while j < s.count && s[j].properties.isCaseIgnorable { j += 1 }
        return j == s.count || !s[j].properties.isCased
    }

    private static func lowerMapping(_ c: Unicode.Scalar) -> Scalars {
        if c.isASCII {
            return (c.value >= 0x41 && c.value <= 0x5A) ? [Unicode.Scalar(c.value + 32)!] : [c]
        }
        return Array(c.properties.lowercaseMapping.unicodeScalars)
    }

    // MARK: transformers

    /// CLIPTokenizer's normalizer: NFC, every run of white space (Unicode White_Space, as Oniguruma's \s) replaced by one
    /// space, then each code point's full lower-case mapping (Rust's char::to_lowercase: no final-sigma context).
    static func transformers(_ text: String) -> Scalars {
        let nfc = Array(text.precomposedStringWithCanonicalMapping.unicodeScalars)
        var out = Scalars()
        out.reserveCapacity(nfc.count)
        var inSpace = false
        for c in nfc {
            if c.properties.isWhitespace {
                if !inSpace { out.append(" ") }
                inSpace = true
            } else {
                inSpace = false
                out.append(contentsOf: lowerMapping(c))
            }
        }
        return out
    }
}
