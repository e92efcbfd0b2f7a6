/// The methods each path of openapi.yaml answers, so that another method on a known path is a 405 with
/// `Allow` rather than a 404 (the router cannot say which methods a path has); a test compares this
/// table with the contract.
public enum EndpointMethods {
    public static let table: [(template: String, methods: [String])] = [
        ("/healthz", ["GET"]), ("/v1/whoami", ["GET"]), ("/v1/items", ["GET", "POST"]), ("/v1/items/{id}", ["GET", "PATCH"]),
        ("/v1/items/{id}/payload", ["GET"]), ("/v1/leads", ["GET"]), ("/v1/hub/certificate", ["GET"]), ("/v1/admin/keys", ["GET"]),
        ("/v1/admin/keys/rotate", ["POST"]), ("/v1/requests", ["GET", "POST"]), ("/v1/requests/{id}", ["GET"]),
        ("/v1/requests/{id}/approve", ["POST"]), ("/v1/requests/{id}/deny", ["POST"]), ("/v1/grants", ["GET"]), ("/v1/grants/{id}", ["DELETE"]),
        ("/v1/dossiers", ["POST"]), ("/v1/dossiers/{id}", ["GET"]), ("/v1/rectification", ["GET"]), ("/v1/feed", ["GET"]),
        ("/v1/policy/explain", ["GET"]), ("/v1/audit", ["GET"]), ("/v1/audit/heads", ["GET"]), ("/v1/audit/head", ["GET"]),
    ]

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
