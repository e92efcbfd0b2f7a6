import Foundation
import LiaisonCore

/// How both stores keep lists (persons, tags) and details (audit entries, feed events) as text: JSON, the
/// details written by `JSONText` on the writer's path for every audited request.
public enum StoredText {
    /// A list as a JSON array of strings.
    public static func encode(list: [String]) -> String {
        guard !list.isEmpty, let data = try? JSONEncoder().encode(list) else { return "[]" }
        return String(decoding: data, as: UTF8.self)
    }

    public static func list(_ text: String) -> [String] {
        guard text != "[]" else { return [] }
        return (try? JSONDecoder().decode([String].self, from: Data(text.utf8))) ?? []
    }

    /// A detail as a flat JSON object of strings, its keys sorted.
    public static func encode(detail: [String: String]) -> String { JSONText.object(detail) }

    public static func detail(_ text: String) -> [String: String] {
        guard text != "{}" else { return [:] }
        return (try? JSONDecoder().decode([String: String].self, from: Data(text.utf8))) ?? [:]
    }
}
