/// What a query says of one parameter, where that can be read without the generated layer's converter: it parses the
/// whole query again for each parameter it is asked for (a listing asks for six), which cost a listing more than
/// the rest of reading its request. Where the reading is not certain the answer is `converter`, and the converter
/// reads (or refuses) the query as it always did.
enum PlainQuery: Equatable {
    /// No key of the query is the parameter's name: the converter would find no value and refuse nothing.
    case absent
    /// The value of the first pair named so, as the converter reads it: one or more unreserved characters
    /// (letters, digits, `-`, `.`, `_`, `~`), which have no escape to decode.
    case plain(Substring)
    /// For the converter: a key or value with `%` or `+` (it decodes them first), an empty value, or a pair without
    /// `=` anywhere in the query (it refuses those).
    case converter

    init(_ query: Substring?, name: String) {
        self = .absent
        guard var rest = query?.utf8[...] else { return }
        while !rest.isEmpty {
            let end = rest.firstIndex(of: UInt8(ascii: "&")) ?? rest.endIndex
            let pair = rest[..<end]
            rest = end == rest.endIndex ? rest[end...] : rest[rest.index(after: end)...]
            guard let equals = pair.firstIndex(of: UInt8(ascii: "=")) else {
                self = .converter
                return
            }
            let key = pair[..<equals]
            if key.contains(UInt8(ascii: "%")) || key.contains(UInt8(ascii: "+")) {
                self = .converter
                return
            }
            guard self == .absent, key.elementsEqual(name.utf8) else { continue }
            // The first pair named so is the value; the rest of the query is still scanned for what the converter refuses.
            let value = pair[pair.index(after: equals)...]
            self = !value.isEmpty && value.allSatisfy(Self.isUnreserved) ? .plain(Substring(value)) : .converter
            if self == .converter { return }
        }
    }

    /// RFC 3986's unreserved characters: nothing in them is decoded (`FastLane` reads ids the same way).
    static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            true
        default:
            false
        }
    }
}
