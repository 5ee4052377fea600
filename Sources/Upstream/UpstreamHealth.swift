import NIOCore
import Synchronization

/// Thread-safe holder of the upstream's health, shared by the proxy, the probe and the admin
/// server. Observers are told about transitions (outside the lock).
public final class UpstreamHealth: Sendable {
    public typealias Observer = @Sendable (HealthStateMachine.Transition) -> Void

    private let machine: Mutex<HealthStateMachine>
    private let observers = Mutex<[Observer]>([])
    private let lastSuccessNanos = Atomic<UInt64>(0)

    public init(failureThreshold: Int = 2) {
        machine = Mutex(HealthStateMachine(failureThreshold: failureThreshold))
    }

    public func onTransition(_ observer: @escaping Observer) {
        observers.withLock { $0.append(observer) }
    }

    /// When the apiserver last answered anything (a probe or a request).
    public var lastSuccess: NIODeadline { .uptimeNanoseconds(lastSuccessNanos.load(ordering: .relaxed)) }

    public func recordSuccess() {
        lastSuccessNanos.store(NIODeadline.now().uptimeNanoseconds, ordering: .relaxed)
        let t = machine.withLock { $0.succeeded() }
        if let t { notify(t) }
    }

    public func recordFailure(_ reason: String) {
        let t = machine.withLock { $0.failed(reason: reason) }
        if let t { notify(t) }
    }

    public var snapshot: HealthStateMachine {
        machine.withLock { $0 }
    }

    private func notify(_ t: HealthStateMachine.Transition) {
        for o in observers.withLock({ $0 }) { o(t) }
    }
}
