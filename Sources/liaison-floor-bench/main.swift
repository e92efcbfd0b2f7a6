// The framework's floor, for scripts/bench: Hummingbird with the hub's own mutual-TLS settings and two
// routes that answer "ok", with no middleware, no generated layer and no storage: GET /healthz, and
// POST /v1/items, which reads the whole body first (what a push costs before the hub looks at it).
// Whatever the hub does per request costs on top of this. Not part of the product.
// Usage: liaison-floor-bench HOST:PORT CERT.pem KEY.pem CA.pem
import Foundation
import Hummingbird
import LiaisonServer
import Logging

let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count == 4, let colon = arguments[0].lastIndex(of: ":"), let port = Int(arguments[0][arguments[0].index(after: colon)...]) else {
    print("usage: liaison-floor-bench HOST:PORT CERT.pem KEY.pem CA.pem")
    exit(64)
}
let settings = ServerSettings(host: String(arguments[0][..<colon]), port: port,
                              certificatePath: arguments[1], keyPath: arguments[2], caPath: arguments[3])
let router = Router()
router.get("healthz") { _, _ in "ok" }
router.post("v1/items") { request, _ in
    _ = try await request.body.collect(upTo: 1 << 20)
    return "ok"
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
