import Foundation
import LiaisonHub

/// Reads a `multipart/form-data` body (RFC 7578, RFC 2046 §5.1) part by part as it streams in: each part's headers
/// whole (at most `headLimit` bytes), its bytes piece by piece. A file part of any size passes through holding one
/// piece of the body and a delimiter's length of it at a time.
final class MultipartReader<Source: AsyncIteratorProtocol> where Source.Element == ArraySlice<UInt8> {
    /// What a part's headers say about it.
    struct Head: Equatable {
        let name: String
        let filename: String?
        let contentType: String?
    }

    static var headLimit: Int { 16 * 1024 }

    private var source: Source
    /// CRLF "--" boundary: what ends a part's bytes.
    private let delimiter: [UInt8]
    /// Read from the source and not given out yet, from `start`. It begins with a CRLF of its own, so that the first
    /// boundary, which nothing precedes, is found as every other one is.
    private var buffer: [UInt8] = [13, 10]
    private var start = 0
    /// How many bytes were read and dropped from the buffer before `start`'s beginning.
    private var dropped = 0
    private enum State { case preamble, head, body, closed }
    private var state = State.preamble

    init(boundary: String, source: Source) {
        delimiter = Array("\r\n--\(boundary)".utf8)
        self.source = source
    }

    /// The next part's head, its bytes to be read with `nextBytes`; nil after the closing boundary. What is left of the
    /// part before it is skipped.
    func nextPart() async throws -> Head? {
        while state == .body { _ = try await nextBytes() }
        if state == .closed { return nil }
        if state == .preamble {
            // Whatever precedes the first boundary is not part of the form.
            while true {
                if let found = find(delimiter) {
                    start = found + delimiter.count
                    break
                }
                start = max(start, buffer.count - (delimiter.count - 1))
                // curl sends none; a preamble without end would only keep the connection busy.
                guard dropped + start <= Self.headLimit else { throw Self.malformed("the first boundary '\(boundaryText)' is not within the body's first \(Self.headLimit) bytes") }
                guard try await fill() else { throw Self.malformed("the body holds no boundary '\(boundaryText)'") }
            }
            state = .head
        }
        // After a boundary: "--" closes the form; otherwise optional blanks, then CRLF and the part's header lines.
        while buffer.count - start < 2 { guard try await fill() else { throw Self.truncated } }
        if buffer[start] == UInt8(ascii: "-") && buffer[start + 1] == UInt8(ascii: "-") {
            state = .closed
            return nil
        }
        while true {
            while start < buffer.count, buffer[start] == UInt8(ascii: " ") || buffer[start] == UInt8(ascii: "\t") { start += 1 }
            if start < buffer.count { break }
            guard try await fill() else { throw Self.truncated }
        }
        // The CRLF that ends the boundary's line is the first half of the blank line when a part has no headers.
        let blankLine: [UInt8] = [13, 10, 13, 10]
        while true {
            if buffer.count - start >= 2, buffer[start] != 13 || buffer[start + 1] != 10 {
                throw Self.malformed("a boundary line does not end with CRLF")
            }
            if let end = find(blankLine) {
                guard end - start <= Self.headLimit else { throw Self.longHead }
                let lines = buffer.count - start >= 2 && end > start ? Array(buffer[(start + 2)..<end]) : []
                start = end + blankLine.count
                state = .body
                return try Self.head(of: lines)
            }
            guard buffer.count - start <= Self.headLimit else { throw Self.longHead }
            guard try await fill() else { throw Self.truncated }
        }
    }

    /// The current part's next bytes; nil at its end.
    func nextBytes() async throws -> ArraySlice<UInt8>? {
        guard state == .body else { return nil }
        while true {
            if let found = find(delimiter) {
                let piece = buffer[start..<found]
                start = found + delimiter.count
                state = .head
                // A copy: the buffer is compacted and refilled while the piece is in use.
                return piece.isEmpty ? nil : ArraySlice(Array(piece))
            }
            // All but what could be the beginning of a delimiter split across two reads.
            let safe = buffer.count - (delimiter.count - 1)
            if safe > start {
                let piece = ArraySlice(Array(buffer[start..<safe]))
                start = safe
                return piece
            }
            guard try await fill() else { throw Self.truncated }
        }
    }

