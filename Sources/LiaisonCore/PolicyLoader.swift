import Foundation
import Yams

/// Reads every `*.yaml` file of a policy folder into one `Policy`, validating all of it.
///
/// Each file is a mapping whose top-level keys are any of `agencies`, `people`, `units`, `kinds`
/// `levels`, `requests`, `dossiers` and `alerts`; a section may be split across files. See `policies/README.md` for the format.
public enum PolicyLoader {
    static let sections = ["agencies", "people", "units", "kinds", "levels", "requests", "dossiers", "alerts"]

    public static func load(directory: String) throws -> Policy {
        let url = URL(fileURLWithPath: directory)
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
                .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
        } catch {
            throw PolicyError(problems: [PolicyProblem(file: directory, line: 1, column: 1, message: "the policy folder cannot be read",
                                                       hint: "Pass the folder that holds the policy's .yaml files (the example is ./policies)")])
        }
        guard !names.isEmpty else {
            throw PolicyError(problems: [PolicyProblem(file: directory, line: 1, column: 1, message: "the policy folder has no .yaml files",
                                                       hint: "Copy the example from ./policies and adapt it")])
        }
        var files: [(String, String)] = []
        for name in names {
            let path = url.appendingPathComponent(name).path
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw PolicyError(problems: [PolicyProblem(file: path, line: 1, column: 1, message: "the file cannot be read as UTF-8 text", hint: "Save it as UTF-8")])
            }
            files.append((directory.hasSuffix("/") ? directory + name : directory + "/" + name, text))
        }
        return try load(files: files)
    }

    /// Loads from in-memory files `(path, text)`; the paths appear in problems.
    public static func load(files: [(String, String)]) throws -> Policy {
        var builder = PolicyBuilder()
        for (path, text) in files {
            var reader = PolicyFileReader(file: path)
            do {
                if let root = try Yams.compose(yaml: text) {
                    builder.read(root, with: &reader)
                }
            } catch let error as YamlError {
                reader.problems.append(problem(from: error, file: path))
                builder.unreadableFiles += 1
            } catch {
                reader.problem(at: nil, "the file is not valid YAML", hint: "Check indentation and quoting")
                builder.unreadableFiles += 1
            }
            builder.problems += reader.problems
        }
        return try builder.build()
    }

    static func problem(from error: YamlError, file: String) -> PolicyProblem {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return PolicyProblem(file: file, line: mark.line, column: mark.column, message: "YAML syntax error: \(problem)", hint: "Check indentation and quoting near this line")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return PolicyProblem(file: file, line: context.mark.line, column: context.mark.column,
                                 message: "duplicate key \(duplicates.joined(separator: ", ")) in one mapping", hint: "Each key may appear once; remove or rename the repeat")
        default:
            return PolicyProblem(file: file, line: 1, column: 1, message: "the file is not valid YAML (\(error))", hint: "Check indentation and quoting")
        }
    }
}
