import Yams

/// Accumulates the sections of all policy files, then checks references across them.
struct PolicyBuilder {
    var problems: [PolicyProblem] = []
    private var agencies: [Agency] = []
    private var people: [Person] = []
    private var units: [Unit] = []
    private var kinds: [ItemKind] = []
    private var levels: [LevelRule] = []
    private var alerts: [AlertRule] = []
    /// Where each id was first declared, per namespace, to report duplicates with both places.
    private var declared: [String: [String: String]] = [:]
    /// References to check once every file is read: (namespace, id, what refers, file, node).
    private var references: [(namespace: String, id: String, what: String, file: String, node: Node)] = []
    private var levelsNode: (String, Node)?
    /// How long an undecided access request lives (`requests: lifetime:`); 7 days unless the policy says.
    private var requestLifetime = Period(seconds: 7 * 86_400)
    /// How long before its window opens an inspection team may build a dossier (`dossiers: lead_time:`); 30 days unless the policy says.
    private var dossierLeadTime = Period(seconds: 30 * 86_400)
    /// Levels that appear in some file, valid or not, so a broken rule is not also reported as missing.
    private var mentionedLevels: Set<Classification> = []
    /// A file that is not YAML hides what it declares; whole-policy checks would only add noise.
    var unreadableFiles = 0

    mutating func read(_ root: Node, with reader: inout PolicyFileReader) {
        guard let top = reader.fields(root, of: "the top level of a policy file", allowed: PolicyLoader.sections, required: []) else { return }
        for item in reader.list(top["agencies"], "agencies") { readAgency(item, &reader) }
        for item in reader.list(top["people"], "people") { readPerson(item, &reader) }
        for item in reader.list(top["units"], "units") {
            guard let f = reader.fields(item, of: "a unit", allowed: ["id", "name"], required: ["id", "name"]),
                  let id = reader.identifier(f["id"], "unit id"), let name = reader.string(f["name"], "unit name") else { continue }
            if declare(id, in: "unit", at: f["id"]!, &reader) { units.append(Unit(id: id, name: name)) }
        }
        for item in reader.list(top["kinds"], "kinds") {
            guard let f = reader.fields(item, of: "an item kind", allowed: ["id", "name", "readable_without_approval", "withheld_stub_visible_to"], required: ["id", "name"]),
                  let id = reader.identifier(f["id"], "kind id"), let name = reader.string(f["name"], "kind name") else { continue }
            let readers = kindRule(f["readable_without_approval"], "readable_without_approval of kind '\(id)'", &reader)
            let stubs = kindRule(f["withheld_stub_visible_to"], "withheld_stub_visible_to of kind '\(id)'", &reader)
            if declare(id, in: "kind", at: f["id"]!, &reader) {
                kinds.append(ItemKind(id: id, name: name, readableWithoutApproval: readers, withheldStubVisibleTo: stubs))
            }
        }
        if let node = top["levels"] { readLevels(node, &reader) }
        for item in reader.list(top["alerts"], "alerts") { readAlert(item, &reader) }
        if let node = top["requests"], let f = reader.fields(node, of: "requests", allowed: ["lifetime"], required: ["lifetime"]),
           let lifetime = reader.period(f["lifetime"], "requests.lifetime") {
            requestLifetime = lifetime
        }
        if let node = top["dossiers"], let f = reader.fields(node, of: "dossiers", allowed: ["lead_time"], required: ["lead_time"]),
           let leadTime = reader.period(f["lead_time"], "dossiers.lead_time") {
            dossierLeadTime = leadTime
        }
    }

    /// Records an id; a second declaration in the same namespace is a problem naming the first.
    private mutating func declare(_ id: String, in namespace: String, at node: Node, _ reader: inout PolicyFileReader) -> Bool {
        if let first = declared[namespace]?[id] {
            reader.problem(at: node, "duplicate \(namespace) id '\(id)' (first declared at \(first))", hint: "Ids must be unique; rename or remove one of them")
            return false
        }
        declared[namespace, default: [:]][id] = "\(reader.file):\(node.mark?.line ?? 1)"
        return true
    }

    private mutating func refer(to id: String, in namespace: String, from what: String, at node: Node, _ reader: PolicyFileReader) {
        references.append((namespace, id, what, reader.file, node))
    }

