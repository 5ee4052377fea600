@testable import EdgeCache
import Testing

@Suite struct ReflectorMachineTests {
    @Test func startsWithAListWithoutStoredState() {
        var m = ReflectorMachine()
        let r1 = m.start(stored: nil) == .list(relist: false)
        #expect(r1)
        #expect(m.state == .listing(relist: false))
        let r2 = m.listed(resourceVersion: "10") == .watch(from: "10")
        #expect(r2)
        #expect(m.state == .watching(resourceVersion: "10"))
    }

    @Test func resumesFromTheStoredStateWithoutAList() {
        var m = ReflectorMachine()
        let r3 = m.start(stored: "42") == .watch(from: "42")
        #expect(r3)
        #expect(m.resourceVersion == "42")
        // A second start does nothing.
        let r4 = m.start(stored: "1")
        #expect(r4 == .none)
    }

    @Test func aWatchThatEndsResumesFromWhereItGot() {
        var m = ReflectorMachine()
        _ = m.start(stored: "5")
        m.progressed(to: "9")
        let r5 = m.watchEnded(quick: false) == .watch(from: "9")
        #expect(r5)
    }

    @Test func aQuickEmptyWatchEndBacksOff() {
        var m = ReflectorMachine()
        _ = m.start(stored: "5")
        guard case .retry = m.watchEnded(quick: true) else { Issue.record("no backoff"); return }
        #expect(m.state == .backingOff(then: .watch(resourceVersion: "5")))
        let r6 = m.retry() == .watch(from: "5")
        #expect(r6)
    }

    @Test func expiredMeansOneRelistDiffed() {
        var m = ReflectorMachine()
        _ = m.start(stored: "5")
        let r7 = m.expired() == .list(relist: true)
        #expect(r7)
        #expect(m.state == .listing(relist: true))
        // A failed relist is retried as a relist (the watchers still need the difference).
        guard case .retry = m.listFailed() else { Issue.record("no backoff"); return }
        let r8 = m.retry() == .list(relist: true)
        #expect(r8)
        let r9 = m.listed(resourceVersion: "100") == .watch(from: "100")
        #expect(r9)
    }

    @Test func failuresBackOffExponentiallyAndProgressResets() {
        var m = ReflectorMachine(backoff: Backoff(initial: .milliseconds(100), cap: .milliseconds(350)))
        _ = m.start(stored: "5")
        let r10 = m.watchFailed() == .retry(after: .milliseconds(100))
        #expect(r10)
        _ = m.retry()
        let r11 = m.watchFailed() == .retry(after: .milliseconds(200))
        #expect(r11)
        _ = m.retry()
        let r12 = m.watchFailed() == .retry(after: .milliseconds(350))
        #expect(r12)
        _ = m.retry()
        m.progressed(to: "6")
        #expect(m.failures == 0)
        let r13 = m.watchFailed() == .retry(after: .milliseconds(100))
        #expect(r13)
    }

    @Test func linkDownCancelsAndTheLinkComingBackResumes() {
        var m = ReflectorMachine()
        _ = m.start(stored: "7")
        let r14 = m.linkDown()
        #expect(r14 == .cancel)
        #expect(m.state == .backingOff(then: .watch(resourceVersion: "7")))
        let r15 = m.retry() == .watch(from: "7")
        #expect(r15)
        // While listing, too.
        var l = ReflectorMachine()
        _ = l.start(stored: nil)
        let r16 = l.linkDown()
        #expect(r16 == .cancel)
        let r17 = l.retry() == .list(relist: false)
        #expect(r17)
    }

    @Test func aLostCacheWriteForcesARelist() {
        var m = ReflectorMachine()
        _ = m.start(stored: "7")
        let r18 = m.cacheLost() == .list(relist: true)
        #expect(r18)
        var b = ReflectorMachine()
        _ = b.start(stored: "7")
        _ = b.watchFailed()
        let r19 = b.cacheLost()
        #expect(r19 == .none)
        let r20 = b.retry() == .list(relist: true)
        #expect(r20)
    }

    @Test func stopCancelsWhatIsInFlightAndIgnoresLateEvents() {
        var m = ReflectorMachine()
        _ = m.start(stored: nil)
        let r21 = m.stop()
        #expect(r21 == .cancel)
        let r22 = m.listed(resourceVersion: "3")
        #expect(r22 == .none)
        let r23 = m.retry()
        #expect(r23 == .none)
        #expect(m.state == .stopped)
    }

