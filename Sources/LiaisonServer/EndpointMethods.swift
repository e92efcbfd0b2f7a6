/// The methods each path of openapi.yaml answers, so that another method on a known path is a 405 with
/// `Allow` rather than a 404 (the router cannot say which methods a path has); a test compares this
/// table with the contract.
public enum EndpointMethods {
    public static let table: [(template: String, methods: [String])] = [
        ("/healthz", ["GET"]), ("/v1/whoami", ["GET"]), ("/v1/items", ["GET", "POST"]), ("/v1/items/{id}", ["GET", "PATCH"]),
        ("/v1/items/{id}/payload", ["GET"]), ("/v1/items/{id}/related", ["GET"]), ("/v1/persons", ["GET"]), ("/v1/alerts", ["GET"]), ("/v1/leads", ["GET"]), ("/v1/hub/certificate", ["GET"]), ("/v1/admin/keys", ["GET"]),
        ("/v1/admin/keys/rotate", ["POST"]), ("/v1/requests", ["GET", "POST"]), ("/v1/requests/{id}", ["GET"]),
        ("/v1/requests/{id}/approve", ["POST"]), ("/v1/requests/{id}/deny", ["POST"]), ("/v1/grants", ["GET"]), ("/v1/grants/{id}", ["DELETE"]),
        ("/v1/dossiers", ["POST"]), ("/v1/dossiers/{id}", ["GET"]), ("/v1/dossiers/{id}/payloads", ["POST"]),
        ("/v1/rectification", ["GET"]), ("/v1/feed", ["GET"]),
        ("/v1/policy/explain", ["GET"]), ("/v1/audit", ["GET"]), ("/v1/audit/chain", ["GET"]), ("/v1/audit/heads", ["GET"]), ("/v1/audit/head", ["GET"]),
    ]

    /// The operationId of each method and path of openapi.yaml; a test compares it with the contract.
    public static let operationIDs: [String: String] = [
        "GET /healthz": "healthz", "GET /v1/whoami": "whoami", "GET /v1/items": "listItems", "POST /v1/items": "pushItem",
        "GET /v1/items/{id}": "getItem", "PATCH /v1/items/{id}": "updateItem", "GET /v1/items/{id}/payload": "getItemPayload",
        "GET /v1/items/{id}/related": "relatedItems", "GET /v1/persons": "findPerson", "GET /v1/alerts": "listAlerts",
        "GET /v1/leads": "listLeads", "GET /v1/hub/certificate": "getHubCertificate", "GET /v1/admin/keys": "getKeyRing",
        "POST /v1/admin/keys/rotate": "rotateKeys", "GET /v1/requests": "listRequests", "POST /v1/requests": "createRequest",
        "GET /v1/requests/{id}": "getRequest", "POST /v1/requests/{id}/approve": "approveRequest", "POST /v1/requests/{id}/deny": "denyRequest",
        "GET /v1/grants": "listGrants", "DELETE /v1/grants/{id}": "revokeGrant", "POST /v1/dossiers": "createDossier",
        "GET /v1/dossiers/{id}": "getDossier", "POST /v1/dossiers/{id}/payloads": "pullDossier", "GET /v1/rectification": "listRectification", "GET /v1/feed": "readFeed",
        "GET /v1/policy/explain": "explainAccess", "GET /v1/audit": "listAudit", "GET /v1/audit/chain": "getAuditChain", "GET /v1/audit/heads": "listAuditHeads",
        "GET /v1/audit/head": "getAuditHead",
    ]

    /// The same, keyed by the router's spelling of a path parameter (`:id`), which the router reports as the matched route.
    static let operationsByRoute: [String: String] = Dictionary(uniqueKeysWithValues: operationIDs.map { ($0.key.replacingOccurrences(of: "{id}", with: ":id"), $0.value) })

    /// The operation of a request the router matched to `route`, if it is one of the contract's.
    static func operation(method: String, route: String?) -> String? {
        guard let route else { return nil }
        let key = method + " " + route
        return operationsByRoute[key] ?? operationIDs[key]
    }

    /// The methods `path` answers, or nil if it is no endpoint.
    public static func allowed(on path: String) -> [String]? {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        for (template, methods) in table {
            let pattern = template.split(separator: "/", omittingEmptySubsequences: false)
            guard pattern.count == segments.count else { continue }
            let matches = zip(pattern, segments).allSatisfy { expected, actual in expected == "{id}" ? !actual.isEmpty : expected == actual }
            if matches { return methods }
        }
        return nil
    }
}