    private mutating func readAgency(_ node: Node, _ reader: inout PolicyFileReader) {
        let allowed = ["id", "name", "type", "leads", "units", "assignments"]
        guard let f = reader.fields(node, of: "an agency", allowed: allowed, required: ["id", "name", "type"]),
              let id = reader.identifier(f["id"], "agency id"), let name = reader.string(f["name"], "agency name"),
              let typeText = reader.string(f["type"], "agency type") else { return }
        guard let type = AgencyType(rawValue: typeText) else {
            reader.problem(at: f["type"], "agency '\(id)' has unknown type '\(typeText)'", hint: "Use one of: \(AgencyType.allCases.map(\.rawValue).joined(separator: ", "))")
            return
        }
        let onlyFor: [(String, AgencyType)] = [("leads", .office), ("units", .stationedGroup), ("assignments", .inspectionTeam)]
        for (key, owner) in onlyFor where f[key] != nil && type != owner {
            reader.problem(at: f[key], "'\(key)' is only for agencies of type \(owner.rawValue), but '\(id)' is a \(type.rawValue)", hint: "Remove '\(key)' or change the type")
        }
        let leads = reader.identifiers(f["leads"], "leads of \(id)")
        for (group, at) in leads { refer(to: group, in: "stationed group", from: "office '\(id)' leads", at: at, reader) }
        let units = reader.identifiers(f["units"], "units of \(id)")
        for (unit, at) in units { refer(to: unit, in: "unit", from: "stationed group '\(id)' names unit", at: at, reader) }
        var assignments: [Assignment] = []
        for item in reader.list(f["assignments"], "assignments of \(id)") {
            guard let a = reader.fields(item, of: "an assignment of \(id)", allowed: ["unit", "from", "to"], required: ["unit", "from", "to"]),
                  let unit = reader.identifier(a["unit"], "assignment unit"),
                  let (from, fromText) = reader.day(a["from"], "assignment start"), let (to, toText) = reader.day(a["to"], "assignment end") else { continue }
            refer(to: unit, in: "unit", from: "inspection team '\(id)' is assigned to", at: a["unit"]!, reader)
            guard to >= from else {
                reader.problem(at: a["to"], "the window of '\(id)' on \(unit) ends (\(toText)) before it starts (\(fromText))", hint: "Make `to` the same day as `from` or later")
                continue
            }
            assignments.append(Assignment(unit: unit, window: DateWindow(from: from, endExclusive: to.addingTimeInterval(86_400))))
        }
        if declare(id, in: "principal", at: f["id"]!, &reader) {
            agencies.append(Agency(id: id, name: name, type: type, leads: leads.map(\.0), units: units.map(\.0), assignments: assignments))
        }
    }

