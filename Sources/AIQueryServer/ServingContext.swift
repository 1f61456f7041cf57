import Hummingbird
import NIOCore

/// A request's context: Hummingbird's, plus the connection it came on, whose closing ends a stream the caller no
/// longer reads (between two pieces, nothing else would tell the server).
struct ServingContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let connection: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        connection = source.channel
    }
}
