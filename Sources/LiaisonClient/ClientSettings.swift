public import Foundation

/// Where the hub is and which certificate to present. Resolved from flags, then the
/// environment (LIAISON_URL, LIAISON_CERT, LIAISON_KEY, LIAISON_CA), then `--as` (dev certificates).
public struct ClientSettings: Sendable {
    public var url: URL
    public var certificatePath: String
    public var keyPath: String
    public var caPath: String

    public init(url: URL, certificatePath: String, keyPath: String, caPath: String) {
        self.url = url
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        self.caPath = caPath
    }
}
