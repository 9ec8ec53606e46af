import HAL

/// A scripted SPI double (embedded-hal-mock style): each `transaction` must match the next expected list of
/// operations exactly, and gets the scripted reply or error. Use it for exact framing tests; behaviour is tested
/// against `ADE9000Simulator` (STYLE §B.4, §B.8 item 9).
///
/// A mismatch is reported as a thrown `HALError` (kind `.invalidArgument`, subsystem `scripted-spi`) whose
/// detail shows expected and actual operations, so a test fails with a readable message instead of trapping.
public struct ScriptedSPIDevice: SPIDevice {
    /// One expected transaction.
    public struct Step: Equatable, Sendable {
        public var operations: [SPIOperation]
        public var outcome: Outcome

        public enum Outcome: Equatable, Sendable {
            case reply([[UInt8]])
            case failure(HALError)
        }

        /// Expect `operations`; answer with one byte array per `.read`/`.transfer`.
        public static func expect(_ operations: [SPIOperation], reply: [[UInt8]] = []) -> Step {
            Step(operations: operations, outcome: .reply(reply))
        }

        /// Expect `operations`; fail with `error` (as a spidev ioctl failure would).
        public static func expect(_ operations: [SPIOperation], failWith error: HALError) -> Step {
            Step(operations: operations, outcome: .failure(error))
        }
    }

    public private(set) var steps: [Step]
    /// Index of the next expected step.
    public private(set) var position = 0
    /// Every transaction received, in order (also the unexpected ones).
    public private(set) var received: [[SPIOperation]] = []
    public var name: String

    public init(_ steps: [Step], name: String = "scripted") {
        self.steps = steps
        self.name = name
    }

    /// True when every scripted step has been consumed.
    public var isDone: Bool { position == steps.count }

    public mutating func transaction(_ operations: [SPIOperation]) throws(HALError) -> [[UInt8]] {
        received.append(operations)
        guard position < steps.count else {
            throw HALError(
                .invalidArgument, subsystem: "scripted-spi", device: name, operation: "SPI_IOC_MESSAGE",
                detail: "unexpected transaction #\(received.count): \(operations) (script has \(steps.count) steps)")
        }
        let step = steps[position]
        guard step.operations == operations else {
            throw HALError(
                .invalidArgument, subsystem: "scripted-spi", device: name, operation: "SPI_IOC_MESSAGE",
                detail: "transaction #\(position + 1): expected \(step.operations), got \(operations)")
        }
        position += 1
        switch step.outcome {
        case .reply(let replies): return replies
        case .failure(let error): throw error
        }
    }
}
