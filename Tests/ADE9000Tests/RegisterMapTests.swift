import Testing

@testable import ADE9000

// The register map is derived from the typed declarations; these tests hold it to the datasheet (spec §2, §12.1)
// for a few well-known registers and check the table is consistent as a whole.

@Test func knownRegistersHaveTheDatasheetAccess() throws {
    let airms = try #require(RegisterMap.info(named: "AIRMS"))
    #expect(airms.access == .readOnly && airms.address.rawValue == 0x20C && airms.bitWidth == 32 && airms.isSigned)
    let aigain = try #require(RegisterMap.info(named: "AIGAIN"))
    #expect(aigain.access == .readWrite && aigain.address.rawValue == 0x000 && aigain.isSigned)
    let status0 = try #require(RegisterMap.info(named: "STATUS0"))
    #expect(status0.access == .writeOneToClear && status0.address.rawValue == 0x402)
    #expect(RegisterMap.info(named: "STATUS1")?.access == .writeOneToClear)
    let config1 = try #require(RegisterMap.info(named: "CONFIG1"))
    #expect(config1.access == .readWrite && config1.resetValue == 0x0000 && config1.bitWidth == 16)
    let config5 = try #require(RegisterMap.info(named: "CONFIG5"))
    #expect(config5.access == .readWrite && config5.resetValue == 0x0063)
    let partID = try #require(RegisterMap.info(named: "PART_ID"))
    #expect(partID.access == .readOnly && partID.resetValue == 0x0010_0000)
    let version = try #require(RegisterMap.info(named: "VERSION"))
    #expect(version.access == .readOnly && version.bitWidth == 16)
    #expect(RegisterMap.info(named: "VLEVEL")?.resetValue == 0x0004_5D45)
    #expect(RegisterMap.info(named: "AWATTHR_LO")?.isSigned == false)
    #expect(RegisterMap.info(named: "CWATTHR_HI")?.address.rawValue == 0x35F)
    #expect(RegisterMap.info(named: "ANGL_VC_IC")?.address.rawValue == 0x487)
    #expect(RegisterMap.info(named: "CPERIOD")?.resetValue == 0x00A0_0000)
}

@Test func typedDeclarationsCarryTheirAccessInTheType() {
    #expect(Register.irms(.a).access == .readOnly)
    #expect(Register.currentGain(.b).access == .readWrite)
    #expect(Register<UInt32>.status0.access == .writeOneToClear)
    #expect(Register<UInt16>.config1.access == .readWrite)
    #expect(Register<UInt16>.version.access == .readOnly)
    #expect(ReadOnlyRegister<UInt32>.access == .readOnly)
    #expect(Register.voltageGain(.c).name == "CVGAIN")
    #expect(Register<UInt16>.voltageToCurrentAngle(.b).name == "ANGL_VB_IB")
    #expect(Register.period(.c).description == "CPERIOD")
}

@Test func everyDeclarationIsInTheMapAsDeclared() throws {
    let declared = RegisterMap.declaredRows()
    for row in declared { #expect(RegisterMap.info(row.address) == row) }
    let aliases = RegisterMap.all.filter { burstAliasSource($0.address) != nil }
    #expect(declared.count + aliases.count == RegisterMap.all.count)
    #expect(aliases.count == BurstByQuantity.wordSources.count + BurstByPhase.wordCount)
    for alias in aliases {
        #expect(alias.access == .readOnly)
        let source = try #require(burstAliasSource(alias.address).flatMap(RegisterMap.info))
        #expect(alias.name == source.name + (alias.address.rawValue < BurstByPhase.base ? "_1" : "_2"))
    }
}

@Test func theMapHasNoDuplicateAddressesOrNames() {
    let addresses = RegisterMap.all.map(\.address)
    let names = RegisterMap.all.map(\.name)
    #expect(Set(addresses).count == addresses.count)
    #expect(Set(names).count == names.count)
    #expect(addresses == addresses.sorted())
    #expect(names.allSatisfy { $0 == $0.uppercased() && !$0.isEmpty })
}

@Test func initialisationTableEntriesNameTheirRegister() {
    #expect(RegisterWrite.u16(.run, 0x0001).description == "RUN (0x480) ← 0x0001")
    #expect(RegisterWrite.u32(.status1, 0xFFFF_FFFF).description == "STATUS1 (0x403) ← 0xFFFFFFFF")
    #expect(RegisterWrite.u32(.status1, 0xFFFF_FFFF).access == .writeOneToClear)
    #expect(ADE9000Configuration.startWrites.map(\.name) == ["STATUS0", "STATUS1", "RUN"])
}
