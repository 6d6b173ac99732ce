// Per-tap tolerance rules: the GLOB=T syntax, glob matching over tap names, the last matching rule winning,
// and the defaults by weight precision.

import Foundation
import Testing
import TensorCore
@testable import Verify

@Suite("TolerancePolicy and globs")
struct TolerancePolicyTests {
    @Test("globs: * spans dots, ? one character, classes, literal . and #", arguments: [
        ("layer4.*", "layer4.0", true), ("layer4.*", "layer4.1.conv2", true), ("layer4.*", "layer4", false),
        ("layer?.0", "layer3.0", true), ("layer?.0", "layer3.1", false), ("layer[12].*", "layer2.1", true),
        ("layer[12].*", "layer3.1", false), ("layer[!12].0", "layer3.0", true), ("layer[1-3].0", "layer4.0", false),
        ("*.relu#2", "layer1.0.relu#2", true), ("*.relu#2", "layer1.0.relu", false), ("fc", "fc", true),
        ("fc", "fc2", false), ("*", "anything.at.all", true), ("conv1", "layer1.0.conv1", false),
        ("*conv1", "layer1.0.conv1", true), ("a[b", "a[b", true), ("l*.*.bn?", "layer2.0.bn2", true),
    ])
    func glob(_ c: (String, String, Bool)) {
        #expect(globMatch(c.0, c.1) == c.2, "\(c.0) vs \(c.1)")
    }

    @Test("parsing rules: GLOB=T sets both, GLOB=ATOL,RTOL each; bad ones say how to write them")
    func parse() throws {
        #expect(try ToleranceRule.parse("layer4.*=1e-3") == ToleranceRule(pattern: "layer4.*", atol: 1e-3, rtol: 1e-3))
        #expect(try ToleranceRule.parse("fc=1e-5,0") == ToleranceRule(pattern: "fc", atol: 1e-5, rtol: 0))
        #expect(try ToleranceRule.parse("a=b=0.5") == ToleranceRule(pattern: "a=b", atol: 0.5, rtol: 0.5))
        for bad in ["layer4.*", "=1e-3", "fc=", "fc=-1", "fc=1,2,3", "fc=nan", "fc=x"] {
            #expect(throws: VerifyError.self, "\(bad)") { try ToleranceRule.parse(bad) }
        }
        do {
            _ = try ToleranceRule.parse("fc=x")
        } catch let e as VerifyError {
            #expect(e.description == "--tolerance-for 'fc=x': 'x' is not one or two non-negative numbers; write GLOB=T (atol = rtol = T) or GLOB=ATOL,RTOL, e.g. 'layer4.*=1e-3'")
        }
    }

    @Test("the last matching rule wins; unmatched taps get the default; the metric is the default's")
    func lastMatchWins() {
        let p = TolerancePolicy(base: Tolerance(atol: 1e-4, rtol: 1e-4, metric: .maxAbs), rules: [
            ToleranceRule(pattern: "layer4.*", atol: 1e-3, rtol: 1e-3),
            ToleranceRule(pattern: "layer4.1", atol: 5e-3, rtol: 0),
            ToleranceRule(pattern: "layer*", atol: 2e-3, rtol: 2e-3),
        ])
        #expect(p.tolerance(for: "conv1") == Tolerance(atol: 1e-4, rtol: 1e-4, metric: .maxAbs))
        #expect(p.tolerance(for: "layer4.1") == Tolerance(atol: 2e-3, rtol: 2e-3, metric: .maxAbs))  // "layer*" is last
        #expect(p.rule(for: "layer4.0")?.pattern == "layer*")
        let q = TolerancePolicy(base: Tolerance(), rules: Array(p.rules.prefix(2)))
        #expect(q.tolerance(for: "layer4.1").atol == 5e-3 && q.tolerance(for: "layer4.0").atol == 1e-3)
        #expect(q.rule(for: "fc") == nil)
    }

    @Test("defaults by weight precision: f32 1e-4, f16 1e-2, bf16 1e-1")
    func defaults() {
        #expect(TolerancePolicy.defaultValue(weights: .f32) == 1e-4)
        #expect(TolerancePolicy.defaultValue(weights: .f64) == 1e-4)
        #expect(TolerancePolicy.defaultValue(weights: .f16) == 1e-2)
        #expect(TolerancePolicy.defaultValue(weights: .bf16) == 1e-1)
    }
}
