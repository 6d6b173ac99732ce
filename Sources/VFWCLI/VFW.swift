// The `vfw` command: parses arguments, calls the VFW library, prints. Exit codes: 0 success, 1 a numeric check
// failed, 2 bad input or usage (one line on stderr).

import ArgumentParser
import Foundation
import VFW

#if canImport(Glibc)
import Glibc
import TensorCore
#endif

@main
struct VFW: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vfw",
        abstract: "Take image models out of PyTorch and prove they still compute the same thing.",
        discussion: """
        Exit codes: 0 success, 1 a numeric check failed (verify), 2 bad input or usage.
        """,
        version: vfwVersion,
        subcommands: [Convert.self, Inspect.self, VerifyCommand.self, Embed.self, Classify.self, Similar.self, Index.self, Search.self, Synth.self, Bench.self, Tokenize.self])

    /// Runs the command; usage errors and bad input exit with 2 and one line on stderr, never a trace.
    static func main() {
        setvbuf(stdout, nil, _IOLBF, 0)
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let e as ExitCode {
            Glibc.exit(e.rawValue)
        } catch let e as CleanExit {
            VFW.exit(withError: e)
        } catch let e as NumericFailure {
            FileHandle.standardError.write(Data("\(e)\n".utf8))
            Glibc.exit(1)
        } catch {
            let code = VFW.exitCode(for: error)
            if code == .success { VFW.exit(withError: error) }
            // ArgumentParser errors (help, usage) carry their own text; everything else is one line.
            if isArgumentParserError(error) {
                FileHandle.standardError.write(Data((VFW.fullMessage(for: error) + "\n").utf8))
            } else {
                // Modules escape what a file put in their messages; paths from a folder listing (index) or the
                // command line may still hold newlines or terminal escapes, so the line is escaped once more
                // here (idempotent: escaped text has no control characters left).
                FileHandle.standardError.write(Data("error: \(oneLine(String(describing: error), limit: messageLimit))\n".utf8))
            }
            Glibc.exit(2)
        }
    }

    /// Longest message or name vfw prints on one line (PATH_MAX is 4096).
    static let messageLimit = 8192

    static func isArgumentParserError(_ error: Error) -> Bool {
        error is ValidationError || String(reflecting: type(of: error)).hasPrefix("ArgumentParser.")
    }
}

/// A numeric check failed (exit 1): the report was already printed; this is the closing line.
struct NumericFailure: Error, CustomStringConvertible {
    var description: String
}

/// An input problem found by the CLI itself (exit 2).
struct InputError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
