/// Whom an "item readable" event wakes: the policy's readers of the item but the one who pushed it. The readers are
/// the policy's own remembered list (`readers(of:at:)`, sorted), shared rather than copied, so that naming the
/// audience of a push costs the same for five readers or five thousand; membership is a binary search.
public struct FeedAudience: Sendable, Equatable {
    /// Sorted, as `Policy.readers(of:at:)` gives them; may include `except`.
    public let readers: [String]
    /// The pusher, who gets no event about its own push.
    public let except: String?

    public init(readers: [String], except: String?) {
        self.readers = readers
        self.except = except
    }

    public static let nobody = FeedAudience(readers: [], except: nil)

    public var isEmpty: Bool { readers.isEmpty || (readers.count == 1 && readers[0] == except) }

    public func contains(_ principal: String) -> Bool {
        guard principal != except else { return false }
        var low = 0, high = readers.count
        while low < high {
            let middle = (low + high) / 2
            if readers[middle] < principal { low = middle + 1 } else { high = middle }
        }
        return low < readers.count && readers[low] == principal
    }

    /// Everyone in it, in order.
    public var members: [String] { readers.filter { $0 != except } }
}
