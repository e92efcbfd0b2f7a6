import Synchronization

/// Bytes the hub holds at once for one purpose, across all requests: request bodies while they are decoded and
/// stored (`--body-budget`), large answers while they are sent (`--answer-budget`). What does not fit is refused
/// (503 busy, with Retry-After) instead of exhausting memory: a burst of large pushes from many agencies, or many
/// readers of large payloads who take their answers slowly or not at all. With `ownerLimit`, no one owner (a
/// principal) may hold more than that, so that one agency cannot take the whole budget from the others.
public final class ByteBudget: Sendable {
    public let limit: Int
    /// The most one owner may hold at once; nil: owners are not told apart.
    public let ownerLimit: Int?
    private let state = Mutex(State())

    private struct State {
        var used = 0
        var byOwner: [String: Int] = [:]
    }

    /// Why a hold was refused: the budget is spent, or the owner's share of it.
    public enum Shortfall: Error { case budget, owner }

    public init(limit: Int, ownerLimit: Int? = nil) {
        self.limit = limit
        self.ownerLimit = ownerLimit
    }

    /// Takes `bytes` from the budget if they fit; false if they do not (nothing is taken then).
    public func reserve(_ bytes: Int) -> Bool {
        take(bytes, by: nil) == nil
    }

    public func release(_ bytes: Int) {
        give(bytes, by: nil)
    }

    /// Bytes held now, in all and by `owner`.
    public var held: Int { state.withLock { $0.used } }
    public func held(by owner: String) -> Int { state.withLock { $0.byOwner[owner] ?? 0 } }

    /// `bytes` taken for as long as the hold returned lives (whatever keeps it: an answer being sent), counted against
    /// `owner`'s share too when given.
    public func hold(_ bytes: Int, by owner: String? = nil) throws(Shortfall) -> Hold {
        if let shortfall = take(bytes, by: owner) { throw shortfall }
        return Hold(budget: self, bytes: bytes, owner: owner)
    }

    private func take(_ bytes: Int, by owner: String?) -> Shortfall? {
        state.withLock { state in
            guard bytes >= 0, bytes <= limit - state.used else { return .budget }
            if let owner, let ownerLimit {
                let own = state.byOwner[owner] ?? 0
                guard bytes <= ownerLimit - own else { return .owner }
                state.byOwner[owner] = own + bytes
            }
            state.used += bytes
            return nil
        }
    }

    private func give(_ bytes: Int, by owner: String?) {
        state.withLock { state in
            state.used -= bytes
            if let owner, ownerLimit != nil {
                let own = (state.byOwner[owner] ?? 0) - bytes
                state.byOwner[owner] = own > 0 ? own : nil
            }
        }
    }

    /// Bytes taken from a budget, given back when the last reference to it goes.
    public final class Hold: Sendable {
        let budget: ByteBudget
        private let held: Mutex<Int>
        let owner: String?

        init(budget: ByteBudget, bytes: Int, owner: String?) {
            self.budget = budget
            held = Mutex(bytes)
            self.owner = owner
        }

        public var bytes: Int { held.withLock { $0 } }

        /// Holds `bytes` from now on instead: the difference taken if it is more (nothing changes if it does not
        /// fit), given back if it is less. For an answer held at an estimate before it is made, then at its size.
        public func resize(to bytes: Int) throws(Shortfall) {
            try held.withLock { (held: inout Int) throws(Shortfall) in
                if bytes > held, let shortfall = budget.take(bytes - held, by: owner) { throw shortfall }
                if bytes < held { budget.give(held - bytes, by: owner) }
                held = bytes
            }
        }

        deinit { budget.give(held.withLock { $0 }, by: owner) }
    }
}

extension ByteBudget {
    /// `bytes` of the answer budget for a large answer to `principal`, refused as the hub answers it (503 busy) past
    /// the budget or past the principal's share of it.
    func answerHold(_ bytes: Int, for principal: String) throws -> Hold {
        do {
            return try hold(bytes, by: principal)
        } catch {
            throw answersRefused(error)
        }
    }

    /// `hold`, taken for an answer to its owner, made to hold `bytes`: refused as `answerHold` is.
    func resize(_ hold: Hold, to bytes: Int) throws {
        do {
            try hold.resize(to: bytes)
        } catch {
            throw answersRefused(error)
        }
    }

    /// The answer `encode` writes of the view `make` builds, `entries` long (a dossier's items, a request's), held as a
    /// large answer is (`DeliveredBody.held`): at `bytesPerEntry` an entry from before the view is built, when that is over
    /// `DeliveredBody.wholeLimit` (so that making thousands of them at once is bounded too), then at its size once
    /// written. Refused (503 busy) when either does not fit, before the caller records the read.
    func answer<View>(entries: Int, bytesPerEntry: Int, for principal: String, make: () async throws -> View,
                      encode: (View) throws -> [UInt8]) async throws -> (view: View, body: DeliveredBody) {
        let estimate = min(entries * bytesPerEntry, largestHold)
        let taken = estimate > DeliveredBody.wholeLimit ? try answerHold(estimate, for: principal) : nil
        let view = try await make()
        return (view, try DeliveredBody.whole(try encode(view)).held(in: self, for: principal, taken: taken))
    }

    /// The most one answer holds: a larger one (the manifest of a dossier of a hundred thousand items) holds this much
    /// while it is sent, so that it can be sent at all, and one at a time to its principal. Payloads never exceed it
    /// (`HubLimits.answerShare`).
    var largestHold: Int { ownerLimit ?? limit }

    private func answersRefused(_ shortfall: Shortfall) -> HubError {
        switch shortfall {
        case .budget: HubError.answersBusy
        case .owner: HubError.ownAnswersBusy(share: largestHold)
        }
    }
}
