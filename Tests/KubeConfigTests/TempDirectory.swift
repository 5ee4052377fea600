#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A mkdtemp directory for fixture files, removed on deinit.
final class TempDirectory {
    let path: String
    private var files: [String] = []
    private var directories: [String] = []

    init() {
        var template = Array("/tmp/outpost-kubeconfig-test-XXXXXX".utf8CString)
        let result = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(result != nil, "mkdtemp failed")
        path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    @discardableResult
    func makeDirectory(_ relative: String) -> String {
        let full = path + "/" + relative
        precondition(mkdir(full, 0o700) == 0, "mkdir \(full) failed")
        directories.append(full)
        return full
    }

    /// Writes `contents` to `relative` (parent directories must exist) and returns the full path.
    @discardableResult
    func createFile(_ relative: String, _ contents: String) -> String {
        createFile(relative, bytes: Array(contents.utf8))
    }

    @discardableResult
    func createFile(_ relative: String, bytes: [UInt8]) -> String {
        let full = path + "/" + relative
        let fd = open(full, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        precondition(fd >= 0, "open \(full) failed")
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        precondition(written == bytes.count)
        close(fd)
        if !files.contains(full) { files.append(full) }
        return full
    }

    deinit {
        for file in files { unlink(file) }
        for directory in directories.reversed() { rmdir(directory) }
        rmdir(path)
    }
}
