// The wire contract. `openapi.yaml` beside this file is the source of truth; the
// swift-openapi-generator build plugin generates the types, the server protocol and the
// client from it at build time (see openapi-generator-config.yaml).
import OpenAPIRuntime
