import ArgumentParser

@main
struct Liaisond: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "liaisond",
        abstract: "The Liaison hub: an mTLS server that stores, classifies and shares items under the commission's policy.",
        subcommands: [Serve.self, Keys.self, Backup.self, Restore.self],
        defaultSubcommand: Serve.self
    )
}
