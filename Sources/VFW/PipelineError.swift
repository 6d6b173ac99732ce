// What the pipeline reports when its input is wrong: one sentence that starts with the file or folder and says
// how to fix it. The command line prints it on one line and exits 2.

/// A problem with what the caller gave the pipeline (a file, a folder, a reference, a weight file for another
/// model). The readers' and the models' own errors are wrapped with the path they concern.
public enum PipelineError: Error, CustomStringConvertible, Equatable {
    /// Bad input; the message starts with the path it concerns.
    case input(String)

    public var description: String {
        switch self {
        case .input(let message): return message
        }
    }
}
