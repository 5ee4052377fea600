#if canImport(Glibc)
import Glibc
#endif

/// Gives back the executable's code pages that start-up touched but serving does not use.
///
/// Why: most of Outpost's resident memory right after start is not data but clean, file-backed
/// code pages. The kernel maps them in generously (fault-around maps up to 16 neighbouring
/// pages per fault, and the file is in the page cache right after install or build), so a
/// 20 MB binary shows ~15 MB of resident text of which the proxy uses a fraction. Asking the
/// kernel to reclaim those mappings (`MADV_PAGEOUT`, Linux 5.4+) costs nothing but a few
/// re-faults of the code that really runs; the resident set then reflects what Outpost needs,
/// and the memory goes back to the node. `MADV_RANDOM` then keeps later faults from reading ahead.
/// Anonymous memory (heap, stacks) is never touched.
/// Read-only, private file mappings only: nothing dirty or shared-writable can be affected.
enum CodePageTrim {
    /// Returns the number of bytes of mappings advised (0 where unsupported).
    @discardableResult
    static func run() -> Int {
        #if os(Linux)
        guard let maps = read("/proc/self/maps") else { return 0 }
        var advised = 0
        for line in maps.split(separator: "\n") {
            // "start-end perms offset dev inode path"
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, let path = fields.last, path.hasPrefix("/") else { continue }
            let perms = fields[1]
            // r-xp (code) and r--p (read-only data) file mappings.
            guard perms == "r-xp" || perms == "r--p" else { continue }
            let range = fields[0].split(separator: "-")
            guard range.count == 2, let start = UInt(range[0], radix: 16), let end = UInt(range[1], radix: 16), end > start,
                  let addr = UnsafeMutableRawPointer(bitPattern: start) else { continue }
            if madvise(addr, Int(end - start), 21 /* MADV_PAGEOUT */) == 0 { advised += Int(end - start) }
            // No read-ahead around later faults either: code that runs is faulted in page by page.
            _ = madvise(addr, Int(end - start), 1 /* MADV_RANDOM */)
        }
        return advised
        #else
        return 0
        #endif
    }

    /// Returns free heap pages to the kernel (glibc keeps freed memory of a 30 MB list streamed
    /// through in its arenas otherwise).
    static func releaseFreeHeap() {
        #if os(Linux)
        // malloc.h is not part of the Glibc module map; look the function up once.
        if let trim = mallocTrim { _ = trim(0) }
        #endif
    }

    #if os(Linux)
    private typealias MallocTrim = @convention(c) (Int) -> Int32
    nonisolated(unsafe) private static let mallocTrim: MallocTrim? = {
        guard let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return nil }
        return unsafeBitCast(sym, to: MallocTrim.self)
    }()
    #endif

    private static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            out.append(contentsOf: buf[0..<n])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
