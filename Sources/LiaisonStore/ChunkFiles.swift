import Foundation

/// The bytes of streamed payloads' chunks, kept in files beside the database (`<database>-chunks/<item id>`, one
/// file per item, chunks appended in order) while their rows stay in `payload_chunk` with the offset and length.
///
/// In the database a 1 MiB chunk was written twice, to the WAL and again at the checkpoint, in 4 KiB pages with a
/// frame header each (774 `pwrite`s per MiB, 27% of a large push's hub CPU); here it is written once, in one call.
/// A chunk's bytes are flushed (`fdatasync`, and the folder's entry for a new file) before its row is committed, so a
/// row never names bytes that a crash could lose; bytes written with no row after them are never read, and go with
/// the file when the push is discarded or swept.
struct ChunkFiles: Sendable {
    let folder: String

    /// The folder for the database at `path`.
    init(database path: String) {
        folder = path + "-chunks"
    }

    /// Where a chunk's bytes are in its item's file.
    struct Span: Sendable, Equatable {
        let offset: Int64
        let length: Int

        /// Read from the database: nil for a place no chunk can have (a negative or overflowing offset, a length
        /// beyond any chunk's), which a damaged or edited row may hold and which must not reach `pread`'s arithmetic.
        init?(offset: Int64?, length: Int?) {
            guard let offset, let length, offset >= 0, (0...Self.largest).contains(length), offset <= Int64.max - Int64(length) else { return nil }
            self.offset = offset
            self.length = length
        }

        init(checkedOffset offset: Int64, length: Int) {
            self.offset = offset
            self.length = length
        }

        /// Far above a chunk's size (1 MiB, and a sealed chunk's 28 bytes more).
        static let largest = 64 << 20
    }

    /// The file of `itemID`, or nil for an id that is not a plain file name (hub ids always are; such an item's
    /// chunks stay in the database).
    func path(of itemID: String) -> String? {
        guard !itemID.isEmpty, itemID.utf8.count <= 128, itemID.utf8.allSatisfy(Self.plain) else { return nil }
        return folder + "/" + itemID
    }

    private static func plain(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x2D || byte == 0x5F
    }

    /// What an append wrote: where each chunk went, and how to take it back.
    struct Appended {
        let spans: [Span]
        /// The file's size before, or nil when the append made the file.
        let sizeBefore: Int64?
    }

    /// Appends `chunks` to the file at `path` and flushes them (unless `flushing` is false: the caller appends more
    /// and calls `flush` before any row names them). On failure nothing of them is left (a full disk is the likeliest
    /// cause, and what was written would hold space until a sweep).
    func append(_ chunks: [StoredChunk], to path: String, flushing: Bool = true) throws -> Appended {
        try makeFolder()
        var created = true
        var descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if descriptor < 0 && errno == EEXIST {
            created = false
            descriptor = open(path, O_WRONLY | O_CLOEXEC)
        }
        guard descriptor >= 0 else { throw Self.failure("cannot open", path) }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw Self.failure("cannot read the size of", path) }
        // After whatever an earlier, unacknowledged write left: those bytes have no row.
        let start = Int64(info.st_size)
        let appended = Appended(spans: [], sizeBefore: created ? nil : start)
        var offset = start
        var spans: [Span] = []
        spans.reserveCapacity(chunks.count)
        do {
            for chunk in chunks {
                try chunk.bytes.withUnsafeBytes { buffer in
                    var written = 0
                    while written < buffer.count {
                        let count = pwrite(descriptor, buffer.baseAddress! + written, buffer.count - written, off_t(offset) + off_t(written))
                        if count < 0 && errno == EINTR { continue }
                        guard count > 0 else { throw Self.failure("cannot write", path) }
                        written += count
                    }
                }
                spans.append(Span(checkedOffset: offset, length: chunk.bytes.count))
                offset += Int64(chunk.bytes.count)
            }
            if flushing {
                guard fdatasync(descriptor) == 0 else { throw Self.failure("cannot flush", path) }
                if created { try Self.flushFolder(folder) }
            }
        } catch {
            takeBack(appended, at: path)
            throw error
        }
        return Appended(spans: spans, sizeBefore: appended.sizeBefore)
    }

    /// Makes what was appended to the file at `path` without flushing durable, the file's entry in the folder too.
    func flush(_ path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw Self.failure("cannot open", path) }
        defer { close(descriptor) }
        guard fdatasync(descriptor) == 0 else { throw Self.failure("cannot flush", path) }
        try Self.flushFolder(folder)
    }

    /// Undoes `appended` at `path`: the file it made goes, a file it grew is cut back to its size before.
    func takeBack(_ appended: Appended, at path: String) {
        if let size = appended.sizeBefore { _ = truncate(path, off_t(size)) } else { unlink(path) }
    }

    /// The bytes at `span` of the file at `path`; nil when the file or those bytes are not there (a lost chunk, which
    /// the reader reports as damage).
    func read(_ span: Span, at path: String) throws -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        if descriptor < 0 && errno == ENOENT { return nil }
        guard descriptor >= 0 else { throw Self.failure("cannot open", path) }
        defer { close(descriptor) }
        var complete = true
        let bytes = try [UInt8](unsafeUninitializedCapacity: span.length) { buffer, initialized in
            while initialized < span.length {
                let count = pread(descriptor, buffer.baseAddress! + initialized, span.length - initialized, off_t(span.offset) + off_t(initialized))
                if count < 0 && errno == EINTR { continue }
                guard count >= 0 else { throw Self.failure("cannot read", path) }
                if count == 0 { complete = false; break }
                initialized += count
            }
        }
        return complete ? bytes : nil
    }

    /// Removes the file of `itemID`, if there is one.
    func remove(_ itemID: String) {
        guard let path = path(of: itemID) else { return }
        unlink(path)
    }

    /// The item ids that have a file.
    func items() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { path(of: $0) != nil }
    }

    private func makeFolder() throws {
        var info = stat()
        guard stat(folder, &info) != 0 else { return }
        guard mkdir(folder, 0o700) == 0 || errno == EEXIST else { throw Self.failure("cannot create", folder) }
        try Self.flushFolder((folder as NSString).deletingLastPathComponent)
    }

    /// Makes a new entry in `folder` durable.
    private static func flushFolder(_ folder: String) throws {
        let descriptor = open(folder.isEmpty ? "." : folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure("cannot open", folder) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw failure("cannot flush", folder) }
    }

    private static func failure(_ what: String, _ path: String) -> StoreError {
        errno == ENOSPC ? .full : .durability("\(what) \(path): \(String(cString: strerror(errno)))")
    }
}
