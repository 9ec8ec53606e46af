import HAL

// Status registers and interrupt waits: what the driver does with STATUS0/1 and the IRQ0 line between cycles.

extension ADE9000 {
    /// Reads STATUS0 and clears exactly the bits it saw set.
    public mutating func takeStatus0() throws(ADE9000Error) -> Status0 {
        let status = Status0(rawValue: try io.read(Status0.register))
        if !status.isEmpty { try io.write(Status0.register, status.rawValue) }
        return status
    }

    /// Reads STATUS1 and clears exactly the bits it saw set.
    public mutating func takeStatus1() throws(ADE9000Error) -> Status1 {
        let status = Status1(rawValue: try io.read(Status1.register))
        if !status.isEmpty { try io.write(Status1.register, status.rawValue) }
        return status
    }

    /// Waits on IRQ0 (active low) until one of `wanted` (default EGYRDY) is pending in STATUS0, then clears
    /// the STATUS0 bits it saw and returns them.
    ///
    /// - Stale edge events (left from earlier cycles, e.g. after polling) are drained first; the line level and
    ///   STATUS0 decide, never an old event.
    /// - If IRQ0 is low, STATUS0 is read at once.
    /// - If no edge comes within `timeout` (per wait), STATUS0 is polled once: a pending bit is returned and
    ///   counted in `statistics.missedInterrupts` (logged: edge missed or line stuck high); otherwise
    ///   `.interruptTimedOut`.
    /// - If IRQ0 stays low while no enabled bit is pending (after clearing), `.interruptLineStuck`.
    public mutating func waitForInterrupt0(_ wanted: Status0 = .energyReady, timeout: Duration) throws(ADE9000Error)
        -> Status0
    {
        guard irq0 != nil else { throw .missingLine("IRQ0") }
        let enabled = Status0.energyReady  // MASK0 as written by the init sequence
        for _ in 0..<16 {
            do {
                var drained = 0
                while drained < 64, try irq0?.waitForEdge(timeout: .zero) != nil { drained += 1 }
            } catch {
                throw .gpio(error)
            }
            let asserted: Bool
            do { asserted = !(try irq0?.get() ?? true) } catch { throw .gpio(error) }
            if asserted {
                let status = try takeStatus0()
                if !status.intersection(wanted).isEmpty { return status }
                if status.intersection(enabled).isEmpty {
                    // Nothing enabled was pending; after the clear the line must be released.
                    let stillLow: Bool
                    do { stillLow = !(try irq0?.get() ?? true) } catch { throw .gpio(error) }
                    if stillLow {
                        logger.error("IRQ0 stuck low", metadata: ["STATUS0": "0x\(hex(status.rawValue, digits: 8))"])
                        throw .interruptLineStuck(line: "IRQ0", status: status.rawValue)
                    }
                }
                continue
            }
            let event: GPIOEdgeEvent?
            do { event = try irq0?.waitForEdge(timeout: timeout) } catch { throw .gpio(error) }
            if event == nil {
                let status = try takeStatus0()
                if !status.intersection(wanted).isEmpty {
                    events.missedInterrupts += 1
                    logger.warning(
                        "IRQ0 edge missed; STATUS0 polled after timeout (line stuck high?)",
                        metadata: ["missed": "\(events.missedInterrupts)"])
                    return status
                }
                throw .interruptTimedOut(line: "IRQ0", after: timeout, status: status.rawValue)
            }
        }
        throw .interruptLineStuck(line: "IRQ0", status: try io.read(Status0.register))
    }

    /// IRQ0-paced sampling for the measurement loop: waits for EGYRDY on IRQ0 (at most `timeout`), then reads a
    /// `.loop` snapshot, so every reading follows a completed energy interval.
    ///
    /// Polling fallback: when IRQ0 is not wired, or after `interruptFailuresBeforePolling` waits in a row ended
    /// without an edge (line stuck high, IRQ0 not connected, MASK0 lost), the driver stops waiting and reads at
    /// once, logging the switch; EGYRDY found by polling is counted in `statistics.missedInterrupts`. An edge
    /// that comes again does not switch back (restart the process after fixing the wiring).
    public mutating func readWhenEnergyReady(timeout: Duration) throws(ADE9000Error) -> Readings {
        if irq0 != nil, !pollingFallback {
            let missedBefore = events.missedInterrupts
            var failed = false
            do {
                _ = try waitForInterrupt0(.energyReady, timeout: timeout)
                failed = events.missedInterrupts != missedBefore
            } catch .interruptTimedOut, .interruptLineStuck {
                failed = true
            }
            consecutiveInterruptFailures = failed ? consecutiveInterruptFailures + 1 : 0
            if consecutiveInterruptFailures >= Self.interruptFailuresBeforePolling {
                pollingFallback = true
                logger.error(
                    "IRQ0 stopped signalling EGYRDY; sampling by polling from now on",
                    metadata: ["failedWaits": "\(consecutiveInterruptFailures)"])
            }
        }
        return try readSnapshot(.loop)
    }

    /// Waits for the *next* end of an energy interval (EGYRDY, every EGY_TIME + 1 samples) and returns; a reading
    /// taken right after holds the energy of whole intervals only, so two such readings N intervals apart measure
    /// exactly N × (EGY_TIME + 1) / 8000 s. What `emeter ade9000 verify` times its energy against.
    ///
    /// A pending EGYRDY is cleared first (it belongs to an interval that ended earlier). With IRQ0 wired the
    /// wait is on the line; without, STATUS0 is polled every millisecond through `delay`.
    /// - Throws: `.interruptTimedOut` when no interval ends within `timeout`.
    public mutating func waitForEnergyReady(timeout: Duration) throws(ADE9000Error) {
        var status = Status0(rawValue: try io.read(Status0.register))
        if status.contains(.energyReady) { try io.write(Status0.register, Status0.energyReady.rawValue) }
        if irq0 != nil, !pollingFallback {
            _ = try waitForInterrupt0(.energyReady, timeout: timeout)
            return
        }
        var waited = Duration.zero
        while waited <= timeout {
            delay.delay(.milliseconds(1))
            waited += .milliseconds(1)
            status = Status0(rawValue: try io.read(Status0.register))
            if status.contains(.energyReady) {
                try io.write(Status0.register, Status0.energyReady.rawValue)
                return
            }
        }
        throw .interruptTimedOut(line: "STATUS0.EGYRDY (polled)", after: timeout, status: status.rawValue)
    }

    /// Waits without an IRQ0 edge in a row before `readWhenEnergyReady` falls back to polling.
    public static var interruptFailuresBeforePolling: Int { 3 }
}
