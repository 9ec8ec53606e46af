import TestSupport
import Testing

@testable import MQTT

/// MQTT over TLS (NIOSSL) against mosquitto with a throwaway CA and mandatory client certificates.
@Suite(
    .enabled(if: MosquittoBroker.isAvailable, Comment(rawValue: MosquittoBroker.missingMessage)),
    .enabled(if: MQTTTLS.isAvailable, "Firmware is built without NIOSSL"), .timeLimit(.minutes(3))
)
struct MQTTTLSTests {
    @Test func mutualTLSRoundTrip() async throws {
        try await MosquittoBroker.with(tls: true) { broker in
            let files = try #require(await broker.tlsFiles)
            let configuration = MQTTConfiguration(
                host: "127.0.0.1", port: broker.port, clientID: "tls-meter", connectTimeout: .seconds(5),
                tls: MQTTTLSConfiguration(
                    caFile: files.caFile, certificateFile: files.clientCertificate, privateKeyFile: files.clientKey))
            let connection = try await MQTTConnection.connect(configuration: configuration)
            try await connection.subscribe([MQTTSubscription("secure/#", qos: .atLeastOnce)])
            try await connection.publish(topic: "secure/power", payload: Array("1234".utf8), qos: .atLeastOnce)
            let received = await mqttCollect(1, from: connection.messages)
            #expect(received == [MQTTMessage(topic: "secure/power", payload: Array("1234".utf8), qos: .atLeastOnce)])
            await connection.disconnect()
        }
    }

    @Test func brokerCertificateFromAnUntrustedCAIsRejected() async throws {
        try await MosquittoBroker.with(tls: true) { broker in
            let files = try #require(await broker.tlsFiles)
            let configuration = MQTTConfiguration(
                host: "127.0.0.1", port: broker.port, clientID: "tls-meter", connectTimeout: .seconds(5),
                tls: MQTTTLSConfiguration(
                    caFile: files.otherCAFile, certificateFile: files.clientCertificate,
                    privateKeyFile: files.clientKey))
            do throws(MQTTError) {
                _ = try await MQTTConnection.connect(configuration: configuration)
                Issue.record("connected although the broker certificate is not signed by the trusted CA")
            } catch {
                #expect(error.kind == .tls, "\(error)")
            }
        }
    }

    @Test func missingCAFileIsAClearTLSError() async throws {
        let configuration = MQTTConfiguration(
            host: "127.0.0.1", port: 1, clientID: "x", tls: MQTTTLSConfiguration(caFile: "/nonexistent/ca.crt"))
        do throws(MQTTError) {
            _ = try await MQTTConnection.connect(configuration: configuration)
            Issue.record("connect succeeded without a CA file")
        } catch {
            #expect(error.kind == .tls)
            #expect(error.message.contains("/nonexistent/ca.crt"))
        }
    }
}
