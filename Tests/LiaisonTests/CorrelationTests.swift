import Foundation
import LiaisonCore
import LiaisonCrypto
import Testing

/// The blind index's building blocks: names normalised so that the ways of writing one name meet, and marks
/// that only the ring's key makes.
@Suite("Correlation marks")
struct CorrelationTests {
    @Test func theWaysOfWritingOneNameMeet() {
        #expect(Correlation.normalised("张　三") == "张三")  // an ideographic space
        #expect(Correlation.normalised(" 张 三\t\n") == "张三")
        #expect(Correlation.normalised("Ｚｈａｎｇ Wei") == "zhangwei")  // full-width letters
        #expect(Correlation.normalised("ｶﾀｶﾅ") == "カタカナ")  // half-width katakana
        #expect(Correlation.normalised("①") == "1")
        #expect(Correlation.normalised("张三") != Correlation.normalised("张四"))
        #expect(Correlation.markInput(.person, " \u{3000}\t") == nil, "a name of white space only marks nothing")
    }

    @Test func marksAreEqualForOneNameAndSortAndDifferOtherwise() throws {
        let ring = try KeyRing.generate()
        func mark(_ sort: Correlation.Sort, _ name: String, _ keys: KeyRing) throws -> String { keys.blindMark(try #require(Correlation.markInput(sort, name))) }
        let person = try mark(.person, "张三", ring)
        #expect(person.count == 64 && person.allSatisfy(\.isHexDigit))
        #expect(try mark(.person, "张　三", ring) == person)
        #expect(try mark(.tag, "张三", ring) != person, "a tag spelled as a person does not meet it")
        #expect(try mark(.person, "李四", ring) != person)
        // Another hub's ring marks differently; a rotated ring (same integrity key) and a reopened one alike.
        #expect(try mark(.person, "张三", try KeyRing.generate()) != person)
        #expect(try mark(.person, "张三", try ring.rotated()) == person)
        #expect(try mark(.person, "张三", try KeyRing.decode(try ring.encoded())) == person)
        // The mark is not the name's plain digest: without the key it cannot be recomputed from a guess.
        #expect(person != Digest.sha256Hex(Array("person\u{0}张三".utf8)))
    }
}
