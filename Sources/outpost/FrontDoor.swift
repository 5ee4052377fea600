import KubeConfig
import Logging
import NIOCore
import OutpostCLI
import OutpostProxy
import Upstream

/// The flags about local clients (listeners, timeouts, connection limit) → what the proxy
/// server takes.
struct FrontDoor {
    var extraListeners: [ListenerSpec] = []
    var timeouts: ConnectionTimeouts
    var maxConnections: Int

    /// Also raises the open-file limit (soft to hard) and keeps the connection limit under it.
    init(_ options: ServeOptions, upstream: UpstreamConfiguration, logger: Logger) throws {
        timeouts = ConnectionTimeouts(requestHead: .seconds(Int64(options.requestHeaderTimeout)),
                                      idle: .seconds(Int64(options.idleTimeout)))
        let files = FileDescriptorLimit.raiseToHard()
        let capacity = FileDescriptorLimit.connectionCapacity(softLimit: files)
        maxConnections = min(options.maxConnections, capacity)
        if maxConnections < options.maxConnections {
            logger.warning("--max-connections lowered to fit the open-file limit",
                           metadata: ["asked": "\(options.maxConnections)", "limit": "\(maxConnections)", "nofile": "\(files)"])
        }
        logger.info("front door", metadata: [
            "maxConnections": "\(maxConnections)", "nofile": "\(files)",
            "requestHeaderTimeout": "\(options.requestHeaderTimeout)s", "idleTimeout": "\(options.idleTimeout)s",
        ])
        if let secure = options.secureListen, let cert = options.tlsCertFile, let key = options.tlsPrivateKeyFile {
            do {
                let ca: [UInt8]
                if let file = options.clientCAFile {
                    ca = try FileIO.readFile(file)
                } else if let pem = upstream.tls?.caPEM {
                    ca = pem
                } else {
                    throw StartupError("the kubeconfig names no CA: give --client-ca-file")
                }
                let context = try ListenerTLS.serverContext(certificateFile: cert, privateKeyFile: key, clientCAPEM: ca)
                extraListeners.append(ListenerSpec(.tcp(host: secure.host, port: secure.port), tls: context, flag: "--secure-listen"))
            } catch let e as StartupError {
                throw StartupError("--secure-listen: \(e.message)")
            } catch {
                throw StartupError("--secure-listen: \(error)")
            }
        }
        if let path = options.unixSocket {
            extraListeners.append(ListenerSpec(.unix(path: path, mode: options.unixSocketMode), flag: "--unix-socket"))
        }
    }
}
