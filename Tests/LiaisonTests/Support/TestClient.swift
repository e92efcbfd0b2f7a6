import AsyncHTTPClient
import Foundation
import LiaisonCrypto
import NIOCore
import NIOHTTP1
import NIOSSL

/// A raw HTTPS client with one principal's certificate, so tests see exact statuses and bodies.
final class TestClient: Sendable {
    struct Response: Sendable {
        let status: Int
        let body: Data
        let headers: HTTPHeaders

        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
        var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
        var errorMessage: String { (json["error"] as? [String: Any])?["message"] as? String ?? "" }
        var errorField: String? { (json["error"] as? [String: Any])?["field"] as? String }
        var text: String { String(decoding: body, as: UTF8.self) }
        var isSealed: Bool { headers.first(name: "Content-Type") == "application/pkcs7-mime" }
    }

    let http: HTTPClient
    let baseURL: String
    let certificatePath: String?
    let keyPath: String?

    init(baseURL: String, certificate: String?, key: String?, ca: String) throws {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let certificate, let key {
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
        }
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca))
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        // A request waiting for one of the pool's connections counts against `connect`: under the suite's load
        // (every suite at once, the PostgreSQL pass beside its server) fifteen pushes queued on eight connections can wait long.
        configuration.timeout = .init(connect: .seconds(30), read: .seconds(60))
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.baseURL = baseURL
        self.certificatePath = certificate
        self.keyPath = key
    }

    func send(_ method: HTTPMethod, _ path: String, body: Data? = nil, headers: [(String, String)] = []) async throws -> Response {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            if !headers.contains(where: { $0.0.lowercased() == "content-type" }) { request.headers.add(name: "Content-Type", value: "application/json") }
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        // A minute: in the PostgreSQL pass some sixty hubs of parallel tests share two cores with the database, and a
        // test's burst of concurrent pushes queues on its hub's four connections (measured up to 22 s, none stuck).
        let response = try await http.execute(request, timeout: .seconds(60))
        let bytes = try await response.body.collect(upTo: 64 * 1024 * 1024)
        return Response(status: Int(response.status.code), body: Data(buffer: bytes), headers: response.headers)
    }

    func get(_ path: String) async throws -> Response { try await send(.GET, path) }

    /// A streamed push (`application/octet-stream`) of `payload`, the item's fields in `Liaison-*` headers (percent-encoded
    /// here); `declaringLength: false` sends it with chunked transfer encoding in 256 KiB pieces, without Content-Length.
    func pushStreamed(_ payload: [UInt8], kind: String = "report", title: String = "扫描案卷", unit: String, classification: String,
                      extra: [(String, String)] = [], declaringLength: Bool = true, key: String? = nil) async throws -> Response {
        var request = HTTPClientRequest(url: baseURL + "/v1/items")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/octet-stream")
        for (name, value) in [("Liaison-Kind", kind), ("Liaison-Title", title), ("Liaison-Unit", unit), ("Liaison-Classification", classification)] {
            request.headers.add(name: name, value: Self.percentEncoded(value))
        }
        for (name, value) in extra { request.headers.add(name: name, value: value) }
        if let key { request.headers.add(name: "Idempotency-Key", value: key) }
        if declaringLength {
            request.body = .bytes(ByteBuffer(bytes: payload))
        } else {
            let pieces = stride(from: 0, to: payload.count, by: 256 << 10).map { ByteBuffer(bytes: payload[$0..<min(payload.count, $0 + (256 << 10))]) }
            request.body = .stream(AsyncStream { continuation in
                for piece in pieces { continuation.yield(piece) }
                continuation.finish()
            }, length: .unknown)
        }
        let response = try await http.execute(request, timeout: .seconds(120))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return Response(status: Int(response.status.code), body: Data(buffer: bytes), headers: response.headers)
    }

    /// A streamed push whose client gives up after sending `sent` bytes of a longer body (the request fails here).
    func pushStreamedCutOff(after sent: [UInt8], unit: String, classification: String) async throws {
        var request = HTTPClientRequest(url: baseURL + "/v1/items")
        request.method = .POST
        for (name, value) in [("Content-Type", "application/octet-stream"), ("Liaison-Kind", "report"), ("Liaison-Title", "cut"), ("Liaison-Unit", unit),
                              ("Liaison-Classification", classification)] {
            request.headers.add(name: name, value: value)
        }
        struct GaveUp: Error {}
        let pieces = stride(from: 0, to: sent.count, by: 256 << 10).map { ByteBuffer(bytes: sent[$0..<min(sent.count, $0 + (256 << 10))]) }
        request.body = .stream(AsyncThrowingStream { continuation in
            for piece in pieces { continuation.yield(piece) }
            continuation.finish(throwing: GaveUp())
        }, length: .known(Int64(sent.count * 2)))
        _ = try await http.execute(request, timeout: .seconds(60))
    }

    /// RFC 3986 percent-encoding of everything but unreserved characters, as a `Liaison-*` header value is written.
    static func percentEncoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")) ?? text
    }

    /// Pushes an item; `overrides` replace or add JSON fields (use NSNull() to drop one).
    func push(kind: String = "report", title: String = "月度监督报告", unit: String, classification: String, payload: Data = Data("payload".utf8),
              key: String? = nil, overrides: [String: Any] = [:]) async throws -> Response {
        var fields: [String: Any] = ["kind": kind, "title": title, "unit": unit, "classification": classification,
                                     "content_type": "text/plain", "payload": payload.base64EncodedString()]
        for (name, value) in overrides {
            if value is NSNull { fields[name] = nil } else { fields[name] = value }
        }
        return try await send(.POST, "/v1/items", body: try JSONSerialization.data(withJSONObject: fields), headers: key.map { [("Idempotency-Key", $0)] } ?? [])
    }

    /// GET of an item's payload, and its plaintext: a CMS envelope (confidential items) is opened with
    /// this client's key, as `liaison get` does. `plaintext` is nil when there is nothing to open.
    func payload(_ id: String) async throws -> (response: Response, plaintext: Data?) {
        let response = try await get("/v1/items/\(id)/payload")
        guard response.status == 200 else { return (response, nil) }
        guard response.isSealed, let certificatePath, let keyPath else { return (response, response.body) }
        let opened = try CMSEnvelope.open(Array(response.body), key: PrivateKey(pemFile: keyPath), certificate: X509Certificate(file: certificatePath))
        return (response, Data(opened))
    }

    func shutdown() async { try? await http.shutdown() }
}
