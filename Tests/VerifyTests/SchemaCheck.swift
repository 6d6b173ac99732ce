// A small JSON Schema checker for Schemas/verify-report.schema.json, so `swift test` pins the report to its
// schema without Python (the parity job validates with the real jsonschema library). It understands what
// that schema uses: $ref to #/$defs, oneOf, enum, const, type, required, properties, additionalProperties
// false, items, minimum.

import Foundation

enum SchemaCheck {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static let schema: [String: Any] = {
        let data = FileManager.default.contents(atPath: repoPath("Schemas/verify-report.schema.json"))!
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }()

    static func validate(_ document: Any) throws {
        try check(document, against: schema, at: "$")
    }

    static func resolve(_ s: [String: Any]) -> [String: Any] {
        guard let ref = s["$ref"] as? String else { return s }
        precondition(ref.hasPrefix("#/$defs/"), "only local $defs refs: \(ref)")
        let defs = schema["$defs"] as! [String: Any]
        var merged = resolve(defs[String(ref.dropFirst("#/$defs/".count))] as! [String: Any])
        for (k, v) in s where k != "$ref" { merged[k] = v }
        return merged
    }

    static func isBool(_ v: Any) -> Bool { String(describing: type(of: v)).contains("Boolean") || type(of: v) == Bool.self }

    static func check(_ v: Any, against raw: [String: Any], at path: String) throws {
        let s = resolve(raw)
        func fail(_ why: String) -> Failure { Failure(description: "\(path): \(why)") }
        if let options = s["oneOf"] as? [[String: Any]] {
            let ok = options.filter { (try? check(v, against: $0, at: path)) != nil }.count
            guard ok == 1 else { throw fail("matches \(ok) of the oneOf alternatives") }
        }
        if let e = s["enum"] as? [Any] {
            guard e.contains(where: { "\($0)" == "\(v)" && !isBool(v) }) else { throw fail("\(v) not in \(e)") }
        }
        if let c = s["const"] { guard "\(c)" == "\(v)" else { throw fail("\(v) is not \(c)") } }
        if let type = s["type"] as? String {
            let ok: Bool
            switch type {
            case "object": ok = v is [String: Any]
            case "array": ok = v is [Any]
            case "string": ok = v is String
            case "boolean": ok = isBool(v)
            case "number": ok = v is NSNumber && !isBool(v)
            case "integer": ok = (v as? NSNumber).map { !isBool(v) && $0.doubleValue == $0.doubleValue.rounded() } ?? false
            default: ok = false
            }
            guard ok else { throw fail("\(v) is not of type \(type)") }
        }
        if let min = s["minimum"] as? Double, let n = v as? NSNumber, !isBool(v) {
            guard n.doubleValue >= min else { throw fail("\(n) < minimum \(min)") }
        }
        if let obj = v as? [String: Any], (s["type"] as? String) == "object" {
            for r in s["required"] as? [String] ?? [] where obj[r] == nil { throw fail("missing required '\(r)'") }
            let props = s["properties"] as? [String: Any] ?? [:]
            for (k, value) in obj {
                if let p = props[k] as? [String: Any] {
                    try check(value, against: p, at: path + "." + k)
                } else if (s["additionalProperties"] as? Bool) == false {
                    throw fail("unexpected property '\(k)'")
                }
            }
        }
        if let arr = v as? [Any], let items = s["items"] as? [String: Any] {
            for (i, x) in arr.enumerated() { try check(x, against: items, at: "\(path)[\(i)]") }
        }
    }
}
