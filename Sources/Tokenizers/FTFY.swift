// ftfy.fix_text with its default TextFixerConfig (ftfy 6.3), minus the heuristic mojibake repair, and Python's
// html.unescape. Both work on Unicode scalars, as Python strings index code points.
//
// What runs, per segment (a line with its "\n", cut at 1,000,000 code points), repeated until nothing changes:
// unescape_html ("auto": skipped for this segment and every later one once a segment holds "<"), fix_c1_controls
// (U+0080-U+009F decoded as windows-1252, the five undefined bytes kept), fix_latin_ligatures, fix_character_width,
// uncurl_quotes, fix_line_breaks, remove_terminal_escapes, remove_control_chars, NFC. Not reproduced:
// fix_encoding and its sub-fixes (restore_byte_a0, replace_lossy_sequences, decode_inconsistent_utf8), which guess
// whether text is mojibake: vfw assumes well-formed text (README "Text (CLIP tokenizer)"). fix_surrogates has
// nothing to do: a Swift string holds no lone surrogate.

import Foundation

enum FTFY {
    typealias Scalars = [Unicode.Scalar]

    static func fixText(_ text: Scalars) -> Scalars {
        var out = Scalars()
        out.reserveCapacity(text.count)
        var unescape = true   // "auto"
        var pos = 0
        while pos < text.count {
            var end = text[pos...].firstIndex(of: "\n").map { $0 + 1 } ?? text.count
            if end - pos > 1_000_000 { end = pos + 1_000_000 }
            let segment = Array(text[pos..<end])
            if unescape && segment.contains("<") { unescape = false }
            out.append(contentsOf: fixSegment(segment, unescapeHTML: unescape))
            pos = end
        }
        return out
    }

    static func fixSegment(_ segment: Scalars, unescapeHTML: Bool) -> Scalars {
        var text = segment
        while true {
            let original = text
            if unescapeHTML { text = unescapeEntities(text) }
            text = text.map(c1Fix)
            text = text.flatMap { ligatures[$0.value].map { Array($0.unicodeScalars) } ?? [$0] }
            text = text.flatMap { widthMap[$0.value] ?? [$0] }
            text = text.map(uncurl)
            text = fixLineBreaks(text)
            text = removeTerminalEscapes(text)
            text = text.filter { !isControl($0.value) }
            text = Array(String(String.UnicodeScalarView(text)).precomposedStringWithCanonicalMapping.unicodeScalars)
            if text == original { return text }
        }
    }

    // MARK: unescape_html

    /// ftfy's HTML_ENTITY_RE `&#?[0-9A-Za-z]{1,24};`, each match replaced by `_unescape_fixup`.
    static func unescapeEntities(_ s: Scalars) -> Scalars {
        guard s.contains("&") else { return s }
        var out = Scalars()
        var i = 0
        while i < s.count {
            guard s[i] == "&" else { out.append(s[i]); i += 1; continue }
            var j = i + 1
            if j < s.count && s[j] == "#" { j += 1 }
            let runStart = j
            while j < s.count && isASCIIAlnum(s[j]) { j += 1 }
            let run = j - runStart
            guard run >= 1 && run <= 24 && j < s.count && s[j] == ";" else { out.append(s[i]); i += 1; continue }
            let match = Array(s[i...j])
            out.append(contentsOf: fixup(match))
            i = j + 1
        }
        return out
    }

    private static func fixup(_ match: Scalars) -> Scalars {
        let name = String(String.UnicodeScalarView(match.dropFirst()))
        if let v = HTML.html5[name] { return v }
        if let v = upperEntities[name] { return v }
        if match.count > 1 && match[1] == "#" {
            let decoded = HTML.unescape(match)
            return decoded.contains(";") ? match : decoded
        }
        return match
    }

    private static let upperEntities = CLIPTextTableParser.parse(CLIPTextTables.ftfyUpper)

    // MARK: the character fixes

    /// windows-1252 for 0x80-0x9F ("sloppy": 0x81, 0x8D, 0x8F, 0x90, 0x9D decode to themselves).
    private static let cp1252: [UInt32] = [
        0x20AC, 0x81, 0x201A, 0x192, 0x201E, 0x2026, 0x2020, 0x2021, 0x2C6, 0x2030, 0x160, 0x2039, 0x152, 0x8D, 0x17D, 0x8F,
        0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x2DC, 0x2122, 0x161, 0x203A, 0x153, 0x9D, 0x17E, 0x178,
    ]

