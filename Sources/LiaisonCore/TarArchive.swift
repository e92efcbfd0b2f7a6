/// The tar (ustar) form a dossier's payloads travel in (`POST /v1/dossiers/{id}/payloads`): a stock `tar -x` unpacks
/// it into a folder, and the CLI reads it as it streams. Only what the hub writes is read back: regular files with
/// short names, each a 512-byte header, its bytes, zeros up to the next 512, and two zero blocks at the end.
public enum TarArchive {
    public static let mediaType = "application/x-tar"
    public static let block = 512
    /// What ends an archive.
    public static let end = [UInt8](repeating: 0, count: 2 * block)

    /// A regular file's header, its bytes and their padding, appended to `out`. `name` is ASCII of at most 100
    /// bytes (an item id and an extension); the file is mode 0600, owned by uid and gid 0, modified at `mtime`.
    public static func append(file name: String, bytes: [UInt8], mtime: Int64, to out: inout [UInt8]) {
        var header = [UInt8](repeating: 0, count: block)
        func put(_ text: String, at offset: Int) {
            for (index, byte) in text.utf8.enumerated() { header[offset + index] = byte }
        }
        func octal(_ value: Int64, width: Int) -> String {
            let digits = String(value, radix: 8)
            return String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits
        }
        put(String(name.prefix(100)), at: 0)
        put(octal(0o600, width: 8), at: 100)
        put(octal(0, width: 8), at: 108)
        put(octal(0, width: 8), at: 116)
        put(octal(Int64(bytes.count), width: 12), at: 124)
        put(octal(max(0, mtime), width: 12), at: 136)
        put("        ", at: 148)  // the checksum is taken with its own field as spaces
        header[156] = UInt8(ascii: "0")
        put("ustar", at: 257)
        put("00", at: 263)
        put(octal(Int64(checksum(header)), width: 7), at: 148)  // six digits, a NUL and a space
        header[154] = 0
        out.append(contentsOf: header)
        out.append(contentsOf: bytes)
        out.append(contentsOf: repeatElement(0, count: padding(bytes.count)))
    }

    static func padding(_ size: Int) -> Int { (block - size % block) % block }

    static func checksum<Bytes: Collection<UInt8>>(_ header: Bytes) -> Int {
        var sum = 0
        for (index, byte) in header.enumerated() { sum += (148..<156).contains(index) ? Int(UInt8(ascii: " ")) : Int(byte) }
        return sum
    }

    /// One file of an archive as read.
    public struct File: Sendable {
        public let name: String
        public let bytes: [UInt8]
    }

    /// Why an archive could not be read.
    public struct Unreadable: Error, CustomStringConvertible {
        public let description: String
    }

    /// Reads an archive from pieces of any size, holding at most one file's bytes and one header.
    public struct Reader {
        /// The largest file taken; a header announcing more is refused before its bytes are awaited.
        let largestFile: Int
        private var pending: [UInt8] = []
        /// The file whose bytes are being read, with how many bytes of it (and its padding) are still to come.
        private var current: (name: String, size: Int)?
        public private(set) var finished = false

        public init(largestFile: Int) {
            self.largestFile = largestFile
        }

        /// The files completed by `piece`, in order.
        public mutating func take<Bytes: Collection<UInt8>>(_ piece: Bytes) throws -> [File] {
            guard !finished else {
                // Some writers pad past the two zero blocks; nothing but zeros may follow them.
                guard piece.allSatisfy({ $0 == 0 }) else { throw Unreadable(description: "bytes follow the end of the archive") }
                return []
            }
            pending.append(contentsOf: piece)
            var files: [File] = []
            var start = 0
            while !finished {
                if let file = current {
                    let whole = file.size + TarArchive.padding(file.size)
                    guard pending.count - start >= whole else { break }
                    files.append(File(name: file.name, bytes: Array(pending[start..<(start + file.size)])))
                    start += whole
                    current = nil
                } else {
                    guard pending.count - start >= TarArchive.block else { break }
                    let header = pending[start..<(start + TarArchive.block)]
                    if header.allSatisfy({ $0 == 0 }) {
                        // The end is two zero blocks: an archive cut after the first is cut off.
                        guard pending.count - start >= TarArchive.end.count else { break }
                        start += TarArchive.end.count
                        guard pending[(start - TarArchive.block)...].allSatisfy({ $0 == 0 }) else {
                            throw Unreadable(description: "bytes follow the end of the archive")
                        }
                        finished = true
                        break
                    }
                    start += TarArchive.block
                    current = try Self.file(in: header, largest: largestFile)
                }
            }
            pending.removeFirst(min(start, pending.count))
            return files
        }

        /// Throws unless the archive ended where it should have.
        public func end() throws {
            guard finished else { throw Unreadable(description: "the archive ended before its end marker (cut off)") }
        }

        static func file(in header: ArraySlice<UInt8>, largest: Int) throws -> (name: String, size: Int) {
            let bytes = Array(header)
            guard let recorded = octal(bytes[148..<156]), recorded == checksum(bytes) else {
                throw Unreadable(description: "a header's checksum does not match")
            }
            guard bytes[156] == UInt8(ascii: "0") || bytes[156] == 0 else {
                throw Unreadable(description: "an entry is not a regular file (type \(bytes[156]))")
            }
            guard let size = octal(bytes[124..<136]), size <= largest else {
                throw Unreadable(description: "a file is larger than the \(largest) bytes expected")
            }
            let nameBytes = bytes[0..<100].prefix { $0 != 0 }
            guard !nameBytes.isEmpty, bytes[345..<500].allSatisfy({ $0 == 0 }), let name = String(validating: nameBytes, as: UTF8.self) else {
                throw Unreadable(description: "a file's name is missing or not as written by a hub")
            }
            return (name, size)
        }

        /// An octal field, ended by NUL or space.
        static func octal(_ field: ArraySlice<UInt8>) -> Int? {
            let digits = field.drop { $0 == UInt8(ascii: " ") }.prefix { $0 != 0 && $0 != UInt8(ascii: " ") }
            guard !digits.isEmpty, digits.count <= 11, digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "7")).contains($0) }) else { return nil }
            return digits.reduce(0) { $0 * 8 + Int($1 - UInt8(ascii: "0")) }
        }
    }
}
