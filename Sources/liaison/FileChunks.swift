import Foundation
import OpenAPIRuntime

/// A file read in 1 MiB pieces as the connection takes them, for a streamed push; every iteration reads the file
/// from its start again, so a retry sends the same bytes. Progress is shown on a terminal.
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ArraySlice<UInt8>
    let path: String
    let size: Int

    struct AsyncIterator: AsyncIteratorProtocol {
        let handle: FileHandle?
        let size: Int
        let progress: Progress
        var sent = 0

        mutating func next() async throws -> ArraySlice<UInt8>? {
            guard let handle else { return nil }
            guard let data = try handle.read(upToCount: 1 << 20), !data.isEmpty else {
                progress.done()
                try? handle.close()
                return nil
            }
            sent += data.count
            progress.show(sent >> 20, of: Swift.max(1, size >> 20))
            return ArraySlice(data)
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(handle: FileHandle(forReadingAtPath: path), size: size, progress: Progress(label: "push", unit: "MiB"))
    }

    /// The file's size, if it is a regular file that can be read.
    static func size(of path: String) -> Int? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path), attributes[.type] as? FileAttributeType == .typeRegular,
              FileManager.default.isReadableFile(atPath: path) else { return nil }
        return (attributes[.size] as? NSNumber)?.intValue
    }
}
