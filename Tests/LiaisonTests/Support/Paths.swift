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

    /// A new folder under this test process's own folder, which goes when the process ends: tests make
    /// databases, keys and certificates there, and a suite run must not leave them behind.
    static func temporaryDirectory(_ label: String) throws -> String {
        let path = runFolder + "/\(label)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    private static let runFolderPrefix = "liaison-tests-"

    /// Made on first use, removed at exit. Folders of earlier runs whose process is gone (killed, crashed)
    /// are removed here, so one interrupted run does not leave its data for good.
    private static let runFolder: String = {
        let base = FileManager.default.temporaryDirectory.path
        for name in (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [] where name.hasPrefix(runFolderPrefix) {
            guard let pid = Int32(name.dropFirst(runFolderPrefix.count)), kill(pid, 0) != 0, errno == ESRCH else { continue }
            try? FileManager.default.removeItem(atPath: base + "/" + name)
        }
        let folder = base + "/" + runFolderPrefix + String(getpid())
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: Paths.runFolder) }
        return folder
    }()
}
