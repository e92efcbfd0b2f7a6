import PostgresNIO

/// The arguments of one or more calls written into one statement: their values bound in order, and the placeholders
/// (`$1, $2, …`) that name them. A batch's rows and trail go to the server as two calls, or as one (see
/// `PostgresGroupCommitter`), from the same arguments.
struct PostgresArguments {
    private(set) var binds = PostgresBindings()

    mutating func add<Value: PostgresDynamicTypeEncodable>(_ value: Value) {
        binds.append(value)
    }

    /// `SELECT function(…)` or `CALL procedure(…)` of every value added.
    func statement(_ verb: String, _ routine: String) -> PostgresQuery {
        PostgresQuery(unsafeSQL: "\(verb) \(routine)(\((0..<binds.count).map { "$\($0 + 1)" }.joined(separator: ", ")))", binds: binds)
    }
}
