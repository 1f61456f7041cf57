import AIQueryCore
import HTTPTypes
import Hummingbird

/// An answer in Databricks' error shape: `{"error_code": "…", "message": "…"}` with its status, and `Retry-After`
/// on 429 and 503, as Databricks sends it.
struct ServingError: Error {
    var status: HTTPResponse.Status
    var code: String
    var message: String
    var retryAfter: Int?
    var closesConnection = false

    init(_ status: HTTPResponse.Status, _ code: String, _ message: String, retryAfter: Int? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.retryAfter = retryAfter ?? (status == .tooManyRequests || status == .serviceUnavailable ? 1 : nil)
    }

    static func badRequest(_ message: String) -> ServingError { ServingError(.badRequest, "BAD_REQUEST", message) }
    static func invalidParameter(_ message: String) -> ServingError { ServingError(.badRequest, "INVALID_PARAMETER_VALUE", message) }

    /// The body did not arrive in time; the connection is closed after this answer (what is left of the body
    /// would otherwise be read as the next request).
    static func readTimeout(_ seconds: Double) -> ServingError {
        var error = ServingError(.requestTimeout, "BAD_REQUEST", "The request body did not arrive within \(formatSeconds(seconds)); send it whole, or raise --read-timeout")
        error.closesConnection = true
        return error
    }

    static func noSuchEndpoint(_ name: String) -> ServingError {
        ServingError(.notFound, "RESOURCE_DOES_NOT_EXIST", "Endpoint with name '\(name)' does not exist.")
    }

    /// The pipeline's error as Databricks would report it; its code decides status and error_code.
    init(_ error: AIQueryError, endpoint: String?) {
        if error.code == .unknownEndpoint, let endpoint {
            self = .noSuchEndpoint(endpoint)
            return
        }
        self.init(HTTPResponse.Status(code: error.httpStatus), error.databricksErrorCode, error.message)
    }

    func response(redactor: Redactor) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        if closesConnection { headers[.connection] = "close" }
        let body = JSONValue.object([("error_code", .string(code)), ("message", .string(redactor.redact(message)))])
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body.serialized())))
    }
}
