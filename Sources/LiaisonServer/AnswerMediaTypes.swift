import LiaisonCore
import LiaisonCrypto

/// The media types a route's success answer can have (errors are always JSON), as openapi.yaml declares
/// them; a test compares this table with the contract, so a new endpoint cannot drift from it.
public enum AnswerMediaTypes {
    public static let plainPayload = "application/octet-stream"
    public static let sealedPayload = "application/pkcs7-mime"
    /// A payload kept in chunks, sealed chunk by chunk (`SealedFrames`), for a reader that asks for it by name.
    public static let sealedFrames = SealedFrames.mediaType

    public static func of(path: String) -> [String] {
        if path == "/v1/hub/certificate" { return ["application/x-pem-file"] }
        if path == "/v1/audit/chain" { return [AuditChainText.mediaType] }
        if path.hasPrefix("/v1/dossiers/"), path.hasSuffix("/payloads") { return [TarArchive.mediaType] }
        if path.hasPrefix("/v1/items/"), path.hasSuffix("/payload") { return [plainPayload, sealedPayload, sealedFrames] }
        return ["application/json"]
    }
}
