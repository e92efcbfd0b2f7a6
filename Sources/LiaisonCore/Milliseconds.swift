public import Foundation

// Times are kept, hashed, sealed and sent as whole milliseconds since the Unix epoch, rounded down (the
// millisecond the moment falls in). One conversion, so that what is stored and what is hashed never differ.
extension Date {
    /// Whole milliseconds since 1970-01-01T00:00:00Z, rounded down.
    public var millisecondsSince1970: Int64 { Int64((timeIntervalSince1970 * 1000).rounded(.down)) }

    public init(millisecondsSince1970 milliseconds: Int64) {
        self.init(timeIntervalSince1970: Double(milliseconds) / 1000)
    }
}
