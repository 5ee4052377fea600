import ArgumentParser

@main
struct Outpost: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outpost",
        abstract: "A Kubernetes edge proxy: forwards, filters and caches what node agents ask the apiserver, and keeps answering when the cloud link is down.",
        version: OutpostVersion.string,
        subcommands: [Serve.self],
        defaultSubcommand: Serve.self
    )
}

enum OutpostVersion {
    static let string = "0.1.0"
}
