/// JSON written by hand, for text written on hot paths (every audited request's detail, every log line), where
/// Foundation's JSONEncoder cost more than the work around it.
public enum JSONText {
    /// A flat object of strings, its keys sorted so the text is stable.
    public static func object(_ fields: [String: String]) -> String {
        guard !fields.isEmpty else { return "{}" }
        var out: [UInt8] = [UInt8(ascii: "{")]
        out.reserveCapacity(64)
        appendMembers(fields, to: &out)
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }

    /// An array of strings.
    public static func array(_ list: [String]) -> String {
        guard !list.isEmpty else { return "[]" }
        var out: [UInt8] = []
        appendArray(list, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// `["a","b"]`: an array of strings, brackets included.
    public static func appendArray(_ list: [String], to out: inout [UInt8]) {
        out.append(UInt8(ascii: "["))
        for (index, text) in list.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            appendString(text, to: &out)
        }
        out.append(UInt8(ascii: "]"))
    }

    /// `"key":"value"` pairs, sorted by key and separated by commas, without the braces.
    public static func appendMembers(_ fields: [String: String], to out: inout [UInt8]) {
        appendOrderedMembers(fields.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }), to: &out)
    }

    /// `"key":"value"` pairs in the order given, separated by commas, without the braces.
    public static func appendOrderedMembers(_ fields: some Sequence<(key: String, value: String)>, to out: inout [UInt8]) {
        for (index, pair) in fields.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            appendString(pair.key, to: &out)
            out.append(UInt8(ascii: ":"))
            appendString(pair.value, to: &out)
        }
    }

    private static let hex = Array("0123456789abcdef".utf8)

    /// A JSON string: quote, backslash and control characters escaped (RFC 8259 §7); everything else as UTF-8,
    /// copied in runs between the bytes that need escaping (most strings have none).
    public static func appendString(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { bytes in
            var start = 0
            for index in bytes.indices {
                let byte = bytes[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<index]))
                escape(byte, &out)
                start = index + 1
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start...]))
        }
        out.append(UInt8(ascii: "\""))
    }

    private static func escape(_ byte: UInt8, _ out: inout [UInt8]) {
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"):
            out.append(UInt8(ascii: "\\"))
            out.append(byte)
        case 0x0A:
            out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
        default:
            out.append(contentsOf: Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 0x0f)]])
        }
    }
}
