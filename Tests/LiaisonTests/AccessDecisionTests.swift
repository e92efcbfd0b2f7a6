import Foundation
import LiaisonCore
import Testing

/// The "readable without approval" column of docs/sharing.md, for every level and relationship.
@Suite("Access decisions of the example policy")
struct AccessDecisionTests {
    let policy = TestHub.examplePolicy

    func access(_ reader: String, owner: String, unit: String, _ level: Classification, at date: Date = TestClock.insideWindow) -> AccessDecision.Access {
        policy.access(of: policy.principal(reader)!, to: ItemSubject(owner: owner, unit: unit, classification: level), at: date)
    }

    // An item of stationed-transport about transport-bureau, seen from every relationship.
    static let cases: [(reader: String, relation: String, general: AccessDecision.Access, restricted: AccessDecision.Access, confidential: AccessDecision.Access)] = [
        ("stationed-transport", "owner", .read, .read, .read),
        ("wang.fang", "a person of the owner's agency", .read, .read, .read),
        ("office-3", "the owner's office", .read, .read, .withheld),
        ("zhang.wei", "a person of the owner's office", .read, .read, .withheld),
        ("stationed-finance", "a stationed group of the owner's office", .read, .withheld, .hidden),
        ("office-5", "another office", .hidden, .hidden, .hidden),
        ("stationed-health", "an unrelated stationed group", .hidden, .hidden, .hidden),
        ("inspection-2", "the assigned team inside its window", .read, .withheld, .withheld),
        ("commission", "the commission", .withheld, .withheld, .withheld),
        ("li.na", "a person of the commission", .withheld, .withheld, .withheld),
    ]

    @Test(arguments: cases.indices)
    func decisionTable(_ index: Int) {
        let row = Self.cases[index]
        for (level, expected) in [(Classification.general, row.general), (.restricted, row.restricted), (.confidential, row.confidential)] {
            let got = access(row.reader, owner: "stationed-transport", unit: "transport-bureau", level)
            #expect(got == expected, "\(row.relation) (\(row.reader)) reading a \(level.rawValue) item")
        }
    }

    @Test func assignedTeamReadsOnlyWhileItsWindowIsOpen() {
        #expect(access("inspection-2", owner: "stationed-transport", unit: "transport-bureau", .general, at: TestClock.insideWindow) == .read)
        #expect(access("inspection-2", owner: "stationed-transport", unit: "transport-bureau", .general, at: TestClock.afterWindow) == .hidden)
        #expect(access("inspection-2", owner: "stationed-transport", unit: "transport-bureau", .general, at: TestClock.beforeWindow) == .hidden)
        // The window is inclusive of its last day, exclusive of the day after.
        #expect(access("inspection-2", owner: "stationed-transport", unit: "transport-bureau", .general, at: DateWindow.day("2027-12-31")!.addingTimeInterval(86_399)) == .read)
        #expect(access("inspection-2", owner: "stationed-transport", unit: "transport-bureau", .general, at: DateWindow.day("2028-01-01")!) == .hidden)
    }

    @Test func assignedTeamDoesNotReadItemsAboutOtherUnits() {
        #expect(access("inspection-2", owner: "stationed-finance", unit: "finance-bureau", .general) == .hidden)
    }

    @Test func anOfficeOwnItemIsReadByItsStationedGroupsWhenGeneral() {
        #expect(access("stationed-finance", owner: "office-3", unit: "finance-bureau", .general) == .read)
        #expect(access("stationed-health", owner: "office-3", unit: "finance-bureau", .general) == .hidden)
    }

    @Test func decisionsNameTheRuleThatDecided() {
        let reader = policy.principal("office-3")!
        let read = policy.decide(for: reader, about: ItemSubject(owner: "stationed-transport", unit: "transport-bureau", classification: .restricted), at: TestClock.insideWindow)
        #expect(read.reason == "restricted items are readable by owner-office: office-3 is the office that leads stationed-transport, the owner")
        let withheld = policy.decide(for: reader, about: ItemSubject(owner: "stationed-transport", unit: "transport-bureau", classification: .confidential), at: TestClock.insideWindow)
        #expect(withheld.reason.hasPrefix("confidential items are readable without approval only by owner; office-3 is none of these, but owner-office sees a withheld stub"))
    }

