import Foundation
import LiaisonCore
import Testing

@Suite("Policy loading")
struct PolicyLoaderTests {
    let valid = """
        agencies:
          - id: office-1
            name: 第一室
            type: office
            leads: [group-a]
          - id: group-a
            name: 组A
            type: stationed-group
            units: [bureau]
        units:
          - id: bureau
            name: 局
        kinds:
          - id: report
            name: 报告
        levels:
          general:
            readable_without_approval: [owner]
            payload_at_rest: plain
          restricted:
            readable_without_approval: [owner]
            payload_at_rest: plain
          confidential:
            readable_without_approval: [owner]
            payload_at_rest: encrypted
        """

    func problems(_ files: [(String, String)]) -> [PolicyProblem] {
        do {
            _ = try PolicyLoader.load(files: files)
            return []
        } catch let error as PolicyError {
            return error.problems
        } catch {
            Issue.record("unexpected error \(error)")
            return []
        }
    }

    @Test func exampleCommissionLoadsWithEveryDeclaredPrincipal() throws {
        let policy = try PolicyLoader.load(directory: Paths.policies)
        #expect(policy.principalIDs == ["chen.jie", "commission", "inspection-2", "li.na", "office-3", "office-5", "stationed-finance",
                                        "stationed-health", "stationed-transport", "sun.hao", "wang.fang", "zhang.wei", "zhao.lei"])
        #expect(Set(policy.kinds.keys) == ["report", "lead", "petition", "analysis", "integrity-file", "feedback", "rectification"])
        #expect(policy.agencies["office-3"]?.leads == ["stationed-finance", "stationed-transport"])
        #expect(policy.people["li.na"]?.roles == [.approver, .auditor])
        #expect(policy.people["zhang.wei"]?.name == "张伟")
        #expect(policy.levels[.confidential]?.payloadAtRest == .encrypted)
        let window = try #require(policy.agencies["inspection-2"]?.assignments.first?.window)
        #expect(window.contains(Date()))
        #expect(window.contains(Date().addingTimeInterval(365 * 86_400)))
    }

    @Test func aValidMinimalPolicyLoads() throws {
        let policy = try PolicyLoader.load(files: [("p.yaml", valid)])
        #expect(policy.office(of: "group-a")?.id == "office-1")
    }

    @Test func unknownKeyIsReportedWithFileLineAndAllowedKeys() {
        let text = valid.replacingOccurrences(of: "    units: [bureau]", with: "    units: [bureau]\n    colour: red")
        let found = problems([("policies/p.yaml", text)])
        #expect(found.count == 1)
        #expect(found.first?.file == "policies/p.yaml")
        #expect(found.first?.line == 10)
        #expect(found.first?.message == "unknown key 'colour' in an agency")
        #expect(found.first?.hint.contains("Allowed keys: id, name, type, leads, units, assignments") == true)
    }

    @Test func referenceToAnUndeclaredUnitNamesIt() {
        let text = valid.replacingOccurrences(of: "units: [bureau]", with: "units: [bureau, nowhere]")
        let found = problems([("p.yaml", text)])
        #expect(found.map(\.line) == [9])
        #expect(found.first?.message == "stationed group 'group-a' names unit 'nowhere', which is not declared")
    }

    @Test func leadingAnAgencyThatIsNotAStationedGroupIsRefused() {
        let text = valid.replacingOccurrences(of: "leads: [group-a]", with: "leads: [group-a, office-1]")
        let found = problems([("p.yaml", text)])
        #expect(found.map(\.line) == [5])
        #expect(found.first?.message.contains("'office-1', which is not a declared stationed group") == true)
    }

    @Test func personOfAnUndeclaredAgencyIsRefused() {
        let text = valid + "\npeople:\n  - id: wu.qi\n    name: 吴七\n    agency: office-9\n    roles: [approver]\n"
        let found = problems([("p.yaml", text)])
        #expect(found.count == 1)
        #expect(found.first?.message == "person 'wu.qi' belongs to 'office-9', which is not a declared agency")
        #expect(found.first?.line == 29)
    }

    @Test func duplicateIdsAcrossFilesAreRefusedNamingTheFirst() {
        let second = "people:\n  - id: group-a\n    name: 重名\n    agency: office-1\n"
        let found = problems([("a.yaml", valid), ("b.yaml", second)])
        #expect(found.count == 1)
        #expect(found.first?.file == "b.yaml")
        #expect(found.first?.line == 2)
        #expect(found.first?.message == "duplicate principal id 'group-a' (first declared at a.yaml:6)")
    }

    @Test func windowEndingBeforeItStartsIsRefused() {
        let team = "agencies:\n  - id: team-1\n    name: 巡察组\n    type: inspection-team\n    assignments:\n      - unit: bureau\n        from: 2027-03-01\n        to: 2027-02-01\n"
        let found = problems([("a.yaml", valid), ("t.yaml", team)])
        #expect(found.count == 1)
        #expect(found.first?.file == "t.yaml")
        #expect(found.first?.line == 8)
        #expect(found.first?.message == "the window of 'team-1' on bureau ends (2027-02-01) before it starts (2027-03-01)")
    }

    @Test func badDatesUnknownTypesRolesAndRelationshipsAreEachReported() {
        let text = valid
            .replacingOccurrences(of: "type: stationed-group", with: "type: stationed-grp")
            .replacingOccurrences(of: "readable_without_approval: [owner]\n    payload_at_rest: plain\n  restricted",
                                  with: "readable_without_approval: [owner, friends]\n    payload_at_rest: plain\n  restricted")
        let found = problems([("p.yaml", text)])
        #expect(found.contains { $0.message == "agency 'group-a' has unknown type 'stationed-grp'" && $0.line == 8 })
        #expect(found.contains { $0.message == "unknown relationship 'friends'" && $0.line == 18 })
    }

    /// `valid` with the report kind's entry followed by `lines` (each indented as a key of that entry).
    func withReportRules(_ lines: [String]) -> String {
        valid.replacingOccurrences(of: "  - id: report\n    name: 报告\n", with: "  - id: report\n    name: 报告\n" + lines.map { "    " + $0 + "\n" }.joined())
    }

    @Test func aKindsRulesReplaceItsLevelsListsForTheLevelsTheyName() throws {
        let text = withReportRules(["readable_without_approval:", "  general: [owner, unit-office]", "withheld_stub_visible_to:", "  restricted: [unit-stationed-group]"])
        let policy = try PolicyLoader.load(files: [("p.yaml", text)])
        let general = try #require(policy.rule(for: ItemSubject(owner: "group-a", unit: "bureau", classification: .general, kind: "report")))
        #expect(general.readableWithoutApproval == [.owner, .unitOffice] && general.kind == "report")
        let restricted = try #require(policy.rule(for: ItemSubject(owner: "group-a", unit: "bureau", classification: .restricted, kind: "report")))
        #expect(restricted.readableWithoutApproval == [.owner] && restricted.withheldStubVisibleTo == [.unitStationedGroup] && restricted.kind == "report")
        // A level the kind does not name, and an item of no kind with rules, follow the level.
        #expect(policy.rule(for: ItemSubject(owner: "group-a", unit: "bureau", classification: .confidential, kind: "report")) == policy.levels[.confidential])
        #expect(policy.rule(for: ItemSubject(owner: "group-a", unit: "bureau", classification: .general, kind: "lead")) == policy.levels[.general])
        #expect(policy.rule(for: ItemSubject(owner: "group-a", unit: "bureau", classification: .general)) == policy.levels[.general])
    }

    @Test func badKindRulesAreReportedWithTheirLine() {
        let text = withReportRules(["readable_without_approval:", "  secret: [owner]", "  general: [owner, neighbours]", "withheld_stub_visible_to: [owner]"])
        let found = problems([("p.yaml", text)])
        #expect(found.map(\.message) == ["unknown key 'secret' in readable_without_approval of kind 'report'", "unknown relationship 'neighbours'",
                                         "withheld_stub_visible_to of kind 'report' must be a mapping of keys to values"])
        #expect(found.map(\.line) == [17, 18, 19])
        #expect(found.first?.hint.contains("Allowed keys: general, restricted, confidential") == true)
    }

    @Test func theExampleAlertRulesLoadAsWritten() throws {
        let policy = try PolicyLoader.load(directory: Paths.policies)
        #expect(policy.alerts == [
            AlertRule(id: "person-across-agencies", name: "同一人员被多个单位反映 (one person named by several agencies)", grouping: .person, kinds: nil,
                      minimumItems: 1, minimumAgencies: 2, window: Period(seconds: 180 * 86_400), notify: [.commissionApprovers, .ownerOffices]),
            AlertRule(id: "petitions-about-unit", name: "同一单位信访集中 (petitions gathering on one unit)", grouping: .unit, kinds: ["petition"],
                      minimumItems: 3, minimumAgencies: 1, window: Period(seconds: 30 * 86_400), notify: [.unitStationedGroup, .unitOffice, .commissionApprovers]),
        ])
        #expect(policy.alertRules(counting: "petition").map(\.id) == ["person-across-agencies", "petitions-about-unit"])
        #expect(policy.alertRules(counting: "report").map(\.id) == ["person-across-agencies"])
        // Who hears of an alert: the unit's stationed group and its office with their people, and the commission's approvers.
        let petitions = policy.alerts[1]
        #expect(policy.audience(of: petitions, owners: ["stationed-health"], units: ["transport-bureau"])
                == ["chen.jie", "li.na", "office-3", "stationed-transport", "wang.fang", "zhang.wei"])
        // The offices leading the owners: an office that pushed leads itself; an inspection team has none.
        let person = policy.alerts[0]
        #expect(policy.audience(of: person, owners: ["stationed-health", "office-3", "inspection-2"], units: ["audit-bureau"])
                == ["chen.jie", "li.na", "office-3", "office-5", "zhang.wei"])
    }

    @Test func badAlertRulesAreEachReportedWithTheirLine() {
        let text = valid + """

            alerts:
              - id: a
                name: 甲
                match: cadre
                within: 30d
                notify: [everyone]
              - id: b
                name: 乙
                match: unit
                kinds: [memo]
                min_items: 3
                within: 30 days
                notify: [owners]
              - id: c
                name: 丙
                match: person
                within: 30d
                notify: [owners]
              - id: d
                name: 丁
                match: tag
                min_agencies: 2
                within: 7d
                notify: []
              - id: e
                name: 戊
                match: unit
            """
        let found = problems([("p.yaml", text)])
        #expect(found.map(\.message) == [
            "alert rule 'a' matches by unknown 'cadre'", "alert rule 'a' notifies unknown 'everyone'",
            "within of alert rule 'b' '30 days' is not a length of time",
            "alert rule 'c' holds for a single item, so it would alert on every push",
            "alert rule 'd' notifies no one",
            "an alert rule lacks the required key 'within'", "an alert rule lacks the required key 'notify'",
            "alert rule 'b' counts kind 'memo', which is not declared",
        ])
        #expect(found.map(\.line) == [29, 31, 37, 39, 49, 50, 50, 35])
        #expect(found.first?.hint == "Use one of: person, tag, unit (items naming one person or tag, or about one unit)")
        #expect(found[1].hint == "Use one of: \(AlertRule.Audience.names)")
    }

    @Test func confidentialStoredPlainIsRefused() {
        let text = valid.replacingOccurrences(of: "payload_at_rest: encrypted", with: "payload_at_rest: plain")
        let found = problems([("p.yaml", text)])
        #expect(found.map(\.message) == ["confidential payloads must be encrypted at rest"])
    }

    @Test func theExampleApprovalRulesAreThoseOfTheDesign() throws {
        let policy = try PolicyLoader.load(directory: Paths.policies)
        #expect(policy.levels[.general]?.approval == ApprovalRule(approvers: [.owner, .ownerOffice], required: 1, commissionRequired: false, maxGrant: Period("90d")!))
        #expect(policy.levels[.restricted]?.approval == ApprovalRule(approvers: [.owner, .ownerOffice], required: 1, commissionRequired: false, maxGrant: Period("30d")!))
        #expect(policy.levels[.confidential]?.approval == ApprovalRule(approvers: [.owner, .ownerOffice, .commission], required: 2, commissionRequired: true,
                                                                        maxGrant: Period("14d")!))
        #expect(policy.requestLifetime == Period("7d"))
    }

    @Test func badApprovalRulesAreEachReportedWithTheirLine() {
        let text = valid.replacingOccurrences(of: "  general:\n    readable_without_approval: [owner]\n    payload_at_rest: plain", with: """
              general:
                readable_without_approval: [owner]
                payload_at_rest: plain
                approval:
                  approvers: [owner]
                  approvals_required: 0
                  commission_approval_required: maybe
                  max_grant: a fortnight
                  quorum: 3
            """) + "\nrequests:\n  lifetime: 7w\n"
        let found = problems([("p.yaml", text)])
        #expect(found.contains { $0.message == "approvals_required '0' is not a whole number from 1 to 10" && $0.line == 22 })
        #expect(found.contains { $0.message == "commission_approval_required 'maybe' is not true or false" && $0.line == 23 })
        #expect(found.contains { $0.message == "max_grant 'a fortnight' is not a length of time" && $0.hint == Period.formatHint })
        #expect(found.contains { $0.message == "unknown key 'quorum' in the approval of general items" })
        #expect(found.contains { $0.message == "requests.lifetime '7w' is not a length of time" })
        let commissionMissing = valid.replacingOccurrences(of: "  general:\n    readable_without_approval: [owner]\n    payload_at_rest: plain", with: """
              general:
                readable_without_approval: [owner]
                payload_at_rest: plain
                approval: {approvers: [owner], approvals_required: 1, commission_approval_required: true, max_grant: 7d}
            """)
        #expect(problems([("p.yaml", commissionMissing)]).map(\.message) == ["the approval of general items requires a commission approval, but commission is not among its approvers"])
    }

    @Test func missingLevelsAndRequiredKeysAreReported() {
        let text = valid.replacingOccurrences(of: "  confidential:\n    readable_without_approval: [owner]\n    payload_at_rest: encrypted", with: "")
            .replacingOccurrences(of: "    name: 局\n", with: "")
        let found = problems([("p.yaml", text)])
        #expect(found.contains { $0.message == "a unit lacks the required key 'name'" })
        #expect(found.contains { $0.message == "no sharing rule for confidential" })
    }

    @Test func yamlSyntaxErrorsCarryTheirLine() {
        let found = problems([("bad.yaml", "agencies:\n  - id: x\n   name: [unclosed\n")])
        #expect(found.count == 1)
        #expect(found.first?.message.hasPrefix("YAML syntax error") == true)
        #expect(found.first?.line == 3)
    }

    @Test func aFolderWithoutPolicyFilesIsRefused() throws {
        let empty = try Paths.temporaryDirectory("empty-policy")
        #expect(throws: PolicyError.self) { try PolicyLoader.load(directory: empty) }
    }
}
