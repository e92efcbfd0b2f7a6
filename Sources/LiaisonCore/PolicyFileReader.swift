import Foundation
import Yams

/// Walks the YAML nodes of one policy file, recording every problem with its line instead of stopping at the first.
struct PolicyFileReader {
    let file: String
    var problems: [PolicyProblem] = []

    init(file: String) { self.file = file }

    mutating func problem(at node: Node?, _ message: String, hint: String) {
        let mark = node?.mark
        problems.append(PolicyProblem(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1, message: message, hint: hint))
    }

    /// The entries of a mapping with only `allowed` keys, all of `required` present.
    mutating func fields(_ node: Node, of what: String, allowed: [String], required: [String]) -> [String: Node]? {
        guard case .mapping(let mapping) = node else {
            problem(at: node, "\(what) must be a mapping of keys to values", hint: "Write it as `key: value` lines; allowed keys: \(allowed.joined(separator: ", "))")
            return nil
        }
        var result: [String: Node] = [:]
        for (key, value) in mapping {
            guard let name = key.string else {
                problem(at: key, "\(what) has a key that is not text", hint: "Allowed keys: \(allowed.joined(separator: ", "))")
                continue
            }
            guard allowed.contains(name) else {
                problem(at: key, "unknown key '\(name)' in \(what)", hint: "Allowed keys: \(allowed.joined(separator: ", ")); check the spelling or remove it")
                continue
            }
            result[name] = value
        }
        for name in required where result[name] == nil {
            problem(at: node, "\(what) lacks the required key '\(name)'", hint: "Add `\(name): ...` to it")
        }
        return result
    }

    mutating func string(_ node: Node?, _ what: String) -> String? {
        guard let node else { return nil }
        guard case .scalar(let scalar) = node, !scalar.string.isEmpty else {
            problem(at: node, "\(what) must be a non-empty text value", hint: "Write it as a plain or quoted string")
            return nil
        }
        return scalar.string
    }

    mutating func identifier(_ node: Node?, _ what: String) -> String? {
        guard let text = string(node, what) else { return nil }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._")
        guard text.allSatisfy({ allowed.contains($0) }) else {
            problem(at: node, "\(what) '\(text)' has characters an id cannot have", hint: "Ids are certificate CNs and URL parts: use letters, digits, '-', '.' and '_'")
            return nil
        }
        return text
    }

    mutating func list(_ node: Node?, _ what: String) -> [Node] {
        guard let node else { return [] }
        guard case .sequence(let sequence) = node else {
            problem(at: node, "\(what) must be a list", hint: "Write it as `[a, b]` or as lines starting with `- `")
            return []
        }
        return Array(sequence)
    }

    /// A list of ids, each with its node so that references can be checked later with their line.
    mutating func identifiers(_ node: Node?, _ what: String) -> [(String, Node)] {
        list(node, what).compactMap { item in identifier(item, "an entry of \(what)").map { ($0, item) } }
    }

    mutating func day(_ node: Node?, _ what: String) -> (Date, String)? {
        guard let text = string(node, what) else { return nil }
        guard let date = DateWindow.day(text) else {
            problem(at: node, "\(what) '\(text)' is not a date", hint: "Write dates as YYYY-MM-DD (UTC days)")
            return nil
        }
        return (date, text)
    }

    mutating func period(_ node: Node?, _ what: String) -> Period? {
        guard let text = string(node, what) else { return nil }
        guard let period = Period(text) else {
            problem(at: node, "\(what) '\(text)' is not a length of time", hint: Period.formatHint)
            return nil
        }
        return period
    }

    mutating func count(_ node: Node?, _ what: String, in range: ClosedRange<Int>) -> Int? {
        guard let text = string(node, what) else { return nil }
        guard let value = DecimalText.parse(text, in: range) else {
            problem(at: node, "\(what) '\(text)' is not a whole number from \(range.lowerBound) to \(range.upperBound)", hint: "Write a number such as 1 or 2")
            return nil
        }
        return value
    }

    mutating func flag(_ node: Node?, _ what: String) -> Bool? {
        guard let text = string(node, what) else { return nil }
        switch text {
        case "true": return true
        case "false": return false
        default:
            problem(at: node, "\(what) '\(text)' is not true or false", hint: "Write true or false")
            return nil
        }
    }
}
