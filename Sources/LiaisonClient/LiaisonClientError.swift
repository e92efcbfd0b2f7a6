/// A failure talking to the hub, with a sentence saying what to do about it.
public struct LiaisonClientError: Error, Sendable, CustomStringConvertible {
    /// The hub's error code (e.g. `forbidden`), or a local one (`connection_refused`, `tls`, `certificate_file`).
    public let code: String
    public let message: String
    public let hint: String?
    /// The HTTP status when the hub answered.
    public let status: Int?

    public init(code: String, message: String, hint: String? = nil, status: Int? = nil) {
        self.code = code
        self.message = message
        self.hint = hint
        self.status = status
    }

    public var description: String {
        var text = status.map { "\(message) (\($0) \(code))" } ?? message
        if let hint { text += "\n  hint: \(hint)" }
        return text
    }
}
