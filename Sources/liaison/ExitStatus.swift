import ArgumentParser
import Foundation
import LiaisonClient

/// The exit statuses of `liaison`, documented in `liaison --help`: a script can tell a failed check from a
/// refusal, a missing record and an unreachable hub without reading the message.
enum ExitStatus: Int32, CaseIterable {
    case ok = 0
    /// A check found a problem: `audit verify`, `audit items`, `policy check`, the hub's certificate, a payload's digest.
    case checkFailed = 1
    /// A flag, argument or local file is wrong; nothing was asked of the hub.
    case usage = 2
    /// The hub refused (a 4xx other than 404): not allowed, invalid, in conflict.
    case refused = 3
    /// The hub has no such record visible to you (404).
    case notFound = 4
    /// The hub could not be reached, the TLS handshake failed, or the hub failed (5xx): try again or tell its operator.
    case unavailable = 5

    static let help = """
        Exit status: 0 done; 1 a check failed (audit verify, audit items, policy check, the hub's certificate, \
        a payload's digest); 2 usage: a flag, \
        argument or local file is wrong; 3 the hub refused (4xx other than 404); 4 not found (404); \
        5 the hub could not be reached, the TLS handshake failed, or the hub failed (5xx).
        """

    /// The status for an error a command ended with.
    static func of(_ error: any Error, command: any ParsableCommand.Type) -> ExitStatus? {
        switch error {
        case let failure as CLIFailure:
            return of(failure.error)
        case let error as LiaisonClientError:
            return of(error)
        default:
            switch command.exitCode(for: error) {
            case .success: return .ok
            case .validationFailure: return .usage
            default: return nil
            }
        }
    }

    static func of(_ error: LiaisonClientError) -> ExitStatus {
        guard let status = error.status else {
            switch error.code {
            case "untrusted_hub_certificate", "integrity": return .checkFailed
            case "certificate_file", "cannot_open", "cannot_seal": return .usage
            default: return .unavailable
            }
        }
        switch status {
        case 404: return .notFound
        case 400..<500: return .refused
        default: return .unavailable
        }
    }
}
