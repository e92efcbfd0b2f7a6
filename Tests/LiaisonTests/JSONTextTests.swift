import Foundation
import LiaisonCore
@testable import LiaisonHub
import Testing

/// The hand-written JSON of the stores' text (details, lists) against Foundation's coders, both ways.
@Suite("JSON text")
struct JSONTextTests {
    static let awkward = ["", "plain", "引号\"与\\反斜杠", "new\nline\ttab\r", "\u{0}\u{1}\u{1f}\u{7f}", "a/b", "😀 emoji", "=&,:{}[]", "\u{FFFD}"]

    @Test(arguments: 1...20)
    func whatJSONTextWritesFoundationReadsAndTheOtherWayRound(seed: UInt64) throws {
        var rng = SplitMix(state: seed * 31)
        let pick = { (rng: inout SplitMix) in (0..<Int.random(in: 0...3, using: &rng)).map { _ in Self.awkward.randomElement(using: &rng)! }.joined() }
        var object: [String: String] = [:]
        for _ in 0..<Int.random(in: 0...5, using: &rng) { object[pick(&rng)] = pick(&rng) }
        let list = (0..<Int.random(in: 0...5, using: &rng)).map { _ in pick(&rng) }
        // Ours read by Foundation.
        #expect(try JSONDecoder().decode([String: String].self, from: Data(JSONText.object(object).utf8)) == object)
        #expect(try JSONDecoder().decode([String].self, from: Data(JSONText.array(list).utf8)) == list)
        // Foundation's (escaped slashes and all) and ours read by ours.
        #expect(JSONText.readObject(String(decoding: try JSONEncoder().encode(object), as: UTF8.self)) == object)
        #expect(JSONText.readObject(JSONText.object(object)) == object)
        #expect(JSONText.readList(String(decoding: try JSONEncoder().encode(list), as: UTF8.self)) == list)
        #expect(JSONText.readList(JSONText.array(list)) == list)
    }

    /// Stored trail entries are hashed as written, so the writing is pinned byte for byte, not only by reading back:
    /// quote and backslash after a backslash, a newline as \n, other control bytes as \u00XX, all else as it is.
    /// Sealed metadata as JSONEncoder wrote it before, and as it is written now.
    struct EncodedMetadata: Codable, Equatable {
        let title: String
        let persons: [String]
        let tags: [String]
    }

    @Test(arguments: 1...10)
    func sealedMetadataReadsAsJSONEncoderWroteItAndWritesWhatJSONDecoderReads(seed: UInt64) throws {
        var rng = SplitMix(state: seed * 17)
        let pick = { (rng: inout SplitMix) in (0..<Int(rng.next() % 4)).map { _ in Self.awkward[Int(rng.next() % UInt64(Self.awkward.count))] } }
        let title = Self.awkward[Int(rng.next() % UInt64(Self.awkward.count))]
        let (persons, tags) = (pick(&rng), pick(&rng))
        let before = try JSONEncoder().encode(EncodedMetadata(title: title, persons: persons, tags: tags))
        #expect(try ContentMetadata(json: Array(before)) == ContentMetadata(title: title, persons: persons, tags: tags))
        let now = ContentMetadata(title: title, persons: persons, tags: tags).json
        #expect(try JSONDecoder().decode(EncodedMetadata.self, from: Data(now)) == EncodedMetadata(title: title, persons: persons, tags: tags))
        #expect(try ContentMetadata(json: now) == ContentMetadata(title: title, persons: persons, tags: tags))
    }

    @Test func sealedMetadataThatIsNotATitlePersonsAndTagsIsRefused() {
        for text in [#"{"title":"t","persons":[]}"#, #"{"title":1,"persons":[],"tags":[]}"#, #"{"title":"t","persons":"p","tags":[]}"#,
                     #"{"title":"t","persons":[],"tags":[],"extra":"x"}"#, #"["t"]"#, ""] {
            #expect(throws: ContentMetadata.Malformed.self, "\(text)") { try ContentMetadata(json: Array(text.utf8)) }
        }
    }

    @Test func stringsAreWrittenByteForByteAsTheTrailHasAlwaysHashedThem() {
        let every = String(decoding: (0..<0x80).map { UInt8($0) }, as: UTF8.self) + "引号😀\u{FFFD}é"
        for text in Self.awkward + [every, every + every, "\"", "\\\\", "\n\n"] {
            var written: [UInt8] = []
            JSONText.appendString(text, to: &written)
            var expected = Array("\"".utf8)
            for byte in text.utf8 {
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): expected += [UInt8(ascii: "\\"), byte]
                case 0x0A: expected += Array("\\n".utf8)
                case 0..<0x20: expected += Array(String(format: "\\u%04x", byte).utf8)
                default: expected.append(byte)
                }
            }
            expected += Array("\"".utf8)
            #expect(written == expected, "\(text.debugDescription)")
        }
    }

    /// The reader finds a string's end, escapes and raw control bytes eight bytes at a time: each at every offset
    /// around a word's edges, in strings long and short, reads as Foundation's decoder reads it (or is refused).
    @Test func aQuoteBackslashOrControlByteIsFoundAtEveryOffsetOfALongString() throws {
        for before in 0..<19 {
            for after in [0, 1, 7, 8, 9, 30] {
                for special in ["\"", "\\", "\n", "\u{1f}", "é", "\u{7f}", "😀", " "] {
                    let value = String(repeating: "x", count: before) + special + String(repeating: "y", count: after)
                    let text = JSONText.array([value, String(repeating: "z", count: after)])
                    #expect(JSONText.readList(text) == [value, String(repeating: "z", count: after)], "\(before) \(special.debugDescription) \(after)")
                    #expect(JSONText.readList(text) == (try JSONDecoder().decode([String].self, from: Data(text.utf8))))
                }
                // A control byte written raw, not escaped, is malformed wherever it falls.
                for raw in ["\n", "\u{0}", "\u{1f}"] {
                    let text = "[\"" + String(repeating: "x", count: before) + raw + String(repeating: "y", count: after) + "\"]"
                    #expect(JSONText.readList(text) == nil, "\(before) \(raw.debugDescription) \(after)")
                }
            }
        }
    }

    @Test func escapesAndSurrogatesAreUndoneAndMalformedTextIsRefused() {
        #expect(JSONText.readObject(#" { "a" : "\u00e9\ud83d\ude00\/\b\f" , "b":"" } "#) == ["a": "é😀/\u{8}\u{c}", "b": ""])
        #expect(JSONText.readList(#"["x","\u5f20\u4e09"]"#) == ["x", "张三"])
        for bad in [#"{"a":1}"#, #"{"a":"b""#, #"{"a""b"}"#, #"{"a":"\x"}"#, #"{"a":"\ud83d"}"#, "{\"a\":\"\n\"}", #"["a",]"#, #"{} x"#, ""] {
            #expect(JSONText.readObject(bad) == nil && JSONText.readList(bad) == nil, "\(bad)")
        }
    }
}
