import Foundation

/// The repository root: the first ancestor of this source file that holds `Package.swift`. Tests read fixtures,
/// boards and scripts only below it, never outside the clone.
public let repositoryRoot: URL = {
    var url = URL(fileURLWithPath: #filePath)
    while url.path != "/" {
        url.deleteLastPathComponent()
        if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
    }
    return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
}()

/// The P1 fixtures, byte-exact copies kept in the repository's `fixtures/p1` (see its README for what each must
/// yield). Found from this source file's path: the first ancestor directory holding `Package.swift` is the
/// repository root.
public enum Fixtures {
    public static let directory: URL = {
        repositoryRoot.appendingPathComponent("fixtures/p1")
    }()

    /// The exact bytes of a fixture (path relative to the fixtures directory).
    public static func bytes(_ name: String) throws -> [UInt8] {
        let url = directory.appendingPathComponent(name)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw FixtureError(message: "fixture \(url.path) not found or unreadable")
        }
        return [UInt8](data)
    }

    /// Every plain telegram fixture (top level, derived, spec) with a valid or absent CRC.
    public static let validTelegrams = [
        "nl_dsmr22_iskra_mt382_v2_2.txt", "nl_dsmr30_iskra_mt382_v3.txt", "nl_dsmr42_kaifa_v4_2.txt",
        "nl_dsmr50_iskra_mt382_v5.txt", "nl_dsmr50_iskra_am550_two_mbus.txt",
        "nl_dsmr50_nwa_warmtelink_heat_unpadded_crc.txt", "be_fluvius_emucs171_gas_water.txt",
        "be_fluvius_emucs171_alt_invalid_peak_ts.txt", "de_easymeter_q3d_b1024_com1_gateway.txt",
        "de_easymeter_q3d_a1004_com1_gateway.txt", "at_sagemcom_t210dr_plain.txt", "ie_iskra_ie5t_ctrl02_header.txt",
        "hu_eon_sagemcom_v5.txt", "lt_eso_setp1_max_1ph.txt", "lt_eso_setp1_max_3ph.txt",
        "lt_eso_setp1_extended_1ph.txt", "lu_smarty_lux5_plain.txt",
        "derived/nl_dsmr50_gas_invalid_ts_632525252525S.txt", "derived/nl_dsmr22_iskra_mt382_ctrl02_header.txt",
        "derived/ie_iskra_ie5t_backslash_recrc.txt", "derived/lu_smarty_lux5_no_gas.txt",
        "spec/lu_smarty_spec_v113_appendix_example.txt",
    ]
}

public struct FixtureError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