    private static func c1Fix(_ c: Unicode.Scalar) -> Unicode.Scalar {
        (0x80...0x9F).contains(c.value) ? Unicode.Scalar(cp1252[Int(c.value - 0x80)])! : c
    }

    private static let ligatures: [UInt32: String] = [
        0x132: "IJ", 0x133: "ij", 0x149: "\u{2BC}n", 0x1F1: "DZ", 0x1F2: "Dz", 0x1F3: "dz", 0x1C4: "D\u{17D}",
        0x1C5: "D\u{17E}", 0x1C6: "d\u{17E}", 0x1C7: "LJ", 0x1C8: "Lj", 0x1C9: "lj", 0x1CA: "NJ", 0x1CB: "Nj", 0x1CC: "nj",
        0xFB00: "ff", 0xFB01: "fi", 0xFB02: "fl", 0xFB03: "ffi", 0xFB04: "ffl", 0xFB05: "\u{17F}t", 0xFB06: "st",
    ]

    private static let widthMap: [UInt32: Scalars] = {
        var map = [UInt32: Scalars]()
        for (key, value) in CLIPTextTableParser.parse(CLIPTextTables.width) { map[UInt32(key, radix: 16)!] = value }
        return map
    }()

    /// SINGLE_QUOTE_RE [\u02bc\u2018-\u201b] -> ', DOUBLE_QUOTE_RE [\u201c-\u201f] -> ".
    private static func uncurl(_ c: Unicode.Scalar) -> Unicode.Scalar {
        switch c.value {
        case 0x2BC, 0x2018...0x201B: return "'"
        case 0x201C...0x201F: return "\""
        default: return c
        }
    }

    /// \r\n, \r, U+2028, U+2029, U+0085 -> \n.
    private static func fixLineBreaks(_ s: Scalars) -> Scalars {
        var out = Scalars()
        out.reserveCapacity(s.count)
        var i = 0
        while i < s.count {
            switch s[i].value {
            case 0x0D:
                out.append("\n")
                if i + 1 < s.count && s[i + 1] == "\n" { i += 1 }
            case 0x2028, 0x2029, 0x85: out.append("\n")
            default: out.append(s[i])
            }
            i += 1
        }
        return out
    }

    /// ANSI_RE `\033\[((?:\d|;)*)([a-zA-Z])` removed (\d: Python re's Unicode decimal digits).
    private static func removeTerminalEscapes(_ s: Scalars) -> Scalars {
        guard s.contains("\u{1B}") else { return s }
        var out = Scalars()
        var i = 0
        while i < s.count {
            if s[i] == "\u{1B}" && i + 1 < s.count && s[i + 1] == "[" {
                var j = i + 2
                while j < s.count && (s[j] == ";" || s[j].properties.generalCategory == .decimalNumber) { j += 1 }
                if j < s.count && s[j].isASCII && s[j].properties.isAlphabetic {
                    i = j + 1
                    continue
                }
            }
            out.append(s[i])
            i += 1
        }
        return out
    }

    /// remove_control_chars: U+00-08, 0B, 0E-1F, 7F, U+206A-206F, U+FEFF, U+FFF9-FFFC.
    private static func isControl(_ v: UInt32) -> Bool {
        v <= 0x08 || v == 0x0B || (0x0E...0x1F).contains(v) || v == 0x7F || (0x206A...0x206F).contains(v)
            || v == 0xFEFF || (0xFFF9...0xFFFC).contains(v)
    }

    private static func isASCIIAlnum(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        default: return false
        }
    }
}

/// Python's html.unescape (HTML5 rules: numeric references with the WHATWG replacements, named references with and
/// without ';', the longest known prefix of an unknown name).
enum HTML {
    typealias Scalars = [Unicode.Scalar]

    static let html5: [String: Scalars] = CLIPTextTableParser.parse(CLIPTextTables.html5)

