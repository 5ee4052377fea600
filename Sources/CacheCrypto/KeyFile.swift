#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The key file on disk: read it, or create it 0600 on first start; replace it atomically
/// (rotation). A file readable by others is tightened to 0600 (and the caller told so).
public enum KeyFile {
    public struct Loaded: Sendable {
        public var keys: CacheKeys
        public var created: Bool
        /// The file had group/other permission bits; they were removed.
        public var tightened: Bool
    }

    /// Reads an existing key file without creating or changing it (the operator commands):
    /// nil when it does not exist; an unreadable file (permission) is an error naming why.
    public static func load(_ path: String) throws(CacheKeyError) -> CacheKeys? {
        guard let text = try read(path) else { return nil }
        do {
            return try CacheKeys.parse(text)
        } catch {
            throw .file(path: path, reason: "\(error)")
        }
    }

    public static func loadOrCreate(_ path: String) throws(CacheKeyError) -> Loaded {
        if let text = try read(path) {
            let tightened = try tighten(path)
            do {
                return Loaded(keys: try CacheKeys.parse(text), created: false, tightened: tightened)
            } catch {
                throw .file(path: path, reason: "\(error)")
            }
        }
        let keys = CacheKeys.generate()
        try makeParents(of: path)
        try write(keys, to: path, exclusive: true)
        return Loaded(keys: keys, created: true, tightened: false)
    }

    /// Writes `keys` to `path` through a temporary file and a rename (a crash leaves the old or
    /// the new file, never half of one). With `exclusive`, an existing file is an error (the
    /// temporary file is linked into place, which fails if another one got there first).
    public static func write(_ keys: CacheKeys, to path: String, exclusive: Bool = false) throws(CacheKeyError) {
        let bytes = Array(keys.render().utf8)
        let target = path + ".tmp-\(getpid())"
        unlink(target)   // left by a crash of an earlier process with this pid
        let fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .file(path: target, reason: errnoText()) }
        var ok = fchmod(fd, 0o600) == 0
        var written = 0
        while ok && written < bytes.count {
            let n = bytes.withUnsafeBytes { sysWrite(fd, $0.baseAddress! + written, bytes.count - written) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { ok = false } else { written += n }
        }
        let reason = errnoText()
        ok = ok && fsync(fd) == 0
        close(fd)
        guard ok else {
            unlink(target)
            throw .file(path: target, reason: reason)
        }
        let placed = exclusive ? link(target, path) == 0 : rename(target, path) == 0
        let placeError = errnoText()
        if exclusive || !placed { unlink(target) }
        guard placed else { throw .file(path: path, reason: placeError) }
    }

    /// The file's text, or nil when it does not exist.
    static func read(_ path: String) throws(CacheKeyError) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw .file(path: path, reason: errnoText())
        }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { sysRead(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw .file(path: path, reason: errnoText()) }
            if n == 0 { break }
            out += chunk[0..<n]
            if out.count > 64 * 1024 { throw .file(path: path, reason: "larger than 64 KiB") }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func tighten(_ path: String) throws(CacheKeyError) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0 else { throw .file(path: path, reason: errnoText()) }
        guard info.st_mode & 0o077 != 0 else { return false }
        guard chmod(path, 0o600) == 0 else { throw .file(path: path, reason: "readable by others and chmod failed: \(errnoText())") }
        return true
    }

    /// Creates missing parent directories 0700 (the key's directory is nobody else's business).
    static func makeParents(of path: String) throws(CacheKeyError) {
        var current = path.hasPrefix("/") ? "" : "."
        let parts = path.split(separator: "/").dropLast()
        for part in parts {
            current += "/" + part
            if mkdir(current, 0o700) != 0 && errno != EEXIST { throw .file(path: current, reason: errnoText()) }
        }
    }

    static func errnoText() -> String {
        let code = errno
        guard let m = strerror(code) else { return "errno \(code)" }
        return String(cString: m)
    }
}

// The libc calls under other names: `KeyFile.read`/`write` shadow them inside the enum.
private func sysRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int { read(fd, buffer, count) }
private func sysWrite(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int { write(fd, buffer, count) }
