import Testing
import Upstream

@Suite("HealthStateMachine")
struct HealthStateMachineTests {
    @Test func neverReachedGoesOfflineOnTheFirstFailure() {
        var m = HealthStateMachine(failureThreshold: 2)
        #expect(m.state == .unknown)
        #expect(m.failed(reason: "refused") == .becameOffline(reason: "refused"))
        #expect(m.state == .offline)
        #expect(m.succeeded() == .becameOnline)
        #expect(m.everReached)
    }

    @Test func onlineNeedsThresholdFailuresToGoOffline() {
        var m = HealthStateMachine(failureThreshold: 2)
        _ = m.succeeded()
        #expect(m.failed(reason: "timeout") == nil)
        #expect(m.state == .suspect(failures: 1))
        #expect(m.isOnline, "suspect still forwards")
        #expect(m.failed(reason: "timeout") == .becameOffline(reason: "timeout"))
        #expect(!m.isOnline)
        #expect(m.failed(reason: "again") == nil, "no repeated transition")
        #expect(m.lastError == "again")
    }

    @Test func successWhileSuspectIsARecovery() {
        var m = HealthStateMachine(failureThreshold: 3)
        _ = m.succeeded()
        _ = m.failed(reason: "x")
        _ = m.failed(reason: "y")
        #expect(m.succeeded() == .recovered)
        #expect(m.state == .online)
        #expect(m.lastError == nil)
        #expect(m.succeeded() == nil, "online stays quiet")
    }
}
