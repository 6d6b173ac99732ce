// libm through Foundation, named so the generic Swift functions do not shadow them.

import Foundation

@inline(__always) func Foundation_log(_ x: Double) -> Double { log(x) }
@inline(__always) func Foundation_cos(_ x: Double) -> Double { cos(x) }
