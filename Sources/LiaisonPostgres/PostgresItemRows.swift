import Foundation
import LiaisonCore
import LiaisonStore
import PostgresNIO

/// The rows a batch's pushes store (item, payload, idempotency claim, marks), inserted together: one statement
/// for all the batch's pushes instead of two to four per push. Every statement is a round trip to the server on
/// the batch's connection while the batch's other writers wait, so this is most of what a batch costs.
///
/// A push's rows wait here until the batch settles them: before the batch's trail is appended, after each write
/// when writes are isolated by savepoints (so that a failure is the failing write's own), and whenever a write is
/// about to read what earlier pushes of the batch stored (an idempotency claim, an alert watch).
final class PostgresItemRows: @unchecked Sendable {
    // Unchecked: a batch's writes run one at a time, and the batch settles the rows between them.
    private struct Push {
        let item: Item
        let payload: StoredPayload
        let claim: IdempotencyClaim?
        let marks: [String]
    }
    private var pending: [Push] = []
    private let store: PostgresStore
    /// A statement's payload bytes at most, a push larger than that going alone: a batch of large inline
    /// payloads must not become one statement of gigabytes (PostgreSQL refuses a message over 1 GB).
    private let statementBytes = 8 << 20

    init(store: PostgresStore) { self.store = store }

    func add(_ item: Item, payload: StoredPayload, claim: IdempotencyClaim?, marks: [String]) {
        pending.append(Push(item: item, payload: payload, claim: claim, marks: marks))
    }

    /// Forgets the rows of a write that failed (its savepoint was rolled back).
    func discard() { pending.removeAll() }

    /// Inserts the rows waiting, checking that the key ring still holds the versions their keys are under (held
    /// shared to the commit, see `requireKeptVersions`).
    func settle(on connection: PostgresConnection) async throws {
        for answer in send(on: connection) { try await answer.get() }
    }

    /// `settle`'s statements sent at once, their answers to come (a failure undoes the transaction, so the key
    /// check need not be answered before the rows go in).
    func send(on connection: PostgresConnection) -> [EventLoopFuture<Void>] {
        guard !pending.isEmpty else { return [] }
        let pushes = pending
        pending.removeAll()
        var answers = [store.sendKeptVersionsCheck(Self.keyVersions(of: pushes[...]), on: connection)].compactMap { $0 }
        var start = pushes.startIndex
        var bytes = 0
        for index in pushes.indices {
            let size = pushes[index].payload.bytes.count
            if index > start, bytes + size > statementBytes {
                answers.append(insert(pushes[start..<index], on: connection))
                (start, bytes) = (index, 0)
            }
            bytes += size
        }
        answers.append(insert(pushes[start...], on: connection))
        return answers
    }

    /// The rows waiting as the arguments of `liaison_commit_batch` that are theirs (the key versions to check, then
    /// `liaison_store_items`'s), taken for a call that stores and commits them; false, and still waiting, if
    /// their payloads are too large for one statement.
    func take(into arguments: inout PostgresArguments) -> Bool {
        guard pending.reduce(0, { $0 + $1.payload.bytes.count }) <= statementBytes else { return false }
        arguments.add(Self.keyVersions(of: pending[...]).map { Int64($0) })
        Self.add(pending[...], to: &arguments)
        pending.removeAll()
        return true
    }

    /// The versions the pushes' keys are under, for `liaison_require_key_versions`.
    private static func keyVersions(of pushes: ArraySlice<Push>) -> [UInt32] {
        Set(pushes.flatMap { [$0.payload.keyVersion, $0.item.sealedMetadata?.keyVersion].compactMap { $0 } }).sorted()
    }

    /// One call of `liaison_store_items` for `pushes` (whose statements the server plans once per connection).
    private func insert(_ pushes: ArraySlice<Push>, on connection: PostgresConnection) -> EventLoopFuture<Void> {
        var arguments = PostgresArguments()
        Self.add(pushes, to: &arguments)
        return store.send(arguments.statement("SELECT", "liaison_store_items"), on: connection).map { _ in }
    }

    /// `liaison_store_items`'s arguments for `pushes`, column by column. Optional values go in as a value no present
    /// one can have and come out as NULL: an empty text or byte string (ids, keys, ciphertexts and seals are never
    /// empty) or -1 (versions and counts are never negative).
    private static func add(_ pushes: ArraySlice<Push>, to arguments: inout PostgresArguments) {
        func bytes(_ value: [UInt8]?) -> ByteBuffer { ByteBuffer(bytes: value ?? []) }
        let items = pushes.map(\.item)
        let payloads = pushes.map(\.payload)
        let claimed = pushes.compactMap { push in push.claim.map { (claim: $0, item: push.item.id) } }
        let marked = pushes.flatMap { push in Set(push.marks).sorted().map { (mark: $0, item: push.item.id) } }
        for texts in [items.map(\.id), items.map(\.kind), items.map(\.title), items.map(\.unit), items.map { StoredText.encode(list: $0.persons) },
                      items.map { StoredText.encode(list: $0.tags) }, items.map(\.classification.rawValue), items.map(\.owner), items.map(\.pushedBy),
                      items.map(\.contentType), items.map(\.sha256)] {
            arguments.add(texts)
        }
        arguments.add(items.map { Int64($0.size) })
        arguments.add(items.map { $0.createdAt.millisecondsSince1970 })
        arguments.add(items.map { bytes($0.sealedMetadata?.ciphertext) })
        arguments.add(items.map { bytes($0.sealedMetadata?.wrappedKey) })
        arguments.add(items.map { $0.sealedMetadata.map { Int64($0.keyVersion) } ?? -1 })
        arguments.add(items.map { $0.answers ?? "" })
        arguments.add(items.map { bytes($0.seal) })
        arguments.add(payloads.map { bytes($0.bytes) })
        arguments.add(payloads.map { bytes($0.wrappedKey) })
        arguments.add(payloads.map { $0.keyVersion.map { Int64($0) } ?? -1 })
        arguments.add(payloads.map { Int64($0.chunks ?? -1) })
        for texts in [claimed.map(\.claim.principal), claimed.map(\.claim.key), claimed.map(\.claim.fingerprint), claimed.map(\.item),
                      marked.map(\.mark), marked.map(\.item)] {
            arguments.add(texts)
        }
    }
}
