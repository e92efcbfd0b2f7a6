import LiaisonCrypto
import LiaisonHub
import LiaisonStore
import OpenAPIRuntime

/// What a log line may say about a failed request: the operation and the cause's kind, never its input.
/// The OpenAPI runtime's errors describe the decoded request (a push's title and payload among it), so
/// they are taken apart here and only errors known to describe themselves safely are described.
enum FailureLog {
    /// The operation the generated layer was running, if it says.
    static func operation(of error: any Error) -> String? { (error as? ServerError)?.operationID }

    /// The error without the principal `IdentityMiddleware` attached to it.
    static func unattributed(_ error: any Error) -> any Error { (error as? AttributedFailure)?.error ?? error }

    /// The innermost cause, unwrapped from the runtime's errors.
    static func rootCause(of error: any Error) -> any Error {
        var current = unattributed(error)
        for _ in 0..<8 {
            if let server = current as? ServerError { current = server.underlyingError; continue }
            if let client = current as? ClientError { current = client.underlyingError; continue }
            break
        }
        return current
    }

    /// A description of the cause that holds no payload, title, person, tag or key.
    static func cause(of error: any Error) -> String {
        switch rootCause(of: error) {
        case let error as HubError: return error.code
        case let error as StoreError: return error.description
        case let error as CryptoError: return error.description
        case let error: return String(describing: type(of: error))
        }
    }
}

/// A failure of the hub (not a refusal) with the principal whose request it was, for the log line.
struct AttributedFailure: Error {
    let principal: String
    let error: any Error
}
