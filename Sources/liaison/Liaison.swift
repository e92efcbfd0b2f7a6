import ArgumentParser
import Foundation

@main
struct Liaison: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "liaison",
        abstract: "Talk to a Liaison hub: push and read classified items, check and explain the policy.",
        discussion: """
            Connection: --url/--cert/--key/--ca, or LIAISON_URL, LIAISON_CERT, LIAISON_KEY, LIAISON_CA. \
            With --as PRINCIPAL the development certificates certs/dev/PRINCIPAL.{pem,key} and certs/dev/ca.pem are used \
            (LIAISON_DEV_CERTS names another folder). The default URL is https://127.0.0.1:8443.

            \(ExitStatus.help)
            """,
        subcommands: [Whoami.self, Push.self, List.self, Show.self, Get.self, PolicyCommand.self, AuditCommand.self, KeysCommand.self,
                      RequestCommand.self, RequestsCommand.self, ApproveCommand.self, DenyCommand.self, GrantsCommand.self, RevokeCommand.self, WatchCommand.self, LeadsCommand.self,
                      DossierCommand.self, RectificationCommand.self, RelatedCommand.self, PersonCommand.self, AlertsCommand.self]
    )

    /// As ArgumentParser's own, with the exit statuses of `ExitStatus`.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asynchronous = command as? any AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch {
            let message = fullMessage(for: error)
            let status = ExitStatus.of(error, command: self)?.rawValue ?? exitCode(for: error).rawValue
            if !message.isEmpty {
                // Help goes to standard output, everything else to standard error.
                let stream = status == 0 ? FileHandle.standardOutput : FileHandle.standardError
                stream.write(Data((message.hasSuffix("\n") ? message : message + "\n").utf8))
            }
            Foundation.exit(status)
        }
    }
}
