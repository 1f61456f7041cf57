/// How `aiquery serve` listens and whom it answers.
public struct ServeOptions: Sendable {
    public var host = "127.0.0.1"
    /// 0 picks a free port.
    public var port = 8080
    /// The personal access token callers present (Bearer, or Basic `token:<PAT>` as `curl -u` sends it).
    public var token: String
    /// OAuth machine-to-machine credentials that the token route exchanges for short-lived tokens.
    public var clientID: String
    public var clientSecret: String
    /// Largest request body accepted (413 above it).
    public var maxBodyBytes = 16 << 20
    /// Lifetime of an OAuth token the server issues.
    public var oauthTokenLifetime = 3600.0
    /// Seconds a request's body may take to arrive, all of it (408 after): a client that announces 1,000 bytes
    /// and sends 10 must not hold its request open for as long as it likes.
    public var readTimeout = 30.0
    /// Seconds a connection may stay silent (between requests, or in the middle of reading one) before it is closed.
    public var idleTimeout = 60.0
    /// Lets requests without a token in when they come over loopback from this server's own pages or a local
    /// program (``AccessMiddleware``): no token prompt on one's own machine.
    public var noAuthOnLoopback = false

    public init(host: String = "127.0.0.1", port: Int = 8080, token: String, clientID: String, clientSecret: String) {
        self.host = host
        self.port = port
        self.token = token
        self.clientID = clientID
        self.clientSecret = clientSecret
    }
}
