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

/// Issue 13: `influxdb:` entries decode (v1 and v2) and get a ring name from host, path and database or org/bucket.
@Test func influxDBForwardersDecodeWithRingNames() throws {
    let yaml = """
        stdout: {records: false}
        forward:
          - influxdb: {url: "http://influx.local:8086/", version: 1, database: emeter, password: env:P, username: u}
          - influxdb:
              url: https://cloud.example/influx
              version: 2
              org: home
              bucket: meters
              token: file:/etc/emeter/influx-token
        """
    let config = try YAMLFile.decode(RunConfig.self, yaml: yaml, file: "c.yaml")
    #expect(config.consumerNames == ["influxdb:influx.local/emeter", "influxdb:cloud.example/influx/home/meters"])
    #expect(config.forward?[0].influxdb?.database == "emeter")
    #expect(config.forward?[1].influxdb?.effectiveVersion == 2)
    #expect {
        _ = try YAMLFile.decode(
            RunConfig.self,
            yaml: "forward:\n  - influxdb: {url: http://h:8086, database: d}\n    url: http://h/x\n", file: "c.yaml")
    } throws: { error in
        (error as? ConfigErrors)?.errors.first?.message
            == "expected exactly one of `url:`, `http:`, `orion:`, `thingspeak:` or `influxdb:`"
    }
}