    // Feedback of the inspection team about transport-bureau: its kind's rule lets the unit's stationed group and
    // the office leading it read it (general and restricted); a report of the same team and unit follows its level.
    static let feedbackCases: [(reader: String, relation: String, feedback: [AccessDecision.Access], report: [AccessDecision.Access])] = [
        ("inspection-2", "the owner, a team inside its window", [.read, .read, .read], [.read, .read, .read]),
        ("stationed-transport", "the stationed group in the unit", [.read, .read, .withheld], [.withheld, .withheld, .withheld]),
        ("wang.fang", "a person of that group", [.read, .read, .withheld], [.withheld, .withheld, .withheld]),
        ("office-3", "the office leading that group", [.read, .read, .hidden], [.hidden, .hidden, .hidden]),
        ("zhang.wei", "a person of that office", [.read, .read, .hidden], [.hidden, .hidden, .hidden]),
        ("stationed-finance", "another group of that office", [.hidden, .hidden, .hidden], [.hidden, .hidden, .hidden]),
        ("office-5", "another office", [.hidden, .hidden, .hidden], [.hidden, .hidden, .hidden]),
        ("commission", "the commission", [.withheld, .withheld, .withheld], [.withheld, .withheld, .withheld]),
    ]

    @Test(arguments: feedbackCases.indices)
    func kindRulesInTheDecisionTable(_ index: Int) {
        let row = Self.feedbackCases[index]
        for (kind, expected) in [("feedback", row.feedback), ("rectification", row.feedback), ("report", row.report)] {
            for (level, access) in zip(Classification.allCases, expected) {
                let got = policy.access(of: policy.principal(row.reader)!, to: ItemSubject(owner: "inspection-2", unit: "transport-bureau", classification: level, kind: kind),
                                        at: TestClock.insideWindow)
                #expect(got == access, "\(row.relation) (\(row.reader)) reading a \(level.rawValue) \(kind) item")
            }
        }
    }

    @Test func aDecisionByAKindsRuleNamesIt() {
        let feedback = ItemSubject(owner: "inspection-2", unit: "transport-bureau", classification: .general, kind: "feedback")
        #expect(policy.decide(for: policy.principal("office-3")!, about: feedback, at: TestClock.insideWindow).reason
            == "general feedback items (the rule of kind feedback) are readable by unit-office: office-3 leads stationed-transport, the stationed group in transport-bureau")
        #expect(policy.decide(for: policy.principal("office-5")!, about: feedback, at: TestClock.insideWindow).reason.hasPrefix(
            "general feedback items (the rule of kind feedback) are readable without approval only by owner, owner-office, owner-office-stationed-groups, "
                + "assigned-inspection-team, unit-stationed-group, unit-office, and withheld stubs are shown only to commission, unit-stationed-group; office-5 is none of these"))
        // The level's rule decides a confidential feedback item, and says so without naming the kind.
        let confidential = ItemSubject(owner: "inspection-2", unit: "transport-bureau", classification: .confidential, kind: "feedback")
        #expect(policy.decide(for: policy.principal("stationed-transport")!, about: confidential, at: TestClock.insideWindow).reason
            .hasPrefix("confidential items are readable without approval only by owner; stationed-transport is none of these"))
    }

    @Test func theExplainedDecisionAlwaysAgreesWithTheFastOne() {
        for reader in policy.principalIDs.compactMap(policy.principal) {
            for owner in policy.agencies.keys {
                for unit in policy.units.keys {
                    for level in Classification.allCases {
                        for kind in [nil] + policy.kinds.keys.sorted() {
                            for date in [TestClock.beforeWindow, TestClock.insideWindow, TestClock.afterWindow] {
                                let subject = ItemSubject(owner: owner, unit: unit, classification: level, kind: kind)
                                #expect(policy.access(of: reader, to: subject, at: date) == policy.decide(for: reader, about: subject, at: date).access)
                            }
                        }
                    }
                }
            }
        }
    }
}
