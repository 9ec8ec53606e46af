import NIOCore

#if canImport(NIOSSL)
    import NIOSSL
#endif

/// Builds the TLS channel handler for `MQTTConfiguration.tls`, when NIOSSL is linked.
enum MQTTTLS {
    typealias HandlerFactory = @Sendable () throws -> any ChannelHandler

    /// Whether this build links NIOSSL, i.e. whether `MQTTConfiguration.tls` can work.
    static var isAvailable: Bool {
        #if canImport(NIOSSL)
            true
        #else
            false
        #endif
    }

    /// - Returns: `nil` for plain TCP, else a factory making one `NIOSSLClientHandler` per connection.
    /// - Throws: `MQTTError.Kind.tls` if the CA/certificate/key files cannot be loaded, or TLS is not built in.
    static func handlerFactory(for configuration: MQTTConfiguration) throws(MQTTError) -> HandlerFactory? {
        guard let tls = configuration.tls else { return nil }
        #if canImport(NIOSSL)
            do {
                var settings = TLSConfiguration.makeClientConfiguration()
                settings.trustRoots = .file(tls.caFile)
                settings.certificateVerification = .fullVerification
                if let certificateFile = tls.certificateFile {
                    guard let keyFile = tls.privateKeyFile else {
                        throw MQTTError(.tls, "TLS: certificateFile '\(certificateFile)' set without privateKeyFile")
                    }
                    settings.certificateChain = try NIOSSLCertificate.fromPEMFile(certificateFile).map {
                        .certificate($0)
                    }
                    settings.privateKey = .privateKey(try NIOSSLPrivateKey(file: keyFile, format: .pem))
                }
                let context = try NIOSSLContext(configuration: settings)
                let hostname = tls.serverHostname ?? configuration.host
                // SNI must not be an IP address; verification still checks the IP SAN.
                let isIPAddress = (try? SocketAddress(ipAddress: hostname, port: 0)) != nil
                return {
                    try NIOSSLClientHandler(
                        context: context, serverHostname: isIPAddress ? nil : hostname)
                }
            } catch let error as MQTTError {
                throw error
            } catch {
                throw MQTTError(
                    .tls, "TLS setup (CA '\(tls.caFile)', certificate '\(tls.certificateFile ?? "-")'): \(error)")
            }
        #else
            throw MQTTError(.tls, "TLS requested but this build of Firmware does not link NIOSSL (swift-nio-ssl)")
        #endif
    }

    /// Whether `error` comes from the TLS layer (handshake, certificate verification, unclean shutdown).
    static func isTLSError(_ error: any Error) -> Bool {
        #if canImport(NIOSSL)
            error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError
        #else
            false
        #endif
    }
}
