import Foundation
public import LiaisonCore

/// How both stores keep lists (persons, tags) and details (audit entries, feed events) as text: JSON, the
/// details written and read by `JSONText`, off Foundation's JSON coders: details are
/// written for every audited request and read for every entry an auditor pages through.
public enum StoredText {
    /// A list as a JSON array of strings.
    public static func encode(list: [String]) -> String { JSONText.array(list) }

    public static func list(_ text: String) -> [String] {
        guard text != "[]" else { return [] }
        return JSONText.readList(text) ?? []
    }

    /// The ordered item list of a request or a dossier, kept as one list on its row: a dossier of a 10,000-item unit
    /// and its request stored a row each per item, which took about 40% of the time it took to build.
    public static func itemIDs(_ text: String, of owner: @autoclosure () -> String) throws -> [String] {
        guard text != "[]" else { return [] }
        guard let ids = JSONText.readList(text) else { throw StoreError.corrupt("\(owner())'s item list is not a JSON list of ids") }
        return ids
    }

    /// A request's subjects as one JSON list of strings, five per subject: owner, unit, level, kind ("" for none), count.
    public static func encode(subjects: [SubjectCount]) -> String {
        encode(list: subjects.flatMap { [$0.subject.owner, $0.subject.unit, $0.subject.classification.rawValue, $0.subject.kind ?? "", String($0.items)] })
    }

    public static func subjects(_ text: String, of owner: @autoclosure () -> String) throws -> [SubjectCount] {
        guard text != "[]" else { return [] }
        guard let fields = JSONText.readList(text), fields.count % 5 == 0 else { throw StoreError.corrupt("\(owner())'s subjects are not a JSON list of five fields each") }
        return try stride(from: 0, to: fields.count, by: 5).map { start in
            guard let level = Classification(rawValue: fields[start + 2]), let count = Int(fields[start + 4]) else {
                throw StoreError.corrupt("\(owner()) has a subject with level '\(fields[start + 2])' and count '\(fields[start + 4])'")
            }
            let kind = fields[start + 3]
            return SubjectCount(subject: ItemSubject(owner: fields[start], unit: fields[start + 1], classification: level, kind: kind.isEmpty ? nil : kind), items: count)
        }
    }

    /// A detail as a flat JSON object of strings, its keys sorted.
    public static func encode(detail: [String: String]) -> String { JSONText.object(detail) }

    public static func detail(_ text: String) -> [String: String] {
        guard text != "{}" else { return [:] }
        return JSONText.readObject(text) ?? [:]
    }
}
