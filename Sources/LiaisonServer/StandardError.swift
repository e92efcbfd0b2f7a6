import Dispatch
import Foundation
public import Logging
import Synchronization

/// The daemon's standard error, where its log lines go in batches (`LineBatches`): one write(2) for each line of the
/// request log was about 6% of a metadata read's hub CPU (paired, `--log-level warning` against `info`).
public enum StandardError {
    static let batches = LineBatches { bytes in
        bytes.withUnsafeBufferPointer { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Foundation.write(STDERR_FILENO, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0, errno == EINTR { continue }
                guard written > 0 else { return }
                offset += written
            }
        }
    }

    public static let write: @Sendable (_ line: [UInt8], _ level: Logger.Level) -> Void = { line, level in batches.write(line, level: level) }

    /// Writes every line that waits (at exit, see `Serve`).
    public static func flush() { batches.flush() }
}

/// Lines gathered into batches for `sink`. A line at `warning` or above is written at once, with every line before it;
/// a line below waits at most `delay`, or until `batch` bytes have gathered. Lines keep their order and never
/// interleave; a crash loses at most the last `delay` of lines below `warning`.
final class LineBatches: Sendable {
    private struct Waiting {
        var bytes: [UInt8] = []
        var flushScheduled = false
    }
    private let waiting = Mutex(Waiting())
    private let sink: @Sendable ([UInt8]) -> Void
    private let flusher = DispatchQueue(label: "liaison.log")
    let delay: DispatchTimeInterval
    let batch: Int

    init(delay: DispatchTimeInterval = .milliseconds(10), batch: Int = 64 << 10, sink: @escaping @Sendable ([UInt8]) -> Void) {
        self.delay = delay
        self.batch = batch
        self.sink = sink
    }

    func write(_ line: [UInt8], level: Logger.Level) {
        let schedule = waiting.withLock { waiting in
            waiting.bytes += line
            if level >= .warning || waiting.bytes.count >= batch {
                // Given to the sink under the lock, so that batches leave in the order their lines came.
                sink(waiting.bytes)
                waiting.bytes.removeAll(keepingCapacity: true)
                return false
            }
            guard !waiting.flushScheduled else { return false }
            waiting.flushScheduled = true
            return true
        }
        if schedule { flusher.asyncAfter(deadline: .now() + delay) { self.flush() } }
    }

    /// Writes every line that waits.
    func flush() {
        waiting.withLock { waiting in
            waiting.flushScheduled = false
            guard !waiting.bytes.isEmpty else { return }
            sink(waiting.bytes)
            waiting.bytes.removeAll(keepingCapacity: true)
        }
    }
}
