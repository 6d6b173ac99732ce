// Running the real `vfw` binary the way a user does, and reading what it printed and how it exited.

import Foundation
import Testing

struct RunResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// The `vfw` executable built beside this test bundle.
let vfwBinary: String = {
    let me = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0]).resolvingSymlinksInPath()
    var dir = me.deletingLastPathComponent()
    // The test runner may be inside a bundle folder (vfwPackageTests.xctest/...); walk up until vfw is found.
    for _ in 0..<4 {
        let candidate = dir.appendingPathComponent("vfw").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        dir = dir.deletingLastPathComponent()
    }
    return "vfw"
}()

@discardableResult
func runVFW(_ args: [String], environment: [String: String] = [:], cwd: String? = nil) throws -> RunResult {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: vfwBinary)
    p.arguments = args
    var env = ProcessInfo.processInfo.environment
    for (k, v) in environment { env[k] = v }
    p.environment = env
    if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    // Read both pipes before waiting so a chatty command cannot block on a full pipe.
    final class Box: @unchecked Sendable { var data = Data() }
    let outBox = Box()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async { outBox.data = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    let outData = outBox.data
    p.waitUntilExit()
    return RunResult(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                     stderr: String(decoding: errData, as: UTF8.self))
}

func fixture(_ relative: String, file: StaticString = #filePath) -> String {
    URL(fileURLWithPath: "\(file)").deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/\(relative)").path
}

/// A fresh empty folder for one test.
func scratchDir(_ name: String) -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vfw-cli-\(getpid())-\(name)").path
    try? FileManager.default.removeItem(atPath: dir)
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}
