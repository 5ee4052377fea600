import NIOCore
import NIOPosix
import NIOSSL

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One address local clients connect to. Every listener of a `ProxyServer` feeds the same
/// handlers: only how a client gets in differs (plain TCP, TLS with client certificates, a
/// Unix socket whose file permissions decide who may connect).
public struct ListenerSpec: Sendable {
    public enum Address: Sendable, CustomStringConvertible {
        case tcp(host: String, port: Int)
        /// `mode`: the socket file's permissions (connecting needs write permission).
        case unix(path: String, mode: UInt32)

        public var description: String {
            switch self {
            case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            case .unix(let path, _): "unix:\(path)"
            }
        }
    }

    public var address: Address
    /// TLS for this listener (with client-certificate verification if the context asks for it).
    public var tls: NIOSSLContext?
    /// The flag that named it, for error messages (`--listen`).
    public var flag: String

    public init(_ address: Address, tls: NIOSSLContext? = nil, flag: String) {
        self.address = address
        self.tls = tls
        self.flag = flag
    }
}

/// A listener that cannot be opened. Fatal: a proxy that serves nothing must not look alive.
public struct ListenError: Error, CustomStringConvertible {
    public var address: String
    public var flag: String
    public var reason: String

    public var description: String { "cannot listen on \(address) (\(flag)): \(reason)" }
}

/// A TLS server context that demands a client certificate signed by one of the certificates
/// in `clientCAPEM` (the handshake fails without one, or with one another CA signed).
public enum ListenerTLS {
    public static func serverContext(certificateFile: String, privateKeyFile: String, clientCAPEM: [UInt8]) throws -> NIOSSLContext {
        let chain = try NIOSSLCertificate.fromPEMFile(certificateFile).map { NIOSSLCertificateSource.certificate($0) }
        let key = try NIOSSLPrivateKey(file: privateKeyFile, format: .pem)
        var config = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        config.certificateVerification = .noHostnameVerification
        config.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(clientCAPEM))
        config.minimumTLSVersion = .tlsv12
        return try NIOSSLContext(configuration: config)
    }
}

extension ListenerSpec {
    /// Binds this listener with `bootstrap`. For a Unix socket: a stale socket file is replaced,
    /// a live one (another process answers on it) or any other kind of file is an error, and the
    /// file ends with exactly `mode` (the umask is narrowed while binding, so the socket is never
    /// reachable with wider permissions, then chmod). The umask is process-wide: a file another
    /// thread creates meanwhile gets at most narrower permissions, never wider.
    func bind(_ bootstrap: ServerBootstrap) async throws -> Channel {
        do {
            switch address {
            case .tcp(let host, let port):
                return try await bootstrap.bind(host: host, port: port).get()
            case .unix(let path, let mode):
                try UnixSocketFile.prepare(path)
                // Only ever narrow the umask: the socket is created with at most `mode` (and at
                // most what the umask allowed), then chmod sets exactly `mode`.
                let previous = UnixSocketFile.currentUmask()
                if let previous { umask(previous | mode_t(~mode & 0o777)) }
                let channel: Channel
                do {
                    channel = try await bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: false).get()
                } catch {
                    if let previous { umask(previous) }
                    throw error
                }
                if let previous { umask(previous) }
                guard chmod(path, mode_t(mode)) == 0 else {
                    let reason = errnoDescription(errno)
                    try? await channel.close()
                    throw ListenError(address: "\(address)", flag: flag, reason: "chmod: \(reason)")
                }
                return channel
            }
        } catch let e as ListenError {
            throw e
        } catch let e as IOError {
            throw ListenError(address: "\(address)", flag: flag, reason: errnoDescription(e.errnoCode))
        } catch {
            throw ListenError(address: "\(address)", flag: flag, reason: "\(error)")
        }
    }
}

/// The socket file of a Unix listener.
enum UnixSocketFile {
    struct Problem: Error, CustomStringConvertible {
        var description: String
    }

    /// Makes room for a new socket at `path`: nothing there is fine; a socket nobody answers on
    /// (left by a process that died) is removed; a socket another process serves, or a file that
    /// is not a socket, is an error (never delete what is not ours to delete).
    static func prepare(_ path: String) throws {
        var st = stat()
        guard lstat(path, &st) == 0 else {
            if errno == ENOENT { return }
            throw Problem(description: errnoDescription(errno))
        }
        guard (st.st_mode & S_IFMT) == S_IFSOCK else {
            throw Problem(description: "\(path) exists and is not a socket")
        }
        if isServed(path) {
            throw Problem(description: "another process is serving \(path)")
        }
        guard unlink(path) == 0 || errno == ENOENT else {
            throw Problem(description: "cannot remove the stale socket \(path): \(errnoDescription(errno))")
        }
    }

    /// The process's umask, read without changing it (umask(2) can only swap, and a transient
    /// value would apply to files other threads create meanwhile). nil where /proc says nothing.
    static func currentUmask() -> mode_t? {
        let fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            bytes += buffer[..<n]
        }
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") where line.hasPrefix("Umask:") {
            return mode_t(line.dropFirst(6).trimmingPrefix(while: { $0 == " " || $0 == "\t" }), radix: 8)
        }
        return nil
    }

    /// The identity of the socket file just bound, so exit removes it only if it is still ours.
    static func identity(_ path: String) -> (dev: UInt64, ino: UInt64)? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        return (UInt64(st.st_dev), UInt64(st.st_ino))
    }

    /// Removes the socket file if it is still the one we bound (another instance may own it now).
    static func remove(_ path: String, ifIdentity id: (dev: UInt64, ino: UInt64)?) {
        guard let id, let now = identity(path), now == id else { return }
        unlink(path)
    }

    private static func isServed(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { return false }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
            raw[bytes.count] = 0
        }
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        return r == 0
    }
}

func errnoDescription(_ code: Int32) -> String {
    guard let s = strerror(code) else { return "errno \(code)" }
    return String(cString: s)
}
