/// How a payload is named in a folder: its item id, then an extension from its content type, then `.p7m` when it
/// is a CMS envelope still to be opened. The hub names a dossier's bundled payloads so; the CLI adds a title.
public enum PayloadFileName {
    public static func fileExtension(_ contentType: String?) -> String {
        switch contentType {
        case "text/plain": return ".txt"
        case "text/markdown": return ".md"
        case "application/json": return ".json"
        case "application/pdf": return ".pdf"
        case "text/csv": return ".csv"
        default: return ".bin"
        }
    }

    public static func bundled(id: String, contentType: String?, sealed: Bool) -> String {
        id + fileExtension(contentType) + (sealed ? sealedSuffix : "")
    }

    public static let sealedSuffix = ".p7m"
}
