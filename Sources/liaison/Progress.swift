import Foundation

/// A one-line progress bar on standard error with the rate and the time left, shown only when standard error is a
/// terminal, and, for a command whose output goes to standard output, only when that output does not go to the
/// same terminal (so the bar never mixes with it: `liaison audit export > trail.jsonl` shows it, a pipe to `less` not).
final class Progress {
    let label: String
    /// What is counted, e.g. `entries`.
    let unit: String
    let enabled: Bool
    private let started = ContinuousClock.now
    private var lastDrawn = ContinuousClock.now - .seconds(1)

    init(label: String, unit: String = "items", printsToStandardOutput: Bool = false) {
        self.label = label
        self.unit = unit
        enabled = isatty(STDERR_FILENO) == 1 && !(printsToStandardOutput && isatty(STDOUT_FILENO) == 1)
    }

    func show(_ done: Int, of total: Int) {
        guard enabled, total > 0 else { return }
        // Redrawn at most ten times a second: a fast loop would spend its time on the terminal.
        let now = ContinuousClock.now
        guard now - lastDrawn >= .milliseconds(100) || done >= total else { return }
        lastDrawn = now
        let width = 30
        let filled = min(width, done * width / total)
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let elapsed = Self.seconds(now - started)
        var line = "\r\(label) [\(bar)] \(done)/\(total) \(unit)"
        if elapsed >= 0.5, done > 0 {
            let rate = Double(done) / elapsed
            line += ", \(Self.count(rate))/s"
            if done < total { line += ", \(Self.duration(Double(total - done) / rate)) left" }
        }
        FileHandle.standardError.write(Data((line + "\u{1B}[K").utf8))
    }

    func done() {
        if enabled { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// 950, 12.3k, 4.5M.
    static func count(_ value: Double) -> String {
        switch value {
        case ..<1000: return String(Int(value))
        case ..<1_000_000: return String(format: "%.1fk", value / 1000)
        default: return String(format: "%.1fM", value / 1_000_000)
        }
    }

    /// 42s, 3m05s, 2h10m.
    static func duration(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded(.up))
        if whole < 60 { return "\(whole)s" }
        if whole < 3600 { return String(format: "%dm%02ds", whole / 60, whole % 60) }
        return String(format: "%dh%02dm", whole / 3600, (whole % 3600) / 60)
    }
}
