public import Foundation
import Synchronization

/// Server-assigned item ids that sort by creation time: 10 characters of milliseconds since
/// the epoch and 6 of a per-millisecond sequence with a random start, Crockford base32.
public final class ItemIDGenerator: Sendable {
    private static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)
    private let state = Mutex<(millis: UInt64, sequence: UInt64)>((0, 0))

    public init() {}

    public func next(at date: Date) -> String {
        let now = UInt64(max(0, date.millisecondsSince1970))
        let (millis, sequence) = state.withLock { state -> (UInt64, UInt64) in
            if now > state.millis {
                // A random start within the millisecond keeps ids of two hubs apart; the low half leaves room to count.
                state = (now, UInt64.random(in: 0..<(1 << 29)))
            } else {
                state.sequence += 1
                if state.sequence >= 1 << 30 { state = (state.millis + 1, 0) }
            }
            return state
        }
        return Self.encode(millis, digits: 10) + Self.encode(sequence, digits: 6)
    }

    /// The smallest id any hub gives an item created at `date` or later: item ids at or above it are a time range.
    public static func lowerBound(at date: Date) -> String {
        encode(UInt64(max(0, date.millisecondsSince1970)), digits: 10) + encode(0, digits: 6)
    }

    static func encode(_ value: UInt64, digits: Int) -> String {
        var chars = [UInt8](repeating: 0, count: digits)
        var rest = value
        for index in stride(from: digits - 1, through: 0, by: -1) {
            chars[index] = alphabet[Int(rest & 31)]
            rest >>= 5
        }
        return String(decoding: chars, as: UTF8.self)
    }
}
