#if canImport(Glibc)
import Glibc
#endif

/// Process RSS and CPU from /proc, exported on /metrics (the numbers users compare us by).
enum ProcessStats {
    static func current() -> [(name: String, type: String, help: String, value: Double)] {
        var out: [(String, String, String, Double)] = []
        #if os(Linux)
        if let status = read("/proc/self/status") {
            for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") || line.hasPrefix("VmHWM:") {
                let kb = line.split(separator: " ").dropFirst().first.flatMap { Double($0) } ?? 0
                if line.hasPrefix("VmRSS:") {
                    out.append(("process_resident_memory_bytes", "gauge", "Resident memory.", kb * 1024))
                } else {
                    out.append(("outpost_peak_resident_memory_bytes", "gauge", "Peak resident memory.", kb * 1024))
                }
            }
        }
        if let stat = read("/proc/self/stat"), let close = stat.lastIndex(of: ")") {
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            // after the comm field: state is fields[0]; utime is field 14 overall -> index 11, stime 12
            if fields.count > 12, let u = Double(fields[11]), let s = Double(fields[12]) {
                let hz = Double(sysconf(Int32(_SC_CLK_TCK)))
                out.append(("process_cpu_seconds_total", "counter", "User and system CPU seconds.", (u + s) / hz))
            }
        }
        #endif
        return out
    }

    private static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 8192)
        let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, 8192) }
        guard n > 0 else { return nil }
        return String(decoding: buf[0..<n], as: UTF8.self)
    }
}
