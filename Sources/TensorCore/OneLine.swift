// Text a file chose (tensor names, metadata, pickle strings) made safe to print on one line of a terminal.

/// `s` escaped and cut for one line of output: text from a hostile file may hold newlines, terminal escapes or
/// megabytes. `\n`, `\r` and `\t` become those two-character escapes; other C0 controls, DEL, C1 controls
/// (0x80-0x9F, which some terminals also obey) and U+2028/U+2029 (line and paragraph separators) become `\u{hex}`.
/// After `limit` unicode scalars of `s` the rest is dropped and "…" marks the cut (an escape counts as one).
/// `limit` has no default: each module keeps its own (2000 characters for a whole .vfw or safetensors message,
/// 300 for each value a torch message quotes), and a module's own one-argument `oneLine` (Imaging's) stays
/// the only match for its calls.
public func oneLine(_ s: String, limit: Int) -> String {
    var out = ""
    var n = 0
    for scalar in s.unicodeScalars {
        if n >= limit { out += "…"; break }
        switch scalar {
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if scalar.value < 0x20 || scalar.value == 0x7F || (0x2028...0x2029).contains(scalar.value) || (0x80..<0xA0).contains(scalar.value) {
                out += "\\u{" + String(scalar.value, radix: 16) + "}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        n += 1
    }
    return out
}
