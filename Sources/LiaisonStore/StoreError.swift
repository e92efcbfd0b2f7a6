import GRDB

/// A storage failure that is not the caller's fault. Descriptions name what failed, never the values
/// being written, so they are safe to log.
public enum StoreError: Error, CustomStringConvertible {
    case durability(String)
    case corrupt(String)
    /// The filesystem holding the database is full: nothing was written; retrying later can succeed.
    case full
    /// SQLite reported another failure; `code` is its extended result code, `message` its text (no values).
    case database(code: Int32, message: String)
    /// PostgreSQL reported a failure: `state` is its SQLSTATE, `message` its text (no values).
    case postgres(state: String, message: String)
    /// The database cannot be reached now (restarting, a connection lost): nothing was written; retrying later can succeed.
    case unavailable(String)
    /// A data key wrapped under a key-ring version that the shared ring no longer holds (another hub retired it):
    /// nothing was written; seal again under the ring as kept now.
    case retiredKeyVersion(UInt32)

    public var description: String {
        switch self {
        case .durability(let what): return "storage durability: \(what)"
        case .corrupt(let what): return "stored data is corrupt: \(what)"
        case .full: return "the database's filesystem is full"
        case .database(let code, let message): return "SQLite error \(code): \(message)"
        case .postgres(let state, let message): return "PostgreSQL error \(state): \(message)"
        case .unavailable(let what): return "the database is unavailable: \(what)"
        case .retiredKeyVersion(let version): return "key-ring version \(version) is no longer in the shared key ring"
        }
    }

    /// A store error for what GRDB threw; other errors (refusals decided inside a transaction) pass through.
    static func from(_ error: any Error) -> any Error {
        guard let database = error as? DatabaseError else { return error }
        if database.resultCode == .SQLITE_FULL { return StoreError.full }
        return StoreError.database(code: database.extendedResultCode.rawValue, message: database.message ?? "no message")
    }
}
