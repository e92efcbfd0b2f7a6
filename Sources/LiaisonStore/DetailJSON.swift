import Foundation
import LiaisonCore

/// The `detail` columns (audit entries, feed events): a flat JSON object of strings, written by `JSONText`
/// on the writer's queue for every audited request.
enum DetailJSON {
    static func encode(_ detail: [String: String]) -> String { JSONText.object(detail) }

    static func decode(_ text: String) -> [String: String] {
        guard text != "{}" else { return [:] }
        return (try? JSONDecoder().decode([String: String].self, from: Data(text.utf8))) ?? [:]
    }
}
