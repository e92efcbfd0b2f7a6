/// One thing wrong with the policy files, located so a person can fix it.
public struct PolicyProblem: Sendable, Equatable, CustomStringConvertible {
    public let file: String
    public let line: Int
    public let column: Int
    public let message: String
    public let hint: String

    public var description: String { "\(file):\(line):\(column): \(message). \(hint)" }
}

/// The policy could not be loaded; every problem found is listed, not just the first.
public struct PolicyError: Error, Sendable, CustomStringConvertible {
    public let problems: [PolicyProblem]

    public var description: String {
        "the policy is invalid (\(problems.count) problem\(problems.count == 1 ? "" : "s")):\n"
            + problems.map { "  " + $0.description }.joined(separator: "\n")
    }
}
