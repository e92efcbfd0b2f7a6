import LiaisonCore

/// The authenticated principal of the request being handled, set by `IdentityMiddleware`
/// around the generated OpenAPI handlers, which see only HTTP types.
enum RequestPrincipal {
    @TaskLocal static var current: Principal?
}
