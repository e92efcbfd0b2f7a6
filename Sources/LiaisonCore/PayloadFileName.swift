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

    /// The last file of a dossier's archive when payloads had to be left out (they failed the hub's integrity check):
    /// their ids, one a line, so that a reader of the archive with stock tools learns of them. No item's file has
    /// this name (ids are 16 letters and digits).
    public static let leftOut = "left-out.txt"
}
