import CacheCrypto
import OutpostCLI

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

@main
enum Outpost {
    static func main() async {
        let command: OutpostCommand
        do {
            command = try OutpostCommandLine.parse(Array(CommandLine.arguments.dropFirst()))
        } catch {
            fail("\(error.message)\nUSAGE: outpost [serve] [--option value ...]; see outpost --help", code: 64)
        }
        switch command {
        case .help(let text):
            print(text, terminator: "")
        case .version(let v):
            print(v)
        case .status(let options):
            OperatorCommands.status(options)
        case .cache(let command, let options):
            OperatorCommands.cache(command, options)
        case .verify(let options):
            await Verify.run(options)
        case .rotateKey(let options):
            rotateKey(options.keyFilePath)
        case .serve(let options):
            do {
                try await Serve(options: options).run()
            } catch let error as StartupError {
                fail("Error: \(error.message)", code: 1)
            } catch {
                fail("Error: \(error)", code: 1)
            }
        }
    }

    /// Prepends a new primary key; the cache is re-encrypted with it when Outpost next starts.
    static func rotateKey(_ path: String) {
        do {
            let loaded = try KeyFile.loadOrCreate(path)
            let rotated = try loaded.keys.rotated()
            try KeyFile.write(rotated, to: path)
            print("\(path): key \(rotated.primary.id) now encrypts; \(rotated.keys.count - 1) older key(s) kept for reading.")
            print("Restart Outpost to re-encrypt the cache with it; afterwards the older `key` lines may be removed.")
        } catch {
            fail("Error: \(error)", code: 1)
        }
    }

    static func fail(_ message: String, code: Int32) -> Never {
        var line = message.isEmpty ? [] : Array((message + "\n").utf8)
        _ = line.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
        exit(code)
    }
}

/// A problem that stops Outpost before it serves (unreadable kubeconfig, bad --config, ...).
struct StartupError: Error {
    var message: String
    init(_ message: String) { self.message = message }
}
