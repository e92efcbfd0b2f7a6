import LiaisonAPI

/// Query parameters whose type the URI decoder does not name when a value does not fit it, so that the
/// 400 can name the parameter; a test compares these tables with openapi.yaml.
public enum QueryParameterTypes {
    /// Parameters declared `format: date-time`.
    public static let dates: Set<String> = ["since", "until"]

    /// Parameters declared with an enum schema, and its values.
    public static let enums: [String: [String]] = [
        "classification": Components.Schemas.Classification.allCases.map(\.rawValue),
        "status": Components.Schemas.RequestStatus.allCases.map(\.rawValue),
    ]
}
