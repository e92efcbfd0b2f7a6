/// A payload delivered sealed chunk by chunk: frames of a 4-byte big-endian length and a DER CMS AuthEnvelopedData
/// (`CMSEnvelope`) to the reader's certificate, whose content is a header naming the item, the frame's index and
/// whether it is the last, then one chunk of the payload. Each frame is a standard envelope that `openssl cms` opens;
/// the headers let the reader check that no frame was moved, dropped or cut off. One envelope of the whole would be
/// simpler, but OpenSSL 3.0 parses an envelope whole and refuses one of 2 GiB or more.
public enum SealedFrames {
    public static let mediaType = "application/vnd.liaison.cms-frames"

    public static func header(itemID: String, index: Int, last: Bool) -> [UInt8] {
        Array("liaison/frame/v1\n\(itemID)\n\(index)\n\(last ? "last" : "more")\n".utf8)
    }

    /// One frame: `chunk` with its header, sealed to `recipient`, length first.
    public static func frame(_ chunk: [UInt8], itemID: String, index: Int, last: Bool, to recipient: X509Certificate) throws -> [UInt8] {
        let envelope = try CMSEnvelope.seal(header(itemID: itemID, index: index, last: last) + chunk, to: recipient)
        let length = UInt32(envelope.count)
        return [UInt8(length >> 24), UInt8(truncatingIfNeeded: length >> 16), UInt8(truncatingIfNeeded: length >> 8), UInt8(truncatingIfNeeded: length)] + envelope
    }

    /// Opens frames as their bytes arrive, in order, and says when the last one has been opened.
    public struct Reader {
        let itemID: String
        let key: PrivateKey
        let certificate: X509Certificate
        private var buffered: [UInt8] = []
        private var next = 0
        public private(set) var finished = false
        /// The largest frame taken: a chunk and its envelope (a frame claiming more is not one of the hub's).
        static let largestFrame = 4 << 20

        public init(itemID: String, key: PrivateKey, certificate: X509Certificate) {
            self.itemID = itemID
            self.key = key
            self.certificate = certificate
        }

        /// The chunks of the frames `bytes` completes, opened and checked.
        public mutating func take(_ bytes: some Collection<UInt8>) throws -> [[UInt8]] {
            buffered.append(contentsOf: bytes)
            var chunks: [[UInt8]] = []
            var offset = 0
            while buffered.count - offset >= 4 {
                let length = buffered[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
                guard length <= Self.largestFrame else { throw CryptoError.malformed("a frame of \(length) bytes is larger than any this hub sends") }
                guard buffered.count - offset - 4 >= length else { break }
                guard !finished else { throw CryptoError.malformed("a frame follows the last one") }
                let content = try CMSEnvelope.open(buffered[offset + 4..<offset + 4 + length], key: key, certificate: certificate)
                offset += 4 + length
                let more = SealedFrames.header(itemID: itemID, index: next, last: false)
                let last = SealedFrames.header(itemID: itemID, index: next, last: true)
                if content.starts(with: more) {
                    chunks.append(Array(content.dropFirst(more.count)))
                } else if content.starts(with: last) {
                    chunks.append(Array(content.dropFirst(last.count)))
                    finished = true
                } else {
                    throw CryptoError.malformed("frame \(next) is not the next frame of item \(itemID)")
                }
                next += 1
            }
            buffered.removeFirst(offset)
            return chunks
        }
    }
}
