internal import CSpawn
internal import Glibc
public import Foundation

/// A child process started with `posix_spawn`, in place of Foundation's `Process`.
///
/// Foundation's `Process.run()` on Linux lists /proc/self/fd with a 256-byte copy of each `dirent.d_name`, which reads
/// past glibc's buffer and crashes about once in a few hundred spawns (swift-corelibs-foundation PR #5472, not in
/// this toolchain). Here the child closes every descriptor above 2 itself (`addclosefrom`), starts with an empty
/// signal mask and default dispositions (a parent that ignores SIGPIPE or blocks SIGTERM on a thread must not hand
/// that on), and is reaped by whoever asks first.
public final class ChildProcess: @unchecked Sendable {
    /// Where one of the child's standard streams goes.
    public enum Stream: Sendable {
        /// The same file as this process's.
        case inherit
        /// /dev/null.
        case null
        /// A file, created if missing (mode 0644) and appended to.
        case file(String)
        /// A pipe whose other end this process holds (`input`, `output` or `errors`).
        case pipe
    }

    /// How the child ended.
    public enum Termination: Equatable, Sendable {
        case exited(Int32)
        case signalled(Int32)

        /// The exit code, or the signal's number for a child a signal ended (as Foundation's `terminationStatus`).
        public var status: Int32 {
            switch self {
            case .exited(let code): code
            case .signalled(let signal): signal
            }
        }
    }

    public let processIdentifier: Int32
    /// This process's ends of the pipes asked for, open until `closeInput()` or the process object goes away.
    public private(set) var input: Int32?
    public let output: Int32?
    public let errors: Int32?

    private let lock = NSLock()
    private var ended: Termination?

    public init(executable: String, arguments: [String], environment: [String: String]? = nil, directory: String? = nil,
                input inputStream: Stream = .null, output outputStream: Stream = .inherit, errors errorStream: Stream = .inherit) throws {
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawnattr_init(&attributes)
        defer {
            posix_spawn_file_actions_destroy(&actions)
            posix_spawnattr_destroy(&attributes)
        }
        // The child's ends of the pipes, closed here once it has them.
        var childEnds: [Int32] = []
        defer { childEnds.forEach { _ = close($0) } }
        var parentEnds: [Int32] = []
        // A file action not taken would leak descriptors into the child or start it in the wrong place.
        func check(_ code: Int32) throws {
            guard code == 0 else { throw ChildProcessError.spawn(executable, code) }
        }
        func arrange(_ stream: Stream, as target: Int32, childWrites: Bool) throws -> Int32? {
            switch stream {
            case .inherit:
                return nil
            case .null:
                try check(posix_spawn_file_actions_addopen(&actions, target, "/dev/null", childWrites ? O_WRONLY : O_RDONLY, 0))
                return nil
            case .file(let path):
                try check(posix_spawn_file_actions_addopen(&actions, target, path, O_WRONLY | O_CREAT | O_APPEND, 0o644))
                return nil
            case .pipe:
                var ends: [Int32] = [-1, -1]
                // Both ends close on exec; dup2 gives the child its end as `target` without the flag.
                guard cspawn_pipe_cloexec(&ends) == 0 else { throw ChildProcessError.spawn(executable, errno) }
                let (mine, theirs) = childWrites ? (ends[0], ends[1]) : (ends[1], ends[0])
                childEnds.append(theirs)
                parentEnds.append(mine)
                try check(posix_spawn_file_actions_adddup2(&actions, theirs, target))
                return mine
            }
        }
        do {
            input = try arrange(inputStream, as: 0, childWrites: false)
            output = try arrange(outputStream, as: 1, childWrites: true)
            errors = try arrange(errorStream, as: 2, childWrites: true)
            try check(cspawn_addclosefrom(&actions, 3))
            if let directory { try check(cspawn_addchdir(&actions, directory)) }
        } catch {
            parentEnds.forEach { _ = close($0) }
            throw error
        }

        var noSignals = sigset_t(), everySignal = sigset_t()
        sigemptyset(&noSignals)
        sigfillset(&everySignal)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &everySignal)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let environment = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        let spawned = Self.withCStrings([executable] + arguments) { argv in
            Self.withCStrings(environment) { envp in posix_spawn(&pid, executable, &actions, &attributes, argv, envp) }
        }
        guard spawned == 0 else {
            parentEnds.forEach { _ = close($0) }
            throw ChildProcessError.spawn(executable, spawned)
        }
        processIdentifier = pid
    }

    deinit {
        [input, output, errors].compactMap { $0 }.forEach { _ = close($0) }
    }

    /// Sends `signal` to the child, unless it has been reaped (its pid may belong to another process by then).
    public func send(_ signal: Int32) {
        lock.withLock { if ended == nil { _ = kill(processIdentifier, signal) } }
    }

    /// Asks the child to stop (SIGTERM).
    public func terminate() { send(SIGTERM) }

    public var isRunning: Bool {
        lock.withLock { reapIfEnded() == nil }
    }

    /// Blocks until the child ends.
    @discardableResult
    public func waitUntilExit() -> Termination {
        // Waits without reaping, so that several threads may wait and `send` never signals a reused pid.
        var info = siginfo_t()
        while lock.withLock({ ended == nil }) && waitid(P_PID, id_t(processIdentifier), &info, WEXITED | WNOWAIT) == -1 && errno == EINTR {}
        return lock.withLock { reapIfEnded() ?? .exited(-1) }
    }

    /// Closes this process's end of the child's standard input, so that it reads the end of its input.
    public func closeInput() {
        if let input { close(input) }
        input = nil
    }

    /// Writes all of `data` to the child's standard input; false when the child has stopped reading.
    @discardableResult
    public func write(_ data: Data) -> Bool {
        guard let input else { return false }
        // A child that exits without reading would raise SIGPIPE, which ends this process unless ignored: block it on
        // this thread for the write and take back the one the write raised.
        var pipeSignal = sigset_t(), previous = sigset_t()
        sigemptyset(&pipeSignal)
        sigaddset(&pipeSignal, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &pipeSignal, &previous)
        defer {
            var pending = sigset_t()
            if sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1 && sigismember(&previous, SIGPIPE) == 0 {
                var zero = timespec()
                _ = sigtimedwait(&pipeSignal, nil, &zero)
            }
            pthread_sigmask(SIG_SETMASK, &previous, nil)
        }
        return data.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(input, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 && errno == EINTR { continue }
                if written <= 0 { return false }
                offset += written
            }
            return true
        }
    }

    /// Reads `descriptor` (one of `output` or `errors`) to its end.
    public static func readAll(_ descriptor: Int32) -> Data {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { return data }
            data.append(contentsOf: buffer[0..<count])
        }
    }

    /// Called with the lock held.
    private func reapIfEnded() -> Termination? {
        if let ended { return ended }
        var status: Int32 = 0
        let reaped = waitpid(processIdentifier, &status, WNOHANG)
        guard reaped == processIdentifier else { return nil }
        // The macros WIFEXITED and friends are not imported into Swift.
        let signal = status & 0x7f
        ended = signal == 0 ? .exited((status >> 8) & 0xff) : .signalled(signal)
        return ended
    }

    private static func withCStrings<Result>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> Result) -> Result {
        var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        defer { pointers.forEach { free($0) } }
        pointers.append(nil)
        return body(pointers)
    }
}

public enum ChildProcessError: Error, CustomStringConvertible {
    case spawn(String, Int32)

    public var description: String {
        switch self {
        case .spawn(let executable, let code): "cannot start \(executable): \(String(cString: strerror(code)))"
        }
    }
}
