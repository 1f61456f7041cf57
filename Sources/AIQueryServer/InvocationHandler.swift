import AIQueryCore
import HTTPTypes
import Hummingbird

/// Answers one request to a serving endpoint through the same pipeline `ai_query` uses: the caller's rate limit,
/// the endpoint's task, one call per answer (one per input for embeddings, so each is cached as ai_query caches
/// it), then the answer in the endpoint's wire shape.
struct InvocationHandler: Sendable {
    let state: ServerState

    func respond(to request: ServingRequest) async throws(ServingError) -> (Response, CallPlan?) {
        let plan = try state.plan(for: request.endpoint, options: request.options, requestTags: request.requestTags, cache: request.cacheMode)
        let endpoint = plan.endpoint
        let task: EndpointTask
        if let known = plan.knownTask {
            task = known
        } else {
            // A workspace endpoint's task is looked up over the network, once: on a worker thread.
            let looked = await state.pipeline.onWorker { control in Result { () throws(AIQueryError) in try plan.task(control: control) } }
            switch looked {
            case .success(let value): task = value
            case .failure(let error): throw ServingError(error, endpoint: request.endpoint)
            }
        }
        try request.check(task: task)
        let inputs: [ModelInput] = task == .embeddings ? try request.embeddingInputs().texts.map { .text($0) } : [.json(request.body)]
        let calls = try prepare(inputs, plan)
        let permit = try admit(calls, plan: plan)
        if request.stream, task == .chat || task == .completions {
            return (try await streamed(calls[0], plan: plan, task: task, request: request, permit: permit), plan)
        }
        var usedTokens = 0
        defer { permit?.finish(actualTokens: usedTokens) }
        let body: JSONValue
        switch task {
        case .embeddings:
            var vectors: [[Float]] = []
            var stored = 0
            for answer in await state.pipeline.answer(calls, plan: plan, shape: { $0 }) {
                let response = try unwrap(answer, request)
                guard case .embedding(let vector) = response.output else { throw .badRequest("Endpoint '\(request.endpoint)' did not answer an embedding") }
                vectors.append(vector)
                stored += response.usage?.input ?? 0
            }
            // Rows of a batched request carry no usage of their own; the request's tally has what the batch cost.
            let usage = TokenUsage(input: max(stored, plan.tally.snapshot.inputTokens), output: 0)
            usedTokens = usage.total
            body = ServingResponse.embeddings(vectors, usage: usage, endpoint: request.endpoint, base64: request.base64Embeddings)
        case .chat, .completions, .custom:
            let response = try unwrap(await state.pipeline.answer(calls[0], plan: plan, shape: { $0 }), request)
            usedTokens = response.usage?.total ?? 0
            body =
                task == .custom
                ? ServingResponse.custom(response) : ServingResponse.chatOrCompletion(response, task: task, endpoint: request.endpoint, key: calls[0].key)
        }
        var headers: HTTPFields = [.contentType: "application/json", HTTPField.Name("served-model-name")!: endpoint.model ?? endpoint.name]
        Self.describeSpending(of: plan, in: &headers)
        return (Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body.serialized()))), plan)
    }

    /// The endpoint's `limit:` applies to callers too: a request over it is answered 429 with Retry-After at once,
    /// as Databricks does, rather than held.
    private func admit(_ calls: [PreparedCall], plan: CallPlan) throws(ServingError) -> LimitPermit? {
        switch plan.admitCaller(calls) {
        case .success(let permit): return permit
        case .failure(let wait):
            let seconds = max(1, Int(min(wait.seconds.rounded(.up), 86_400)))
            let message = "Exceeded the rate limit of endpoint '\(plan.endpoint.name)'; retry after \(seconds) s"
            plan.recordRefused(calls.first, error: AIQueryError(.rateLimited, message))
            throw ServingError(.tooManyRequests, "REQUEST_LIMIT_EXCEEDED", message, retryAfter: seconds)
        }
    }

    private func prepare(_ inputs: [ModelInput], _ plan: CallPlan) throws(ServingError) -> [PreparedCall] {
        do {
            return try inputs.map { input throws(AIQueryError) in try plan.prepare(input, control: CallControl()) }
        } catch {
            throw ServingError(error, endpoint: plan.endpoint.name)
        }
    }

    private func unwrap(_ answer: Result<ModelResponse, AIQueryError>, _ request: ServingRequest) throws(ServingError) -> ModelResponse {
        switch answer {
        case .success(let response): return response
        case .failure(let error): throw ServingError(error, endpoint: request.endpoint)
        }
    }

    /// A streamed answer: the status waits for the first piece of text, so a request that fails before it (an
    /// unknown endpoint, the upstream down after every retry) gets its own status and error as a whole request
    /// does; from then on each piece goes out as it comes, and a failure is an error event. A caller that has
    /// hung up is found out at the next piece, whose write fails: that cancels the upstream request. (Watching
    /// the connection's closeFuture instead kept every stream's task alive for as long as a kept-alive
    /// connection lived: 7.5 KB a request.)
    private func streamed(
        _ call: PreparedCall, plan: CallPlan, task: EndpointTask, request: ServingRequest, permit: LimitPermit?
    ) async throws(ServingError) -> Response {
        enum Event: Sendable {
            case piece(String)
            case end(Result<ModelResponse, AIQueryError>)
        }
        let (events, sink) = AsyncStream<Event>.makeStream()
        let (opening, opened) = AsyncStream<AIQueryError?>.makeStream()
        let pipeline = state.pipeline
        let producer = Task {
            let begun = SharedFlag()
            let result = await pipeline.stream(call, plan: plan) { piece in
                if !begun.isSet {
                    begun.set()
                    opened.yield(nil)
                }
                sink.yield(.piece(piece))
            }
            permit?.finish(actualTokens: (try? result.get())?.usage?.total ?? 0)
            if !begun.isSet, case .failure(let error) = result { opened.yield(error) }
            opened.finish()
            sink.yield(.end(result))
            sink.finish()
        }
        let failure: AIQueryError?? = await withTaskCancellationHandler {
            var first: AIQueryError?? = .none
            for await value in opening {
                first = .some(value)
                break
            }
            return first
        } onCancel: {
            producer.cancel()
        }
        if case .some(.some(let error)) = failure { throw ServingError(error, endpoint: request.endpoint) }
        let chunks = StreamChunks(task: task, endpoint: request.endpoint, key: call.key)
        let redactor = state.redactor
        let endpoint = request.endpoint
        var headers: HTTPFields = [
            .contentType: "text/event-stream", .cacheControl: "no-cache",
            HTTPField.Name("served-model-name")!: plan.endpoint.model ?? plan.endpoint.name,
        ]
        // Known once the first words are here: a replay from the cache made no upstream call.
        headers[HTTPField.Name("x-aiquery-cache")!] = plan.tally.snapshot.calls == 0 ? "hit" : "miss"
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                do {
                    var first = true
                    for await event in events {
                        switch event {
                        case .piece(let text):
                            try await writer.write(chunks.delta(text, first: first))
                            first = false
                        case .end(.success(let response)):
                            try await writer.write(chunks.end(response))
                        case .end(.failure(let error)):
                            try await writer.write(chunks.failure(ServingError(error, endpoint: endpoint), redactor: redactor))
                        }
                    }
                    try await writer.finish(nil)
                } catch {
                    producer.cancel()
                    throw error
                }
            })
    }

    /// `x-aiquery-cache` (hit, miss, or partial for embeddings some of whose inputs were cached) and, for a priced
    /// endpoint, `x-aiquery-cost-usd`: what the pages show beside an answer.
    static func describeSpending(of plan: CallPlan, in headers: inout HTTPFields) {
        let counts = plan.tally.snapshot
        headers[HTTPField.Name("x-aiquery-cache")!] = counts.calls == 0 ? "hit" : counts.cacheHits > 0 ? "partial" : "miss"
        if let price = plan.endpoint.price {
            headers[HTTPField.Name("x-aiquery-cost-usd")!] = String(price.cost(input: counts.inputTokens, output: counts.outputTokens))
        }
    }
}
