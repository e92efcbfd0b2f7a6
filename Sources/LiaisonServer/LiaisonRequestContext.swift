public import Hummingbird
public import NIOCore

/// The request context: Hummingbird's core storage plus the connection, from which identity is read.
public struct LiaisonRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = CoreRequestContextStorage(source: source)
        channel = source.channel
    }
}