    /// The rest of the current part, refused beyond `limit` bytes (`what` names it in the message).
    func collect(upTo limit: Int, what: String) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        while let piece = try await nextBytes() {
            guard bytes.count + piece.count <= limit else { throw Self.malformed("\(what) is longer than \(limit) bytes") }
            bytes += piece
        }
        return bytes
    }

    /// Appends the source's next piece, first dropping what was given out; false at the source's end.
    private func fill() async throws -> Bool {
        guard let piece = try await source.next() else { return false }
        if start > 0 {
            buffer.removeSubrange(0..<start)
            dropped += start
            start = 0
        }
        buffer += piece
        return true
    }

    /// Where `needle` first occurs in the buffer from `start`.
    private func find(_ needle: [UInt8]) -> Int? {
        guard buffer.count - start >= needle.count else { return nil }
        return buffer.withUnsafeBytes { haystack in
            needle.withUnsafeBytes { needle in
                // memchr to each candidate first byte, memcmp for the rest: a payload's bytes pass at memchr's speed.
                let base = haystack.baseAddress!
                var position = start
                let last = haystack.count - needle.count
                while position <= last {
                    guard let hit = memchr(base + position, Int32(needle[0]), last - position + 1) else { return nil }
                    let offset = UnsafeRawPointer(hit) - base
                    if memcmp(base + offset, needle.baseAddress!, needle.count) == 0 { return offset }
                    position = offset + 1
                }
                return nil
            }
        }
    }

    private var boundaryText: String { String(decoding: delimiter.dropFirst(2), as: UTF8.self) }

    /// A part's head from its header lines (`Content-Disposition: form-data; name="…"` is required).
    static func head(of lines: [UInt8]) throws -> Head {
        var disposition: String?
        var contentType: String?
        for line in String(decoding: lines, as: UTF8.self).components(separatedBy: "\r\n") where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { throw malformed("a part's header line has no colon: '\(line.prefix(100))'") }
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            switch line[..<colon].trimmingCharacters(in: .whitespaces).lowercased() {
            case "content-disposition": disposition = value
            case "content-type": contentType = value
            default: continue
            }
        }
        guard let disposition else { throw malformed("a part has no Content-Disposition header") }
        let parameters = Self.parameters(of: disposition)
        guard parameters.first?.name.lowercased() == "form-data", let name = parameters.first(where: { $0.name.lowercased() == "name" })?.value else {
            throw malformed("a part's Content-Disposition is not form-data with a name: '\(disposition.prefix(200))'")
        }
        return Head(name: name, filename: parameters.first { $0.name.lowercased() == "filename" }?.value, contentType: contentType)
    }

    /// `form-data; name="item"; filename="a;b.pdf"` as (form-data, nil), (name, item), (filename, a;b.pdf): split on
    /// semicolons outside quotes, a quoted value unquoted (a backslash keeps the character after it).
    static func parameters(of header: String) -> [(name: String, value: String?)] {
        var pieces: [String] = []
        var current = ""
        var quoted = false
        var escaped = false
        for character in header {
            if escaped {
                current.append(character)
                escaped = false
            } else if quoted && character == "\\" {
                escaped = true
            } else if character == "\"" {
                quoted.toggle()
            } else if character == ";" && !quoted {
                pieces.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        pieces.append(current)
        return pieces.map { piece in
            guard let equals = piece.firstIndex(of: "=") else { return (piece.trimmingCharacters(in: .whitespaces), nil) }
            return (piece[..<equals].trimmingCharacters(in: .whitespaces), String(piece[piece.index(after: equals)...]).trimmingCharacters(in: .whitespaces))
        }
    }

    static var longHead: HubError { malformed("a part's headers are longer than \(headLimit) bytes") }

    static var truncated: HubError { malformed("the body ended before the form's closing boundary") }

    static func malformed(_ problem: String) -> HubError {
        HubError(.invalid, code: "invalid_multipart", message: "the multipart/form-data body is malformed: \(problem)",
                 hint: "Send the parts 'item' (the item's fields as JSON) then 'payload' (the file), e.g. curl -F item=@item.json -F payload=@FILE")
    }
}
