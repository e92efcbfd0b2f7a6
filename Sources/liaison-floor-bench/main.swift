// The framework's floor, for scripts/bench: Hummingbird with the hub's own mutual-TLS settings and two
// routes that answer "ok", with no middleware, no generated layer and no storage: GET /healthz, and
// POST /v1/items, which reads the whole body first (what a push costs before the hub looks at it).
// Whatever the hub does per request costs on top of this. Not part of the product.
//
// With a data folder, two more routes add the hub's own store (SQLite, WAL, synchronous=FULL, group commit)
// and nothing else: GET /v1/audited appends one trail entry before answering (what keeping an audited read
// durable costs), POST /v1/stored stores the body as an item with its trail entry (what keeping a push durable
// costs). No identity, policy, JSON, digest or seal: the floor of a durable answer on this machine.
// With --nio, GET /healthz and GET /v1/audited are served on a bare SwiftNIO pipeline instead (NIOFloor): what the
// hub's metadata reads cost without Hummingbird, as its FastLane answers them.
// Usage: liaison-floor-bench [--nio] HOST:PORT CERT.pem KEY.pem CA.pem [DATA-FOLDER]
import Foundation
import Hummingbird
import LiaisonCore
import LiaisonServer
import LiaisonStore
import Logging

var arguments = Array(CommandLine.arguments.dropFirst())
let nio = arguments.first == "--nio"
if nio { arguments.removeFirst() }
guard (4...5).contains(arguments.count), let colon = arguments[0].lastIndex(of: ":"), let port = Int(arguments[0][arguments[0].index(after: colon)...]) else {
    print("usage: liaison-floor-bench [--nio] HOST:PORT CERT.pem KEY.pem CA.pem [DATA-FOLDER]")
    exit(64)
}
let settings = ServerSettings(host: String(arguments[0][..<colon]), port: port,
                              certificatePath: arguments[1], keyPath: arguments[2], caPath: arguments[3])
if nio {
    try NIOFloor.run(host: settings.host, port: port, cert: arguments[1], key: arguments[2], ca: arguments[3],
                     store: arguments.count == 5 ? try SQLiteStore(path: arguments[4] + "/floor.sqlite") : nil)
    exit(0)
}
let router = Router()
router.get("healthz") { _, _ in "ok" }
router.post("v1/items") { request, _ in
    _ = try await request.body.collect(upTo: 1 << 20)
    return "ok"
}
if arguments.count == 5 {
    let store = try SQLiteStore(path: arguments[4] + "/floor.sqlite")
    let ids = ItemIDGenerator()
    // Counted as the hub's fast lane counts the requests it answers, so that the store's batches wait for them as the hub's do.
    let demand = store.writeDemand
    router.get("v1/audited") { _, _ in
        demand.began()
        defer { demand.ended() }
        try await store.record(AuditRecord(time: Date(), actor: "office-3", action: .getItem, targets: [ids.next(at: Date())]))
        return "ok"
    }
    router.post("v1/stored") { request, _ in
        let body = try await request.body.collect(upTo: 1 << 20)
        demand.began()
        defer { demand.ended() }
        let now = Date()
        let item = Item(id: ids.next(at: now), kind: "report", title: "floor", unit: "finance-bureau", persons: [], tags: [], classification: .general,
                        owner: "stationed-finance", pushedBy: "stationed-finance", contentType: "application/json", sha256: "", size: body.readableBytes,
                        createdAt: now)
        let audit = AuditRecord(time: now, actor: item.pushedBy, action: .pushItem, targets: [item.id], unit: item.unit)
        _ = try await store.insert(item, payload: StoredPayload(bytes: Array(buffer: body), wrappedKey: nil, keyVersion: nil), claim: nil, audit: audit,
                                   events: [], marks: [], watch: nil)
        return "ok"
    }
}
var logger = Logger(label: "liaison-floor-bench")
logger.logLevel = .warning
let app = Application(
    router: router,
    server: try HubServer.httpsServer(settings),
    configuration: ApplicationConfiguration(address: .hostname(settings.host, port: settings.port)),
    logger: logger
)
try await app.runService()
