import Foundation

/// What the blind index of persons and tags marks: a name normalised so that the ways of writing one name meet
/// (full-width and half-width forms, compatibility characters, white space, Latin case), then tagged by what it
/// names, so that a person and a tag spelled alike do not meet.
public enum Correlation {
    public enum Sort: String, Sendable, CaseIterable {
        case person
        case tag
    }

    /// NFKC, every white space removed, lower case: "张　三", "张 三" and "张三" are one name; so are "Ｚｈａｎｇ Wei" and "zhangwei".
    public static func normalised(_ name: String) -> String {
        String(String.UnicodeScalarView(name.precomposedStringWithCompatibilityMapping.lowercased().unicodeScalars.filter { !$0.properties.isWhitespace }))
    }

    /// The bytes the hub's index key marks for `name` as a `sort`; nil for a name that normalises to nothing.
    public static func markInput(_ sort: Sort, _ name: String) -> [UInt8]? {
        let normal = normalised(name)
        guard !normal.isEmpty else { return nil }
        return Array(sort.rawValue.utf8) + [0] + Array(normal.utf8)
    }
}