    private mutating func readPerson(_ node: Node, _ reader: inout PolicyFileReader) {
        guard let f = reader.fields(node, of: "a person", allowed: ["id", "name", "agency", "roles"], required: ["id", "name", "agency"]),
              let id = reader.identifier(f["id"], "person id"), let name = reader.string(f["name"], "person name"),
              let agency = reader.identifier(f["agency"], "person agency") else { return }
        refer(to: agency, in: "agency", from: "person '\(id)' belongs to", at: f["agency"]!, reader)
        var roles: [Role] = []
        for item in reader.list(f["roles"], "roles of \(id)") {
            guard let text = reader.string(item, "a role") else { continue }
            guard let role = Role(rawValue: text) else {
                reader.problem(at: item, "person '\(id)' has unknown role '\(text)'", hint: "Use one of: \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
                continue
            }
            roles.append(role)
        }
        if declare(id, in: "principal", at: f["id"]!, &reader) {
            people.append(Person(id: id, name: name, agency: agency, roles: roles))
        }
    }

    private mutating func readAlert(_ node: Node, _ reader: inout PolicyFileReader) {
        let allowed = ["id", "name", "match", "kinds", "min_items", "min_agencies", "within", "notify"]
        guard let f = reader.fields(node, of: "an alert rule", allowed: allowed, required: ["id", "name", "match", "within", "notify"]),
              let id = reader.identifier(f["id"], "alert rule id"), let name = reader.string(f["name"], "alert rule name") else { return }
        // Every field is read before giving up, so that all of its problems are reported at once.
        let matchText = reader.string(f["match"], "match of alert rule '\(id)'")
        let grouping = matchText.flatMap(AlertRule.Grouping.init(rawValue:))
        if let matchText, grouping == nil {
            reader.problem(at: f["match"], "alert rule '\(id)' matches by unknown '\(matchText)'",
                           hint: "Use one of: \(AlertRule.Grouping.allCases.map(\.rawValue).joined(separator: ", ")) (items naming one person or tag, or about one unit)")
        }
        let kinds = f["kinds"].map { reader.identifiers($0, "kinds of alert rule '\(id)'") }
        for (kind, at) in kinds ?? [] { refer(to: kind, in: "kind", from: "alert rule '\(id)' counts kind", at: at, reader) }
        let minimumItems = f["min_items"].map { reader.count($0, "min_items of alert rule '\(id)'", in: 1...10_000) } ?? 1
        let minimumAgencies = f["min_agencies"].map { reader.count($0, "min_agencies of alert rule '\(id)'", in: 1...1_000) } ?? 1
        let window = reader.period(f["within"], "within of alert rule '\(id)'")
        var notify: [AlertRule.Audience] = []
        for item in reader.list(f["notify"], "notify of alert rule '\(id)'") {
            guard let text = reader.string(item, "an audience") else { continue }
            guard let audience = AlertRule.Audience(rawValue: text) else {
                reader.problem(at: item, "alert rule '\(id)' notifies unknown '\(text)'", hint: "Use one of: \(AlertRule.Audience.names)")
                continue
            }
            notify.append(audience)
        }
        guard let grouping, let minimumItems, let minimumAgencies, let window else { return }
        if kinds?.isEmpty == true {
            reader.problem(at: f["kinds"], "alert rule '\(id)' counts no kind", hint: "List the kinds it counts, e.g. [petition], or drop `kinds` to count every kind")
            return
        }
        if minimumItems < 2 && minimumAgencies < 2 {
            reader.problem(at: node, "alert rule '\(id)' holds for a single item, so it would alert on every push",
                           hint: "Set min_items or min_agencies to 2 or more")
            return
        }
        guard !notify.isEmpty else {
            reader.problem(at: f["notify"], "alert rule '\(id)' notifies no one", hint: "List who hears of it, e.g. [commission-approvers, owner-offices]")
            return
        }
        if declare(id, in: "alert rule", at: f["id"]!, &reader) {
            alerts.append(AlertRule(id: id, name: name, grouping: grouping, kinds: kinds.map { Set($0.map(\.0)) }, minimumItems: minimumItems,
                                    minimumAgencies: minimumAgencies, window: window, notify: notify))
        }
    }

    private mutating func readLevels(_ node: Node, _ reader: inout PolicyFileReader) {
        levelsNode = (reader.file, node)
        guard let byLevel = reader.fields(node, of: "levels", allowed: Classification.allCases.map(\.rawValue), required: []) else { return }
        for level in Classification.allCases {
            guard let entry = byLevel[level.rawValue] else { continue }
            mentionedLevels.insert(level)
            let allowed = ["readable_without_approval", "withheld_stub_visible_to", "payload_at_rest", "approval"]
            guard let f = reader.fields(entry, of: "the \(level.rawValue) level", allowed: allowed, required: ["readable_without_approval", "payload_at_rest"]),
                  let atRestText = reader.string(f["payload_at_rest"], "payload_at_rest") else { continue }
            guard let atRest = PayloadAtRest(rawValue: atRestText) else {
                reader.problem(at: f["payload_at_rest"], "unknown payload_at_rest '\(atRestText)'", hint: "Use plain or encrypted")
                continue
            }
            if level == .confidential && atRest != .encrypted {
                reader.problem(at: f["payload_at_rest"], "confidential payloads must be encrypted at rest", hint: "Set `payload_at_rest: encrypted` for confidential")
                continue
            }
            let approval = f["approval"].flatMap { approvalRule($0, level: level, &reader) }
            if declare(level.rawValue, in: "level", at: entry, &reader) {
                levels.append(LevelRule(level: level, readableWithoutApproval: relationships(f["readable_without_approval"], &reader),
                                        withheldStubVisibleTo: relationships(f["withheld_stub_visible_to"], &reader), payloadAtRest: atRest,
                                        approval: approval))
            }
        }
    }

    private func approvalRule(_ node: Node, level: Classification, _ reader: inout PolicyFileReader) -> ApprovalRule? {
        let what = "the approval of \(level.rawValue) items"
        guard let f = reader.fields(node, of: what, allowed: ["approvers", "approvals_required", "commission_approval_required", "max_grant"],
                                    required: ["approvers", "approvals_required", "max_grant"]) else { return nil }
        // Every field is read before giving up, so that all of its problems are reported at once.
        let approvers = relationships(f["approvers"], &reader)
        let required = reader.count(f["approvals_required"], "approvals_required", in: 1...10)
        let maxGrant = reader.period(f["max_grant"], "max_grant")
        let flag = f["commission_approval_required"].map { reader.flag($0, "commission_approval_required") }
        guard let required, let maxGrant, flag != .some(nil) else { return nil }
        let commissionRequired = flag.flatMap { $0 } ?? false
        guard !approvers.isEmpty else {
            reader.problem(at: f["approvers"], "\(what) names no approvers", hint: "List the relationships whose approvers decide, e.g. [owner, owner-office]")
            return nil
        }
        if commissionRequired && !approvers.contains(.commission) {
            reader.problem(at: f["commission_approval_required"], "\(what) requires a commission approval, but commission is not among its approvers",
                           hint: "Add commission to approvers, or drop commission_approval_required")
            return nil
        }
        return ApprovalRule(approvers: approvers, required: required, commissionRequired: commissionRequired, maxGrant: maxGrant)
    }

    /// A kind's lists of relationships by level (`general: [owner, unit-office]`), each in place of the level's own.
    private func kindRule(_ node: Node?, _ what: String, _ reader: inout PolicyFileReader) -> [Classification: [Relationship]] {
        guard let node, let byLevel = reader.fields(node, of: what, allowed: Classification.allCases.map(\.rawValue), required: []) else { return [:] }
        var rule: [Classification: [Relationship]] = [:]
        for level in Classification.allCases {
            if let list = byLevel[level.rawValue] { rule[level] = relationships(list, &reader) }
        }
        return rule
    }

    private func relationships(_ node: Node?, _ reader: inout PolicyFileReader) -> [Relationship] {
        reader.list(node, "relationships").compactMap { item in
            guard let text = reader.string(item, "a relationship") else { return nil }
            guard let relationship = Relationship(rawValue: text) else {
                reader.problem(at: item, "unknown relationship '\(text)'", hint: "Use one of: \(Relationship.names)")
                return nil
            }
            return relationship
        }
    }

    /// Checks what only the whole policy can tell, then builds it or throws every problem found.
    mutating func build() throws -> Policy {
        let agencyByID = Dictionary(agencies.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var reader = PolicyFileReader(file: "")
        for reference in references {
            reader = PolicyFileReader(file: reference.file)
            switch reference.namespace {
            case "unit" where declared["unit"]?[reference.id] == nil:
                reader.problem(at: reference.node, "\(reference.what) '\(reference.id)', which is not declared", hint: "Declare it under `units:` or fix the spelling")
            case "agency" where agencyByID[reference.id] == nil:
                reader.problem(at: reference.node, "\(reference.what) '\(reference.id)', which is not a declared agency", hint: "Declare it under `agencies:` or fix the spelling")
            case "kind" where declared["kind"]?[reference.id] == nil:
                reader.problem(at: reference.node, "\(reference.what) '\(reference.id)', which is not declared", hint: "Declare it under `kinds:` or fix the spelling")
            case "stationed group" where agencyByID[reference.id]?.type != .stationedGroup:
                reader.problem(at: reference.node, "\(reference.what) '\(reference.id)', which is not a declared stationed group", hint: "Declare it under `agencies:` with `type: stationed-group`")
            default: break
            }
            problems += reader.problems
        }
        var leader: [String: String] = [:]
        for office in agencies where office.type == .office {
            for group in office.leads {
                if let other = leader[group] {
                    problems.append(PolicyProblem(file: "policy", line: 1, column: 1, message: "stationed group '\(group)' is led by both \(other) and \(office.id)",
                                                  hint: "A stationed group has one office; remove it from one `leads` list"))
                }
                leader[group] = office.id
            }
        }
        let missing = Classification.allCases.filter { !mentionedLevels.contains($0) }
        if !missing.isEmpty && unreadableFiles == 0 {
            let (file, node) = levelsNode ?? ("policy", nil)
            reader = PolicyFileReader(file: file)
            reader.problem(at: node, "no sharing rule for \(missing.map(\.rawValue).joined(separator: ", "))", hint: "Declare every level (\(Classification.names)) under `levels:`")
            problems += reader.problems
        }
        guard problems.isEmpty else { throw PolicyError(problems: problems) }
        return Policy(agencies: agencies, people: people, units: units, kinds: kinds, levels: levels, requestLifetime: requestLifetime,
                      dossierLeadTime: dossierLeadTime, alerts: alerts)
    }
}
