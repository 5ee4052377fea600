#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's open-file limit, and how many client connections fit under it.
public enum FileDescriptorLimit {
    /// Raises the soft RLIMIT_NOFILE to the hard limit (systemd and shells often start services
    /// at 1024 with a hard limit far higher). Returns the soft limit in effect afterwards.
    @discardableResult
    public static func raiseToHard() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return Int(clamping: limit.rlim_cur)  // RLIM_INFINITY (all ones) clamps to Int.max
    }

    /// The most client connections `softLimit` descriptors carry with room to spare: each
    /// connection may hold an upstream connection too (2 descriptors), and `reserved` stay free
    /// for the admin listener's connections, refusals (429s), the cache's files, listeners,
    /// the health probe and the event loops, so /healthz and a 429 still get a descriptor at
    /// the limit.
    public static func connectionCapacity(softLimit: Int) -> Int {
        max(1, (softLimit - reserved) / 2)
    }

    static var reserved: Int { 128 + AdminServer.defaultMaxConnections + ConnectionRegistry.maxRefusing }
}
