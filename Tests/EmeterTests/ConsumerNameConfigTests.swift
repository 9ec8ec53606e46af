import Testing

@testable import emeter

/// Issue 10, point 4: every configured consumer gets a stable ring name that does not depend on its place in the
/// `forward:` list.
@Test func forwardersGetStableRingNamesWithoutSecretsPortsOrOrder() throws {
    let yaml = """
        stdout: {records: true}
        forward:
          - url: mqtt://user:secret@broker.local:1884/home/meter
          - http:
              url: https://user:pw@example.org:8443/api/readings/?token=x
          - url: http://10.0.0.2/ingest
            name: backend
        """
    let config = try YAMLFile.decode(RunConfig.self, yaml: yaml, file: "c.yaml")
    #expect(
        config.consumerNames == ["stdout", "mqtt:broker.local/home/meter", "http:example.org/api/readings/", "backend"])
    let reordered = try YAMLFile.decode(
        RunConfig.self,
        yaml: "stdout: {records: false}\nforward:\n  - url: http://10.0.0.2/ingest\n    name: backend\n"
            + "  - url: mqtt://broker.local:1883/home/meter\n",
        file: "c.yaml")
    #expect(reordered.consumerNames == ["backend", "mqtt:broker.local/home/meter"])
}

@Test func twoForwardersWithTheSameRingNameAreRefused() {
    let yaml = "forward:\n  - url: mqtt://broker/emeter\n  - url: mqtt://u:p@broker:1884/emeter\n"
    #expect {
        _ = try YAMLFile.decode(RunConfig.self, yaml: yaml, file: "c.yaml")
    } throws: { error in
        (error as? ConfigErrors)?.errors.first?.message
            == "forward[0] has the same ring name `mqtt:broker/emeter`; give one of them another `name:`"
    }
}
