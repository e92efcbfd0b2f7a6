import HTTPTypes
import Synchronization

/// Headers a handler wants on its response verbatim. The generated layer percent-encodes header
/// values, which would turn `text/plain` into `text%2Fplain` for curl users.
final class ResponseHeaders: Sendable {
    @TaskLocal static var current: ResponseHeaders?

    private let fields = Mutex(HTTPFields())

    func set(_ name: HTTPField.Name, _ value: String) { fields.withLock { $0[name] = value } }
    var all: HTTPFields { fields.withLock { $0 } }

    static let liaisonContentType = HTTPField.Name("Liaison-Content-Type")!
}