    /// The regex `&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)`, each match replaced as _replace_charref.
    static func unescape(_ s: Scalars) -> Scalars {
        guard s.contains("&") else { return s }
        var out = Scalars()
        out.reserveCapacity(s.count)
        var i = 0
        while i < s.count {
            guard s[i] == "&", i + 1 < s.count else { out.append(s[i]); i += 1; continue }
            if s[i + 1] == "#" {
                var j = i + 2
                var hex = false
                if j < s.count && (s[j] == "x" || s[j] == "X") { hex = true; j += 1 }
                let digitsStart = j
                while j < s.count && (hex ? s[j].properties.isASCIIHexDigit : ("0"..."9").contains(s[j])) { j += 1 }
                if j == digitsStart {
                    // "&#x" without hex digits: the decimal alternative failed on 'x', so no match at all.
                    out.append(s[i]); i += 1; continue
                }
                let digits = String(String.UnicodeScalarView(s[digitsStart..<j]))
                if j < s.count && s[j] == ";" { j += 1 }
                out.append(contentsOf: numeric(digits, radix: hex ? 16 : 10))
                i = j
                continue
            }
            var j = i + 1
            while j < s.count && j - (i + 1) < 32 && !"\t\n\u{0C} <&#;".unicodeScalars.contains(s[j]) { j += 1 }
            if j == i + 1 { out.append(s[i]); i += 1; continue }
            if j < s.count && s[j] == ";" { j += 1 }
            out.append(contentsOf: named(Array(s[(i + 1)..<j])))
            i = j
        }
        return out
    }

    private static func numeric(_ digits: String, radix: Int) -> Scalars {
        // Python parses any length; anything past U+10FFFF is U+FFFD, so saturate.
        let trimmed = digits.drop { $0 == "0" }
        let num: UInt32 = trimmed.count > 8 ? UInt32.max : (UInt32(trimmed.isEmpty ? "0" : String(trimmed), radix: radix) ?? UInt32.max)
        if let replacement = invalidCharrefs[num] { return [Unicode.Scalar(replacement)!] }
        if (0xD800...0xDFFF).contains(num) || num > 0x10FFFF { return ["\u{FFFD}"] }
        if isInvalidCodepoint(num) { return [] }
        return [Unicode.Scalar(num)!]
    }

    private static let invalidCharrefs: [UInt32: UInt32] = {
        var map: [UInt32: UInt32] = [0x00: 0xFFFD, 0x0D: 0x0D]
        let cp1252: [UInt32] = [
            0x20AC, 0x81, 0x201A, 0x192, 0x201E, 0x2026, 0x2020, 0x2021, 0x2C6, 0x2030, 0x160, 0x2039, 0x152, 0x8D, 0x17D, 0x8F,
            0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x2DC, 0x2122, 0x161, 0x203A, 0x153, 0x9D, 0x17E, 0x178,
        ]
        for (k, v) in cp1252.enumerated() { map[0x80 + UInt32(k)] = v }
        return map
    }()

    /// html._invalid_codepoints: C0 controls but tab/newlines, 0x7F-0x9F, U+FDD0-FDEF, 0x0B, every U+xFFFE/xFFFF.
    private static func isInvalidCodepoint(_ v: UInt32) -> Bool {
        (0x1...0x8).contains(v) || v == 0xB || (0xE...0x1F).contains(v) || (0x7F...0x9F).contains(v)
            || (0xFDD0...0xFDEF).contains(v) || (v & 0xFFFE) == 0xFFFE
    }

    private static func named(_ s: Scalars) -> Scalars {
        if let v = html5[String(String.UnicodeScalarView(s))] { return v }
        var x = s.count - 1
        while x > 1 {
            if let v = html5[String(String.UnicodeScalarView(s[..<x]))] { return v + s[x...] }
            x -= 1
        }
        return ["&"] + s
    }
}

/// Parses the generated tables: `name=HEX.HEX|name=HEX|...`.
enum CLIPTextTableParser {
    static func parse(_ table: String) -> [String: [Unicode.Scalar]] {
        var map = [String: [Unicode.Scalar]]()
        for entry in table.split(separator: "|") {
            guard let eq = entry.firstIndex(of: "=") else { continue }
            let value = entry[entry.index(after: eq)...].split(separator: ".").map { Unicode.Scalar(UInt32($0, radix: 16)!)! }
            map[String(entry[..<eq])] = value
        }
        return map
    }
}
