import Dispatch
import Foundation
import Logging

/// How long a hub told to stop may take. The first SIGTERM or SIGINT starts the service group's graceful shutdown,
/// which waits for the requests in flight, and a client reading a large payload slowly could make that last for
/// hours (a second signal did nothing: the group traps both and listens once). The group is given `grace` before it
/// cancels what is left (`Serve` sets `maximumGracefulShutdownDuration`); this is the backstop behind it: the process
/// exits `backstop` after the first signal if it has not by then, and at once on a second signal (one that comes a
/// second or more after the first: a terminal's Ctrl-C and a wrapper passing it on are one stop). Either way every
/// write the hub acknowledged is already durable; what is lost is the answers still being sent.
final class StopDeadline: @unchecked Sendable {
    /// Past the grace, for cancelled work to wind down (closing connections, the audit head's last signature, whose
    /// database wait is bounded by its own deadline of 10 s).
    static let windDown: Duration = .seconds(15)
    /// Signals within this of the first are taken as the same request to stop.
    static let sameStop: Duration = .seconds(1)

    private let grace: Duration
    private let logger: Logger
    private let queue = DispatchQueue(label: "stop deadline")
    /// When the first signal came; read and changed on `queue` only.
    private var firstSignal: ContinuousClock.Instant?
    private var sources: [any DispatchSourceSignal] = []

    init(grace: Duration, logger: Logger) {
        self.grace = grace
        self.logger = logger
    }

    /// Watches for SIGTERM and SIGINT from now on (the service group traps them too; each signal reaches both).
    func watch() {
        sources = [SIGTERM, SIGINT].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { [self] in signalled() }
            source.resume()
            return source
        }
    }

    private func signalled() {
        guard let first = firstSignal else {
            firstSignal = .now
            let backstop = grace + Self.windDown
            logger.notice("stopping: finishing the requests in flight for up to \(grace.components.seconds) s; a second SIGTERM or SIGINT stops at once")
            queue.asyncAfter(deadline: .now() + .seconds(Int(backstop.components.seconds))) { [self] in
                exitNow("liaisond did not stop within \(backstop.components.seconds) s of being told to; exiting now")
            }
            return
        }
        // Ctrl-C in a terminal reaches every process of its group, and a wrapper script may pass on the same stop:
        // signals that close together are one request to stop; a second one comes later.
        guard ContinuousClock.now - first >= Self.sameStop else { return }
        exitNow("told to stop again; exiting now without waiting for the requests in flight")
    }

    /// Ends the process at once: the data folder's lock and every connection go with it; SQLite and PostgreSQL keep
    /// what was committed.
    private func exitNow(_ message: Logger.Message) -> Never {
        logger.error(message)
        _exit(3)
    }
}
