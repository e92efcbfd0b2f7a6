import Foundation

/// Where the package, its scripts and its built binaries are.
enum Paths {
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var policies: String { packageRoot.appendingPathComponent("policies").path }

    /// The folder with `liaison` and `liaisond`: LIAISON_BIN_DIR (set by scripts/test) or .build/debug.
    static var binaries: String {
        ProcessInfo.processInfo.environment["LIAISON_BIN_DIR"] ?? packageRoot.appendingPathComponent(".build/debug").path
    }

    static func temporaryDirectory(_ label: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("liaison-\(label)-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
