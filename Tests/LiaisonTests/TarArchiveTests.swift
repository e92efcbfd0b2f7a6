import Foundation
import LiaisonCore
import Testing

/// The tar form of a dossier's payloads, written by the hub and read by the CLI as it streams: what is written reads
/// back whole however the bytes are cut, and what is not as a hub writes it is refused, never trusted or trapped on.
@Suite("Tar archives")
struct TarArchiveTests {
    static func archive(_ files: [(String, [UInt8])]) -> [UInt8] {
        var out: [UInt8] = []
        for (name, bytes) in files { TarArchive.append(file: name, bytes: bytes, mtime: 1_764_000_000, to: &out) }
        return out + TarArchive.end
    }

    /// Reads `bytes` in pieces of random sizes up to `largest`.
    static func read(_ bytes: [UInt8], largestFile: Int = 1 << 20, pieces seed: UInt64, largest: Int) throws -> [TarArchive.File] {
        var generator = SplitMix(state: seed)
        var reader = TarArchive.Reader(largestFile: largestFile)
        var files: [TarArchive.File] = []
        var start = 0
        while start < bytes.count {
            let size = 1 + Int(generator.next() % UInt64(largest))
            files += try reader.take(bytes[start..<min(bytes.count, start + size)])
            start += size
        }
        try reader.end()
        return files
    }

    @Test func whatIsWrittenReadsBackWholeInPiecesOfAnySize() throws {
        var generator = SplitMix(state: 18)
        let files = (0..<25).map { index in
            ("\(String(format: "%016x", index)).txt\(index % 3 == 0 ? ".p7m" : "")", (0..<Int(generator.next() % 3000)).map { _ in UInt8(truncatingIfNeeded: generator.next()) })
        }
        let bytes = Self.archive(files)
        #expect(bytes.count % 512 == 0)
        for seed in 1...20 as ClosedRange<UInt64> {
            let read = try Self.read(bytes, pieces: seed, largest: seed < 10 ? 700 : 70_000)
            #expect(read.map(\.name) == files.map(\.0) && read.map(\.bytes) == files.map(\.1), "seed \(seed)")
        }
        // Zeros some writers pad with past the end are taken; nothing else is.
        var padded = TarArchive.Reader(largestFile: 1 << 20)
        #expect(try padded.take(bytes + [UInt8](repeating: 0, count: 9216)).count == files.count)
        #expect(throws: TarArchive.Unreadable.self) { try padded.take([1]) }
        var followed = TarArchive.Reader(largestFile: 1 << 20)
        #expect(throws: TarArchive.Unreadable.self) { try followed.take(bytes + [0x41]) }
        #expect(try Self.read(TarArchive.end, pieces: 1, largest: 5).isEmpty)
    }

    @Test func anArchiveThatIsNotAsAHubWritesItIsRefused() throws {
        let bytes = Self.archive([("0123456789abcdef.txt", Array("内容".utf8)), ("fedcba9876543210.bin", [1, 2, 3])])
        func refused(_ bytes: [UInt8], largestFile: Int = 1 << 20) -> Bool {
            var reader = TarArchive.Reader(largestFile: largestFile)
            do {
                _ = try reader.take(bytes)
                try reader.end()
                return false
            } catch is TarArchive.Unreadable {
                return true
            } catch {
                return false
            }
        }
        #expect(!refused(bytes))
        // Cut anywhere before its end marker: cut off.
        for cut in [1, 511, 512, 513, 1023, 1024, 1536, bytes.count - 1024, bytes.count - 1] { #expect(refused(Array(bytes.prefix(cut))), "cut at \(cut)") }
        // A flipped byte in a header fails its checksum; one in a file's bytes is for the SHA-256 the reader checks.
        for offset in [0, 100, 124, 148, 156, 257, 511, 1024 + 124] {
            var flipped = bytes
            flipped[offset] ^= 0x20
            #expect(refused(flipped), "offset \(offset)")
        }
        // A header announcing more than is expected is refused before its bytes are awaited.
        var reader = TarArchive.Reader(largestFile: 2)
        #expect(throws: TarArchive.Unreadable.self) { try reader.take(bytes.prefix(512)) }
        // Links, folders and other kinds of entry are not files a hub sends.
        var header = Array(bytes.prefix(512))
        header[156] = UInt8(ascii: "5")
        let sum = String(header.enumerated().reduce(0) { $0 + ((148..<156).contains($1.offset) ? 32 : Int($1.element)) }, radix: 8)
        let field = Array((String(repeating: "0", count: 6 - sum.count) + sum).utf8) + [0, 32]
        header.replaceSubrange(148..<156, with: field)
        #expect(refused(header + TarArchive.end))
        // Random bytes never trap the reader.
        var generator = SplitMix(state: 7)
        for _ in 0..<200 {
            var noise = bytes
            for _ in 0..<4 { noise[Int(generator.next() % UInt64(noise.count))] = UInt8(truncatingIfNeeded: generator.next()) }
            var reader = TarArchive.Reader(largestFile: 1 << 20)
            _ = try? reader.take(noise)
        }
    }
}
