import Hummingbird
import LiaisonHub

/// Refuses a push (503 storage_full) that would leave less free space under the data folder than the
/// reserve, so that the trail entries of reads still fit: reads go on while new items cannot be taken.
struct StorageAdmissionMiddleware: RouterMiddleware {
    typealias Context = LiaisonRequestContext
    let space: StorageSpace
    let bodyLimit: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .post, request.uri.path == "/v1/items" else { return try await next(request, context) }
        let bytes = request.headers[.contentLength].flatMap { Int($0) } ?? bodyLimit
        guard space.admits(bytes: bytes) else { throw HubError.storageFull }
        return try await next(request, context)
    }
}
