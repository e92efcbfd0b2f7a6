import ArgumentParser

@main
struct Liaison: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "liaison",
        abstract: "Talk to a Liaison hub: push and read classified items, check and explain the policy.",
        discussion: """
            Connection: --url/--cert/--key/--ca, or LIAISON_URL, LIAISON_CERT, LIAISON_KEY, LIAISON_CA. \
            With --as PRINCIPAL the development certificates certs/dev/PRINCIPAL.{pem,key} and certs/dev/ca.pem are used \
            (LIAISON_DEV_CERTS names another folder). The default URL is https://127.0.0.1:8443.
            """,
        subcommands: [Whoami.self, Push.self, List.self, Show.self, Get.self, PolicyCommand.self, AuditCommand.self, KeysCommand.self,
                      RequestCommand.self, RequestsCommand.self, ApproveCommand.self, DenyCommand.self, GrantsCommand.self, RevokeCommand.self, WatchCommand.self, LeadsCommand.self,
                      DossierCommand.self, RectificationCommand.self]
    )
}
