import ArgumentParser

/// Ids as the hub prints them (items, requests, grants, dossiers): letters, digits and '-'. Checked before
/// anything is sent, so that an empty or odd id is a usage error rather than a request to another
/// endpoint (`/v1/items/` with an empty id is the listing).
enum RecordID {
    static func validated(_ argument: String) throws -> String {
        guard !argument.isEmpty, argument.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else {
            throw ValidationError("'\(argument)' is not an id; ids are letters and digits, as `liaison list`, `liaison requests` or `liaison grants` print them")
        }
        return argument
    }
}
