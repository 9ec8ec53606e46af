import HAL

/// The one error type of the P1 module, with a message naming what was expected.
public enum P1Error: Error, Equatable, Sendable, CustomStringConvertible {
    /// The framer rejected the telegram.
    case rejected(P1Rejection)
    /// No complete telegram in the input.
    case noTelegram(reason: String)
    /// A key given as text is not 32 hex digits (16 bytes).
    case invalidKey(name: String, reason: String)
    /// The bytes are not a DLMS general-glo-ciphering frame (`DB 08 <system title> <length> 30 <counter> …`).
    case malformedFrame(reason: String)
    /// Security control byte other than 0x30 (authenticated and encrypted, suite 0).
    case unsupportedSecurityControl(UInt8)
    /// The GCM tag did not verify: wrong encryption or authentication key, or a damaged frame.
    case authenticationFailed(systemTitle: String, frameCounter: UInt32)
    /// An authentic frame whose frame counter is not above the last one accepted: a recorded frame played again.
    case replayedFrame(systemTitle: String, frameCounter: UInt32, lastAccepted: UInt32)
    /// The decrypted bytes are not a P1 telegram (does not start with `/`): most likely a wrong key.
    case notATelegram(reason: String)
    /// The crypto library failed.
    case crypto(String)
    /// The serial port failed.
    case serial(HALError)
    /// Auto-detection found no telegram at any line setting.
    case noMeterDetected(tried: [SerialConfiguration])

    public var description: String {
        switch self {
        case .rejected(let rejection): rejection.description
        case .noTelegram(let reason): "no P1 telegram: \(reason)"
        case .invalidKey(let name, let reason): "P1 \(name): \(reason); expected 32 hex digits (16 bytes)"
        case .malformedFrame(let reason): "not a DLMS encrypted P1 frame: \(reason)"
        case .unsupportedSecurityControl(let byte):
            "DLMS frame security control 0x\(String(byte, radix: 16)) unsupported; "
                + "expected 0x30 (encrypted + authenticated)"
        case .authenticationFailed(let title, let counter):
            "DLMS frame from system title \(title), frame counter \(counter): GCM tag mismatch "
                + "(wrong encryption/authentication key or damaged frame)"
        case .replayedFrame(let title, let counter, let last):
            "DLMS frame from system title \(title), frame counter \(counter): not above the last accepted \(last) "
                + "(a replayed frame)"
        case .notATelegram(let reason): "decrypted frame is not a P1 telegram: \(reason) (wrong encryption key?)"
        case .crypto(let reason): "P1 decryption failed: \(reason)"
        case .serial(let error): "P1 serial port: \(error)"
        case .noMeterDetected(let tried):
            "no P1 telegram detected at " + tried.map(\.description).joined(separator: ", ")
        }
    }
}
