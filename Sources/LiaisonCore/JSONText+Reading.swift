extension JSONText {
    /// Reads what `object` writes (any flat JSON object of strings): the members, or nil for anything else. By
    /// hand, for the trail's details, read for every entry an auditor pages through.
    public static func readObject(_ text: String) -> [String: String]? {
        var text = text
        return text.withUTF8 { bytes -> [String: String]? in
            var reader = Reader(bytes: bytes)
            guard reader.take(UInt8(ascii: "{")) else { return nil }
            var members: [String: String] = [:]
            if reader.take(UInt8(ascii: "}")) { return reader.atEnd ? members : nil }
            repeat {
                guard let key = reader.string(), reader.take(UInt8(ascii: ":")), let value = reader.string() else { return nil }
                members[key] = value
            } while reader.take(UInt8(ascii: ","))
            return reader.take(UInt8(ascii: "}")) && reader.atEnd ? members : nil
        }
    }

    /// Reads what `appendString` writes (any JSON array of strings, for `readList`).
    public static func readList(_ text: String) -> [String]? {
        var text = text
        return text.withUTF8 { bytes -> [String]? in
            var reader = Reader(bytes: bytes)
            guard reader.take(UInt8(ascii: "[")) else { return nil }
            var list: [String] = []
            if reader.take(UInt8(ascii: "]")) { return reader.atEnd ? list : nil }
            repeat {
                guard let value = reader.string() else { return nil }
                list.append(value)
            } while reader.take(UInt8(ascii: ","))
            return reader.take(UInt8(ascii: "]")) && reader.atEnd ? list : nil
        }
    }

    /// The members of a flat JSON object of strings as UTF-8 bytes, in the order written (nil for anything else).
    public static func readMembers(_ bytes: UnsafeBufferPointer<UInt8>) -> [(key: [UInt8], value: [UInt8])]? {
        var reader = Reader(bytes: bytes)
        guard reader.take(UInt8(ascii: "{")) else { return nil }
        var members: [(key: [UInt8], value: [UInt8])] = []
        if reader.take(UInt8(ascii: "}")) { return reader.atEnd ? members : nil }
        repeat {
            guard let key = reader.utf8(), reader.take(UInt8(ascii: ":")), let value = reader.utf8() else { return nil }
            members.append((key, value))
        } while reader.take(UInt8(ascii: ","))
        return reader.take(UInt8(ascii: "}")) && reader.atEnd ? members : nil
    }

    /// A member's value in `readPlainObject`: a string, or an array of strings.
    public enum PlainValue: Sendable, Equatable {
        case string(String)
        case strings([String])
    }

    /// The members of a JSON object whose values are all strings or arrays of strings, read strictly: nil for
    /// anything else (another kind of value, a key given twice, text that is not valid UTF-8), which a caller
    /// leaves to a full JSON decoder. For request bodies read on a hot path.
    public static func readPlainObject(_ bytes: UnsafeBufferPointer<UInt8>) -> [String: PlainValue]? {
        var reader = Reader(bytes: bytes)
        guard reader.take(UInt8(ascii: "{")) else { return nil }
        var members: [String: PlainValue] = [:]
        if reader.take(UInt8(ascii: "}")) { return reader.atEnd ? members : nil }
        repeat {
            guard let key = reader.validString(), reader.take(UInt8(ascii: ":")), members[key] == nil else { return nil }
            if reader.take(UInt8(ascii: "[")) {
                var list: [String] = []
                if !reader.take(UInt8(ascii: "]")) {
                    repeat {
                        guard let value = reader.validString() else { return nil }
                        list.append(value)
                    } while reader.take(UInt8(ascii: ","))
                    guard reader.take(UInt8(ascii: "]")) else { return nil }
                }
                members[key] = .strings(list)
            } else {
                guard let value = reader.validString() else { return nil }
                members[key] = .string(value)
            }
        } while reader.take(UInt8(ascii: ","))
        return reader.take(UInt8(ascii: "}")) && reader.atEnd ? members : nil
    }

    private struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        var atEnd: Bool {
            mutating get {
                skipSpace()
                return index == bytes.count
            }
        }

        mutating func skipSpace() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }

        mutating func take(_ byte: UInt8) -> Bool {
            skipSpace()
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        /// A JSON string (RFC 8259 §7), its escapes undone; nil if malformed.
        mutating func string() -> String? {
            utf8().map { String(decoding: $0, as: UTF8.self) }
        }

        /// A JSON string, its escapes undone; nil if malformed or not valid UTF-8 (where `string()` repairs).
        mutating func validString() -> String? {
            utf8().flatMap { String(validating: $0, as: UTF8.self) }
        }

        /// A JSON string's UTF-8 bytes, its escapes undone; nil if malformed.
        mutating func utf8() -> [UInt8]? {
            guard take(UInt8(ascii: "\"")) else { return nil }
            let start = index
            // The usual case, no escape: one copy of the bytes, found eight at a time (a push's payload is
            // kilobytes of base64, where this scan was the hub's hottest loop of its own).
            skipPlainWords()
            while index < bytes.count, bytes[index] != UInt8(ascii: "\""), bytes[index] != UInt8(ascii: "\\"), bytes[index] >= 0x20 { index += 1 }
            guard index < bytes.count else { return nil }
            var out = Array(bytes[start..<index])
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    return out
                case UInt8(ascii: "\\"):
                    guard index < bytes.count else { return nil }
                    let escape = bytes[index]
                    index += 1
                    switch escape {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        guard var scalar = hex4() else { return nil }
                        if (0xD800..<0xDC00).contains(scalar) {
                            // A high surrogate must be followed by an escaped low one.
                            guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else { return nil }
                            index += 2
                            guard let low = hex4(), (0xDC00..<0xE000).contains(low) else { return nil }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        }
                        guard let unicode = Unicode.Scalar(scalar) else { return nil }
                        out.append(contentsOf: Array(String(Character(unicode)).utf8))
                    default:
                        return nil
                    }
                case 0..<0x20:
                    return nil
                default:
                    out.append(byte)
                }
            }
            return nil
        }

        /// Moves past whole 8-byte words holding no quote, backslash or control byte (SWAR: a byte's high bit is
        /// set in `(v - 0x01…) & ~v & 0x80…` when it is zero, in `(v - 0x20…) & ~v & 0x80…` when it is below 0x20);
        /// the word that holds one is left to the byte loop.
        private mutating func skipPlainWords() {
            guard let base = bytes.baseAddress else { return }
            let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
            let quotes = ones &* UInt64(UInt8(ascii: "\"")), backslashes = ones &* UInt64(UInt8(ascii: "\\")), spaces = ones &* 0x20
            while index + 8 <= bytes.count {
                let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
                let quote = word ^ quotes, backslash = word ^ backslashes
                let found = ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | ((word &- spaces) & ~word)
                guard found & highs == 0 else { return }
                index += 8
            }
        }

        private mutating func hex4() -> UInt32? {
            guard index + 4 <= bytes.count else { return nil }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[index]
                index += 1
                let digit: UInt32
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
                default: return nil
                }
                value = value << 4 | digit
            }
            return value
        }
    }
}
