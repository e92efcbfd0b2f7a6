/// A storage failure that is not the caller's fault.
public enum StoreError: Error, CustomStringConvertible {
    case durability(String)
    case corrupt(String)

    public var description: String {
        switch self {
        case .durability(let what): return "storage durability: \(what)"
        case .corrupt(let what): return "stored data is corrupt: \(what)"
        }
    }
}
