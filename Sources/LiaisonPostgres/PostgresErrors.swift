import LiaisonStore
import PostgresNIO

extension StoreError {
    /// A store error for what PostgresNIO threw; other errors (refusals decided inside a transaction) pass through.
    static func from(postgres error: any Error) -> any Error {
        if error is StoreError { return error }
        if let transaction = error as? PostgresTransactionError {
            return from(postgres: transaction.closureError ?? transaction.commitError ?? transaction.beginError ?? transaction.rollbackError ?? StoreError.unavailable("transaction failed"))
        }
        guard let psql = error as? PSQLError else { return error }
        if let state = psql.serverInfo?[.sqlState] {
            // 53100 disk_full; class 08 connection exceptions; 57P01-57P03 the server shutting down or starting.
            if state == "53100" { return StoreError.full }
            if state.hasPrefix("08") || state.hasPrefix("57P") { return StoreError.unavailable("PostgreSQL \(state)") }
            return StoreError.postgres(state: state, message: psql.serverInfo?[.message] ?? "no message")
        }
        // No answer from the server: the connection failed, closed or could not be made.
        return StoreError.unavailable(psql.code.description)
    }
}
