import LiaisonCore

/// A refusal or failure the hub reports to its caller. The HTTP layer maps `kind` to a status;
/// `message` and `hint` are written for the person reading them and never contain payloads or keys.
public struct HubError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case invalid        // 400
        case forbidden      // 403
        case notFound       // 404
        case notAcceptable  // 406: what was asked cannot be delivered in a form the caller can take
        case conflict       // 409
        case gone           // 410: what was asked for no longer exists (an expired feed cursor)
        case tooLarge       // 413
        case integrity      // 500: stored data failed authentication
        case internalFailure // 500
        case unavailable    // 503: the hub cannot do this now (storage full, memory budget spent); retry later
        case methodNotAllowed // 405: a known path, another method
    }

    public let kind: Kind
    public let code: String
    public let message: String
    public let hint: String?
    public let field: String?
    /// Whether the refusal is already in the audit trail, so that no layer records it twice.
    public var recorded = false
    /// For a 405: the methods the path answers (the `Allow` header).
    public var allow: [String] = []

    public static func == (lhs: HubError, rhs: HubError) -> Bool {
        lhs.kind == rhs.kind && lhs.code == rhs.code && lhs.message == rhs.message && lhs.hint == rhs.hint && lhs.field == rhs.field
    }

    public init(_ kind: Kind, code: String, message: String, hint: String? = nil, field: String? = nil) {
        self.kind = kind
        self.code = code
        self.message = message
        self.hint = hint
        self.field = field
    }

    public var description: String { "\(code): \(message)" }

    /// The filesystem under the database is full (or below the space kept for the trail): nothing was stored.
    public static let storageFull = HubError(.unavailable, code: "storage_full", message: "the hub cannot store anything new right now: its disk is full",
                                             hint: "Nothing was stored; retry after the time in Retry-After. Reads still work. Tell the hub's operator if it persists")

    /// The database cannot be reached now (PostgreSQL restarting, a connection lost): nothing was stored.
    public static let databaseUnavailable = HubError(.unavailable, code: "database_unavailable", message: "the hub cannot reach its database right now",
                                                     hint: "Nothing was done; retry after the time in Retry-After. Tell the hub's operator if it persists")

    /// Large answers being sent already hold the hub's answer budget (`HubLimits.answerBudget`): nothing was read.
    public static let answersBusy = HubError(.unavailable, code: "busy", message: "the hub is sending as many large answers as its memory budget allows",
                                             hint: "Nothing was read; retry after the time in Retry-After")

    /// The large answers being sent to this principal already hold its share of the answer budget (a quarter of it).
    static func ownAnswersBusy(share: Int) -> HubError {
        HubError(.unavailable, code: "busy", message: "you are being sent as many large answers at once as one principal may (\(share >> 20) MiB of them)",
                 hint: "Nothing was read; finish reading those first, or retry after the time in Retry-After")
    }

    /// A body the generated layer could not take as JSON.
    public static let bodyNotJSON = HubError(.invalid, code: "bad_content_type", message: "the body must be JSON", hint: "Send `Content-Type: application/json`")

    static func invalidField(_ field: String, _ message: String, hint: String) -> HubError {
        HubError(.invalid, code: "invalid_field", message: message, hint: hint, field: field)
    }

    /// Refuses text with a NUL character: SQLite text ends at the first NUL, so it would be stored cut short.
    static func requireStorable(_ text: String, field: String) throws {
        guard !text.utf8.contains(0) else {
            throw invalidField(field, "the field '\(field)' contains a NUL character", hint: "Remove the NUL (\\u0000) from '\(field)'")
        }
    }

    /// A stored item that is not as it was pushed (its seal, its sealed metadata or its payload does not check).
    static func damaged(_ id: String) -> HubError {
        HubError(.integrity, code: "integrity", message: "the stored data of item \(id) failed its integrity check",
                 hint: "Report this to the hub's operator; the item's stored data was altered or damaged")
    }

    /// The same answer for an id that does not exist and one the caller may not know about,
    /// so that a 404 never confirms that a hidden item exists.
    static func itemNotFound(_ id: String) -> HubError {
        HubError(.notFound, code: "not_found", message: "no item \(id) is visible to you",
                 hint: "Check the id; `liaison list` shows the items you can see")
    }
}

extension HubError {
    /// Refuses a unit the policy does not declare, listing those it does.
    static func requireUnit(_ unit: String, in policy: Policy, field: String = "unit") throws {
        guard policy.units[unit] == nil else { return }
        throw invalidField(field, "unknown unit '\(unit)'", hint: "Use a unit declared in the policy: \(policy.units.keys.sorted().joined(separator: ", "))")
    }
}
