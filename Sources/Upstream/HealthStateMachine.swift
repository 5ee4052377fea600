/// Whether the cloud apiserver is reachable, decided from probes and from real requests.
///
/// Pure: every event returns the transition it caused (if any), so the rules are unit-tested
/// without sockets and the caller decides what a transition means (log, metric, switch serving
/// to the local cache, end offline watches).
public struct HealthStateMachine: Sendable {
    public enum State: Sendable, Equatable {
        /// Never reached since start.
        case unknown
        case online
        /// Failures seen, not yet enough to declare offline.
        case suspect(failures: Int)
        case offline
    }

    public enum Transition: Sendable, Equatable {
        case becameOnline
        case becameOffline(reason: String)
        /// A success after failures that had not yet made it offline. Not an outage, but
        /// requests may have been answered from the cache meanwhile (their deadlines passed):
        /// whatever is held open locally should go back to the apiserver.
        case recovered
    }

    public private(set) var state: State = .unknown
    public private(set) var everReached = false
    public private(set) var lastError: String?
    /// Consecutive failures that turn an online upstream offline.
    public let failureThreshold: Int

    public init(failureThreshold: Int = 2) {
        self.failureThreshold = max(1, failureThreshold)
    }

    /// A probe or a request got a response from the apiserver (any HTTP status: it answered).
    public mutating func succeeded() -> Transition? {
        everReached = true
        lastError = nil
        switch state {
        case .online:
            return nil
        case .suspect:
            state = .online
            return .recovered
        case .unknown, .offline:
            state = .online
            return .becameOnline
        }
    }

    /// A probe or a request could not reach the apiserver (connect error, TLS error, timeout).
    public mutating func failed(reason: String) -> Transition? {
        lastError = reason
        switch state {
        case .offline:
            return nil
        case .unknown:
            // Never reached: we cannot call it online; one failure is enough to be offline.
            state = .offline
            return .becameOffline(reason: reason)
        case .online:
            if failureThreshold <= 1 {
                state = .offline
                return .becameOffline(reason: reason)
            }
            state = .suspect(failures: 1)
            return nil
        case .suspect(let n):
            if n + 1 >= failureThreshold {
                state = .offline
                return .becameOffline(reason: reason)
            }
            state = .suspect(failures: n + 1)
            return nil
        }
    }

    public var isOnline: Bool {
        switch state {
        case .online, .suspect: return true
        case .unknown, .offline: return false
        }
    }
}
