@testable import CacheStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs `body` with a fresh mkdtemp directory, removed afterwards.
func withTempDir<T>(_ body: (String) throws -> T) throws -> T {
    var template = Array("/tmp/cachestore-test-XXXXXX".utf8CString)
    let dir = template.withUnsafeMutableBufferPointer { buf -> String? in
        guard let p = mkdtemp(buf.baseAddress!) else { return nil }
        return String(cString: p)
    }
    guard let dir else { throw CacheStoreError(code: 0, message: "mkdtemp failed", context: "test") }
    defer { removeTree(dir) }
    return try body(dir)
}

func removeTree(_ path: String) {
    var st = stat()
    guard lstat(path, &st) == 0 else { return }
    if (st.st_mode & S_IFMT) == S_IFDIR {
        if let d = opendir(path) {
            var names: [String] = []
            while let e = readdir(d) {
                let name = withUnsafePointer(to: e.pointee.d_name) {
                    $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
                }
                if name != "." && name != ".." { names.append(name) }
            }
            closedir(d)
            for n in names { removeTree(path + "/" + n) }
        }
        rmdir(path)
    } else {
        unlink(path)
    }
}

func fileExists(_ path: String) -> Bool { access(path, F_OK) == 0 }

func fileSize(_ path: String) -> Int {
    var st = stat()
    return stat(path, &st) == 0 ? Int(st.st_size) : 0
}

func readFile(_ path: String) -> [UInt8]? {
    guard let f = fopen(path, "rb") else { return nil }
    defer { fclose(f) }
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&buf, 1, buf.count, f)
        if n <= 0 { break }
        out += buf[0..<n]
    }
    return out
}

func writeFile(_ path: String, _ bytes: [UInt8]) {
    guard let f = fopen(path, "wb") else { fatalError("cannot write \(path)") }
    _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
    fclose(f)
}

/// Copies cache.db and cache.db-wal (what a kill -9 leaves on disk) from one directory to another.
func copyCrashImage(from src: String, to dst: String) {
    for suffix in ["", "-wal"] {
        if let bytes = readFile(src + "/cache.db" + suffix) { writeFile(dst + "/cache.db" + suffix, bytes) }
    }
}

func obj(
    _ namespace: String, _ name: String, rv: String, gvr: String = "v1/pods",
    labels: [(String, String)] = [], body: String? = nil
) -> StoredObject {
    StoredObject(
        gvr: gvr, namespace: namespace, name: name, resourceVersion: rv, labels: labels,
        fields: [("metadata.name", name), ("metadata.namespace", namespace)],
        format: .json, body: Array((body ?? "{\"name\":\"\(name)\",\"rv\":\"\(rv)\"}").utf8))
}

func names(_ objects: [StoredObject]) -> [String] { objects.map { "\($0.namespace)/\($0.name)" } }

func bodyString(_ o: StoredObject?) -> String? { o.map { String(decoding: $0.body, as: UTF8.self) } }

func pairsEqual(_ a: [(String, String)], _ b: [(String, String)]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
}

struct InjectedFailure: Error {}