    @Test func lateCallbacksOfAnotherStateAreIgnored() {
        var m = ReflectorMachine()
        _ = m.start(stored: "1")
        let r24 = m.listed(resourceVersion: "2")
        #expect(r24 == .none)
        let r25 = m.listFailed()
        #expect(r25 == .none)
        _ = m.expired()
        let r26 = m.watchEnded(quick: false)
        #expect(r26 == .none)
        let r27 = m.watchFailed()
        #expect(r27 == .none)
    }
}

private struct E: HistoryEvent {
    var resourceVersion: UInt64
    var cost: Int = 10
}

@Suite struct EventHistoryTests {
    @Test func replaysExactlyTheEventsAfterAResourceVersion() {
        var h = EventHistory<E>(startingAt: 10, maxEvents: 100, maxBytes: 10_000)
        for rv in [11, 12, 15, 20] as [UInt64] { h.append(E(resourceVersion: rv)) }
        guard case .events(let after12) = h.replay(after: 12) else { Issue.record("expired"); return }
        #expect(after12.map(\.resourceVersion) == [15, 20])
        guard case .events(let after13) = h.replay(after: 13) else { Issue.record("expired"); return }
        #expect(after13.map(\.resourceVersion) == [15, 20])
        guard case .events(let all) = h.replay(after: 10) else { Issue.record("expired"); return }
        #expect(all.count == 4)
        guard case .events(let none) = h.replay(after: 20) else { Issue.record("expired"); return }
        #expect(none.isEmpty)
        // Older than the window's start: 410.
        guard case .expired(let floor) = h.replay(after: 9) else { Issue.record("not expired"); return }
        #expect(floor == 10)
    }

    @Test func boundedByCountAndBytesAndTheFloorMoves() {
        var h = EventHistory<E>(startingAt: 0, maxEvents: 3, maxBytes: 1_000)
        for rv in 1...5 as ClosedRange<UInt64> { h.append(E(resourceVersion: rv)) }
        #expect(h.count == 3)
        #expect(h.floor == 2)
        guard case .expired = h.replay(after: 1) else { Issue.record("not expired"); return }
        guard case .events(let e) = h.replay(after: 2) else { Issue.record("expired"); return }
        #expect(e.map(\.resourceVersion) == [3, 4, 5])

        var b = EventHistory<E>(startingAt: 0, maxEvents: 100, maxBytes: 25)
        for rv in 1...4 as ClosedRange<UInt64> { b.append(E(resourceVersion: rv, cost: 10)) }
        #expect(b.count == 2)
        #expect(b.bytes == 20)
        #expect(b.floor == 2)
    }

    @Test func outOfOrderEventsAreRefused() {
        var h = EventHistory<E>(startingAt: 10, maxEvents: 10, maxBytes: 1000)
        let r28 = h.append(E(resourceVersion: 12))
        #expect(r28)
        let r29 = h.append(E(resourceVersion: 12))
        #expect(!r29)
        let r30 = h.append(E(resourceVersion: 11))
        #expect(!r30)
        #expect(h.current == 12)
    }

    @Test func bookmarksAdvanceAndAnEmptyHistoryServesFromThere() {
        var h = EventHistory<E>(startingAt: 10, maxEvents: 10, maxBytes: 1000)
        h.advance(to: 30)
        #expect(h.current == 30)
        #expect(h.floor == 10)
        guard case .events(let quiet) = h.replay(after: 20) else { Issue.record("nothing happened after 10"); return }
        #expect(quiet.isEmpty)
        let r31 = h.append(E(resourceVersion: 25))
        #expect(!r31)
        h.append(E(resourceVersion: 31))
        h.advance(to: 40)
        #expect(h.floor == 10)
        guard case .events(let e) = h.replay(after: 35) else { Issue.record("expired"); return }
        #expect(e.isEmpty)
    }

    @Test func restartAfterARelist() {
        var h = EventHistory<E>(startingAt: 10, maxEvents: 10, maxBytes: 1000)
        h.append(E(resourceVersion: 11))
        h.restart(at: 50)
        #expect(h.count == 0)
        #expect(h.floor == 50)
        #expect(h.current == 50)
        guard case .expired = h.replay(after: 11) else { Issue.record("pre-relist positions must expire"); return }
    }

    @Test func manyEvictionsKeepOrder() {
        var h = EventHistory<E>(startingAt: 0, maxEvents: 50, maxBytes: 1 << 30)
        for rv in 1...10_000 as ClosedRange<UInt64> { h.append(E(resourceVersion: rv)) }
        #expect(h.count == 50)
        guard case .events(let e) = h.replay(after: 9_990) else { Issue.record("expired"); return }
        #expect(e.map(\.resourceVersion) == Array(9_991...10_000))
    }
}
