import Foundation
import HTTPTypes
import LiaisonHub

/// The `Liaison-*` headers of a streamed push, checked before the generated layer decodes them: it reads a value
/// that is not valid percent-encoding as empty, which would be reported as a missing title rather than as the
/// encoding to fix.
enum StreamedPushHeaders {
    static let names = ["Liaison-Kind", "Liaison-Title", "Liaison-Unit", "Liaison-Classification", "Liaison-Content-Type", "Liaison-Persons",
                        "Liaison-Tags", "Liaison-Answers"].compactMap { HTTPField.Name($0) }

    static func check(_ headers: HTTPFields) throws {
        for name in names {
            for value in headers[values: name] where value.contains("%") && value.removingPercentEncoding == nil {
                throw HubError(.invalid, code: "invalid_header", message: "the header \(name) is not valid percent-encoded UTF-8",
                               hint: "Percent-encode the value's UTF-8 bytes (%E5%85%B3), and write a literal % as %25", field: name.rawName)
            }
        }
    }
}
