import Foundation

/// A plain TCP connection to the hub that never starts TLS (or sends what a test tells it to), for
/// the tests of connection deadlines and the connection cap.
final class RawSocket: Sendable {
    let descriptor: Int32

    init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected else { close(descriptor); throw TestFailure("cannot connect to 127.0.0.1:\(port)") }
    }

    deinit { close(descriptor) }

    /// Ends the connection from this side (the descriptor is closed at deinit).
    func hangUp() { _ = shutdown(descriptor, Int32(SHUT_RDWR)) }

    func send(_ bytes: [UInt8]) { _ = bytes.withUnsafeBytes { Foundation.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }

    /// Whether the hub closed the connection within `seconds` (a read sees end of file or a reset).
    func isClosedByPeer(within seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, 100)
            if ready > 0 {
                let count = recv(descriptor, &buffer, buffer.count, 0)
                if count <= 0 { return true }
            }
        }
        return false
    }
}
