/// An answer made a slice at a time while it is sent: the hub holds the slice being sent and at most two more, made
/// meanwhile, never the whole answer. The trail's compact form (30 MB an answer) and a dossier's payloads go so: a
/// buffer of the whole cost more in fresh pages the kernel zero-fills than filling it did, and made the first byte
/// wait for the last.
public struct SlicedAnswer: AsyncSequence, Sendable {
    public typealias Element = ArraySlice<UInt8>
    /// How many slices the answer has.
    let count: Int
    /// Makes slice `index` (from 0); slice n+1 is started when slice n is asked for.
    let make: @Sendable (_ index: Int) async throws -> [UInt8]
    /// Whether the last slice is started only once every other is made, so that it can say what they left out.
    var lastAfterTheRest = false
    /// The answer budget's share the slices in the making take (`held(in:slice:for:)`), given back when the delivery
    /// lets go.
    private var hold: ByteBudget.Hold?

    init(count: Int, make: @escaping @Sendable (_ index: Int) async throws -> [UInt8]) {
        self.count = count
        self.make = make
    }

    public func makeAsyncIterator() -> Iterator { Iterator(count: count, make: make, lastAfterTheRest: lastAfterTheRest, hold: hold) }

    /// This answer to `principal` holding, in `budget`, room for the three slices it may hold at once, each at most
    /// `slice` bytes (fewer when it has fewer). Refused (503 busy) when they do not fit, before anything is read or
    /// recorded.
    func held(in budget: ByteBudget, slice: Int, for principal: String) throws -> SlicedAnswer {
        var held = self
        held.hold = try budget.answerHold(Swift.min(count, 3) * slice, for: principal)
        return held
    }

    public struct Iterator: AsyncIteratorProtocol {
        let count: Int
        let make: @Sendable (Int) async throws -> [UInt8]
        let lastAfterTheRest: Bool
        let hold: ByteBudget.Hold?
        var started = 0
        var making: Task<[UInt8], any Error>?

        public mutating func next() async throws -> ArraySlice<UInt8>? {
            if making == nil { making = start() }
            guard let current = making else { return nil }
            // The next is made while this one is awaited and sent (both cores at work), unless it must wait for this one.
            making = lastAfterTheRest && started == count - 1 ? nil : start()
            return try await current.value[...]
        }

        /// Starts making the next slice, if any is left.
        private mutating func start() -> Task<[UInt8], any Error>? {
            guard started < count else { return nil }
            let (index, make) = (started, self.make)
            started += 1
            return Task { try await make(index) }
        }
    }
}
