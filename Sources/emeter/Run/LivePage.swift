import CivilTime
import Firmware

/// The live page at `GET /` and the JSON it reads besides `GET /api/v1/live`: one HTML file with its CSS and script
/// (Sources/emeter/Page/index.html), embedded in the binary by SwiftPM's `embedInCode` rule (no bundle, no
/// Foundation, nothing fetched from elsewhere: it works on a Pi without internet).
enum LivePage {
    /// The page's bytes.
    static var html: [UInt8] { PackageResources.index_html }

    /// `GET /api/v1/history`: the newest sample's local day as 1-minute averages,
    /// `{"day_start":…,"newest":…,"points":[[minute,W],…]}` (Unix s; the minute in progress last).
    static func history(_ state: APIState) -> [UInt8] {
        let local = state.localTime
        let (newest, points) = state.history { PowerHistory.dayStart(containing: $0, in: local) }
        var json = JSONWriter(capacity: 64 + points.count * 24)
        json.objectStart()
        json.field("day_start", newest.map { PowerHistory.dayStart(containing: $0, in: local).seconds })
        json.field("newest", newest?.seconds)
        json.key("points")
        json.arrayStart()
        for point in points {
            json.arrayStart()
            json.int(point.minute.seconds)
            json.int(point.powerW)
            json.arrayEnd()
        }
        json.arrayEnd()
        json.objectEnd()
        return json.bytes
    }

    /// `GET /api/v1/status`: the last live reading as our payload schema prints it (power, phases, the
    /// quarter-hour demand and the month peak), the last health report (ring included) and the forwarders.
    static func status(_ state: APIState, device: String) -> [UInt8] {
        let current = state.current
        var json = JSONWriter(capacity: 2048)
        json.objectStart()
        json.key("live")
        if let reading = current.reading { json.raw(Payloads.live(reading, device: device)) } else { json.null() }
        json.key("health")
        if let health = current.health { json.raw(Payloads.health(health, device: device)) } else { json.null() }
        json.key("forwarders")
        json.arrayStart()
        for forwarder in current.forwarders {
            json.objectStart()
            json.key("name")
            json.string(forwarder.name)
            json.field("backlog", forwarder.backlog)
            json.field("last_success_utc", time: forwarder.lastSuccess)
            json.objectEnd()
        }
        json.arrayEnd()
        json.objectEnd()
        return json.bytes
    }
}
