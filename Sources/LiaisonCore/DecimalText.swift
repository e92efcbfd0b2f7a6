/// Whole numbers as people and files write them: ASCII digits only, no sign, no spaces, no digits of
/// other scripts. Every number a caller, a policy file or a flag gives goes through here, so that
/// out-of-range text is nil (a 400 or a policy problem), never an arithmetic trap.
public enum DecimalText {
    /// The value of `text` if it is 1 to 18 ASCII digits and lies in `range`; nil otherwise.
    public static func parse<S: StringProtocol>(_ text: S, in range: ClosedRange<Int64>) -> Int64? {
        parse(utf8: text.utf8, in: range)
    }

    /// The same for `Int` ranges.
    public static func parse<S: StringProtocol>(_ text: S, in range: ClosedRange<Int>) -> Int? {
        parse(utf8: text.utf8, in: Int64(range.lowerBound)...Int64(range.upperBound)).map { Int($0) }
    }

    /// Eighteen digits always fit in Int64, so the accumulation cannot overflow.
    public static func parse(utf8: some Collection<UInt8>, in range: ClosedRange<Int64>) -> Int64? {
        guard !utf8.isEmpty, utf8.count <= 18 else { return nil }
        var value: Int64 = 0
        for byte in utf8 {
            guard byte >= 48 && byte <= 57 else { return nil }
            value = value * 10 + Int64(byte - 48)
        }
        return range.contains(value) ? value : nil
    }
}
