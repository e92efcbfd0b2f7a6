import Foundation
import LiaisonProcess

/// Runs a program to completion and captures what it printed.
struct ProcessResult {
    let status: Int32
    let stdout: String
    let stderr: String
    let stdoutData: Data
}

enum ProcessRunner {
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:], input: Data? = nil,
                    directory: String? = nil) throws -> ProcessResult {
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        let process = try ChildProcess(executable: executable, arguments: arguments, environment: merged, directory: directory,
                                       input: .pipe, output: .pipe, errors: .pipe)
        if let input { process.write(input) }
        process.closeInput()
        // Read both pipes before waiting, so a chatty child cannot block on a full pipe.
        let group = DispatchGroup()
        nonisolated(unsafe) var outData = Data(), errData = Data()
        group.enter()
        // A thread of its own: on Linux, Dispatch's global queues are the threads of Swift's concurrency pool too.
        Thread { outData = ChildProcess.readAll(process.output!); group.leave() }.start()
        errData = ChildProcess.readAll(process.errors!)
        group.wait()
        let status = process.waitUntilExit().status
        return ProcessResult(status: status, stdout: String(decoding: outData, as: UTF8.self),
                             stderr: String(decoding: errData, as: UTF8.self), stdoutData: outData)
    }
}

extension ProcessRunner {
    /// `run` off the cooperative pool, so a waiting test never starves the in-process hub of threads: on a thread of
    /// its own (on Linux, Dispatch's global queues are the pool's threads, two on two cores).
    static func runAsync(_ executable: String, _ arguments: [String], environment: [String: String] = [:], input: Data? = nil,
                         directory: String? = nil) async throws -> ProcessResult {
        try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(with: Result { try run(executable, arguments, environment: environment, input: input, directory: directory) })
            }.start()
        }
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago.
    static func freePort() throws -> Int {
        let (fd, port) = try boundPort()
        close(fd)
        return port
    }

    /// A port bound but not listening for as long as `body` runs: a connection to it is refused, and no hub another
    /// test starts meanwhile can take it (as one can a port `freePort` gave back).
    static func withClosedPort<T>(_ body: (Int) async throws -> T) async throws -> T {
        let (fd, port) = try boundPort()
        defer { close(fd) }
        return try await body(port)
    }

    private static func boundPort() throws -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else {
            close(fd)
            throw TestFailure("no free port")
        }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }
}
