import Foundation

/// A one-line progress bar on standard error, shown only when it is a terminal.
final class Progress {
    let label: String
    let enabled = isatty(STDERR_FILENO) == 1

    init(label: String) { self.label = label }

    func show(_ done: Int, of total: Int) {
        guard enabled, total > 0 else { return }
        let width = 30
        let filled = min(width, done * width / total)
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        FileHandle.standardError.write(Data("\r\(label) [\(bar)] \(done)/\(total)".utf8))
    }

    func done() {
        if enabled { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}
