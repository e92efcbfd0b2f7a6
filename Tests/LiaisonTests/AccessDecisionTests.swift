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

    @Test func theExplainedDecisionAlwaysAgreesWithTheFastOne() {
        for reader in policy.principalIDs.compactMap(policy.principal) {
            for owner in policy.agencies.keys {
                for unit in policy.units.keys {
                    for level in Classification.allCases {
                        for date in [TestClock.beforeWindow, TestClock.insideWindow, TestClock.afterWindow] {
                            let subject = ItemSubject(owner: owner, unit: unit, classification: level)
                            #expect(policy.access(of: reader, to: subject, at: date) == policy.decide(for: reader, about: subject, at: date).access)
                        }
                    }
                }
            }
        }
    }
}
