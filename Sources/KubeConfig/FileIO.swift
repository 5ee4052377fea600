#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Minimal file and environment helpers over libc (no Foundation).
public enum FileIO {
    /// Upper bound for any file this module reads (kubeconfigs, PEM files, tokens).
    static let maxFileSize = 16 * 1024 * 1024

    public static func readFile(_ path: String) throws(KubeConfigError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            throw .fileError(path: path, reason: errnoDescription(errno))
        }
        defer { _ = close(fd) }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { buffer in
                read(fd, buffer.baseAddress, buffer.count)
            }
            if n < 0 {
                let code = errno
                if code == EINTR { continue }
                throw .fileError(path: path, reason: errnoDescription(code))
            }
            if n == 0 { break }
            result.append(contentsOf: chunk[0..<n])
            if result.count > maxFileSize {
                throw .fileError(path: path, reason: "file is larger than \(maxFileSize) bytes")
            }
        }
        return result
    }

    /// Whether `path` names an existing regular file (following symlinks).
    static func isRegularFile(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0 else { return false }
        return (info.st_mode & 0o170000) == 0o100000
    }

    static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        return String(cString: value)
    }

    static func errnoDescription(_ code: Int32) -> String {
        guard let message = strerror(code) else { return "errno \(code)" }
        return String(cString: message)
    }

    /// The directory part of `path` ("." when there is none).
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    /// Resolves `path` against `directory` unless it is absolute (or there is no directory).
    static func resolve(_ path: String, relativeTo directory: String?) -> String {
        guard let directory, !path.hasPrefix("/"), !directory.isEmpty else { return path }
        return directory.hasSuffix("/") ? directory + path : directory + "/" + path
    }
}
