import Foundation
import LiaisonAPI
import LiaisonCore
import Testing

/// Every parser of numbers, durations and dates fed random and extreme text: none may trap, and
/// out-of-range text is refused (issue 13: a huge duration killed the daemon through an overflow).
@Suite("Parser bounds")
struct ParserBoundsTests {
    /// Texts that broke or could break a parser: huge digit runs, signs, other scripts' digits, blanks.
    static let extremes: [String] = [
        "", " ", "0", "-0", "+1", "-1", "1 ", " 1", "1_000", "0x10", "1e9", "1.5", "９", "٣", "߁", "１２",
        "106751991167301", "2562047788015216", "200000000000000", "9223372036854775807", "9223372036854775808",
        "-9223372036854775808", "18446744073709551616", String(repeating: "9", count: 19), String(repeating: "9", count: 400),
        String(repeating: "0", count: 30) + "1", "\u{0}", "1\u{0}", "\u{FEFF}1", "１d", "NaN", "inf",
    ]

    /// Seeded random strings over digits, signs, units and a few odd characters.
    static func randomTexts(count: Int, seed: UInt64) -> [String] {
        var generator = SplitMix(state: seed)
        let alphabet = Array("0123456789+-dhDH:TZ.,  ٣９e\u{0}")
        return (0..<count).map { _ in
            let length = Int(generator.next() % 24)
            return String((0..<length).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] })
        }
    }

    static func suffixed(_ units: [String]) -> [String] {
        extremes + extremes.flatMap { text in units.map { text + $0 } } + randomTexts(count: 5000, seed: 13)
    }

    @Test func decimalTextTakesOnlyAsciiDigitsInRange() {
        for text in Self.extremes + Self.randomTexts(count: 5000, seed: 1) {
            let value = DecimalText.parse(text, in: Int64(0)...Int64.max)
            if let value {
                #expect(text.utf8.allSatisfy { (48...57).contains($0) } && Int64(text) == value, "\(text)")
            }
        }
        #expect(DecimalText.parse("42", in: 1...100) == 42)
        #expect(DecimalText.parse("101", in: 1...100) == nil)
        #expect(DecimalText.parse("+42", in: 1...100) == nil)
        #expect(DecimalText.parse("４２", in: 1...100) == nil)
        #expect(DecimalText.parse(String(repeating: "9", count: 400), in: Int64(0)...Int64.max) == nil)
    }

    @Test func periodRefusesEveryOutOfRangeDurationWithoutTrapping() {
        for text in Self.suffixed(["d", "h", "D", "m", ""]) {
            if let period = Period(text) {
                #expect((1...Period.longest.seconds).contains(period.seconds), "\(text)")
            }
        }
        #expect(Period("106751991167301d") == nil)
        #expect(Period("2562047788015216h") == nil)
        #expect(Period("200000000000000d") == nil)
        #expect(Period("3650d")?.seconds == Int64(3650 * 86_400))
        #expect(Period("3651d") == nil)
        #expect(Period("87600h")?.seconds == Int64(3650 * 86_400))
        #expect(Period("87601h") == nil)
        #expect(Period("+7d") == nil && Period("-7d") == nil && Period("٧d") == nil && Period("0d") == nil)
        #expect(Period("12h")?.seconds == 43_200)
    }

    @Test func policyDatesTakeOnlyRealDaysWithAsciiDigits() {
        for text in Self.extremes + Self.randomTexts(count: 5000, seed: 2) + ["0000-01-01", "+999-01-01", "2026-02-30", "2026-١١-01", "2026--1-01", "99999-01-01"] {
            _ = DateWindow.day(text)
        }
        #expect(DateWindow.day("2026-12-01")?.timeIntervalSince1970 == 1_796_083_200)
        #expect(DateWindow.day("0000-01-01") == nil)
        #expect(DateWindow.day("+999-01-01") == nil)
        #expect(DateWindow.day("2026-02-30") == nil)
        #expect(DateWindow.day("2026-１1-01") == nil)
    }

    @Test func wireTimestampsOutsideYearsOneToNineThousandNineHundredNinetyNineAreRefused() throws {
        let transcoder = MillisecondDateTranscoder()
        for text in Self.extremes + Self.randomTexts(count: 5000, seed: 3) + [
            "292277026596-12-04T15:30:08Z", "-292277026596-12-04T15:30:08Z", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z",
            "10000-01-01T00:00:00Z", "2026-13-01T00:00:00Z", "2026-11-30T00:00:00+99:99", String(repeating: "9", count: 300) + "-01-01T00:00:00Z",
        ] {
            if let date = try? transcoder.decode(text) { #expect(MillisecondDateTranscoder.range.contains(date), "\(text)") }
        }
        #expect(throws: (any Error).self) { try transcoder.decode("292277026596-12-04T15:30:08Z") }
        #expect(throws: (any Error).self) { try transcoder.decode("0000-01-01T00:00:00Z") }
        #expect(try transcoder.decode("9999-12-31T23:59:59.999Z").timeIntervalSince1970 == 253_402_300_799.999)
        #expect(try transcoder.decode("2026-12-01T08:00:00+08:00").timeIntervalSince1970 == 1_796_083_200)
    }

    @Test func policyFilesWithHugeNumbersAreProblemsNamingFileAndLine() throws {
        for value in ["200000000000000d", "106751991167301d", "2562047788015216h", "-5d", "９d"] {
            let folder = try PolicyReloadTests.policyCopy()
            let path = folder + "/sharing.yaml"
            let text = try String(contentsOfFile: path, encoding: .utf8)
            try text.replacingOccurrences(of: "max_grant: 90d", with: "max_grant: \(value)").write(toFile: path, atomically: true, encoding: .utf8)
            let line = text.components(separatedBy: "\n").firstIndex { $0.contains("max_grant: 90d") }! + 1
            #expect {
                _ = try PolicyLoader.load(directory: folder)
            } throws: { error in
                "\(error)".contains("sharing.yaml:\(line):") && "\(error)".contains("is not a length of time")
            }
        }
        for value in ["99999999999999999999", "-1", "２"] {
            let folder = try PolicyReloadTests.policyCopy()
            let path = folder + "/sharing.yaml"
            let text = try String(contentsOfFile: path, encoding: .utf8)
            try text.replacingOccurrences(of: "approvals_required: 2", with: "approvals_required: \(value)").write(toFile: path, atomically: true, encoding: .utf8)
            #expect(throws: PolicyError.self) { _ = try PolicyLoader.load(directory: folder) }
        }
    }
}
