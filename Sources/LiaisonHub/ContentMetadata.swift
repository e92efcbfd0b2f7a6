import LiaisonCore

/// The fields of an item that would reveal its content, as sealed for encrypted levels: a JSON object of the title
/// and the lists of persons and tags, written and read by `JSONText` (Foundation's coders took 2% of a confidential
/// push's CPU). Metadata sealed before, by JSONEncoder, reads the same.
struct ContentMetadata: Equatable {
    let title: String
    let persons: [String]
    let tags: [String]

    struct Malformed: Error {}

    init(title: String, persons: [String], tags: [String]) {
        self.title = title
        self.persons = persons
        self.tags = tags
    }

    init(json: [UInt8]) throws {
        guard let members = json.withUnsafeBufferPointer(JSONText.readPlainObject), members.count == 3,
              case .string(let title)? = members["title"], case .strings(let persons)? = members["persons"], case .strings(let tags)? = members["tags"]
        else { throw Malformed() }
        self.init(title: title, persons: persons, tags: tags)
    }

    var json: [UInt8] {
        var out = Array(#"{"title":"#.utf8)
        JSONText.appendString(title, to: &out)
        out.append(contentsOf: #","persons":"#.utf8)
        JSONText.appendArray(persons, to: &out)
        out.append(contentsOf: #","tags":"#.utf8)
        JSONText.appendArray(tags, to: &out)
        out.append(UInt8(ascii: "}"))
        return out
    }
}
