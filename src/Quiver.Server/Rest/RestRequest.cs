using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Grpc.Core;
using Microsoft.AspNetCore.Http;
using Quiver.Server.Milvus;

namespace Quiver.Server.Rest;

/// <summary>
/// One REST v2 request: its parsed JSON body, with typed accessors that fail with Milvus's REST codes (1801 for a
/// value of the wrong shape, 1802 for a missing required parameter, both naming the parameter's JSON path), and
/// <see cref="CallAsync{TRequest,TResponse}"/>, which runs one MilvusService RPC through the <see cref="CallPipeline"/>
/// exactly as a gRPC call would (gate, limits, metrics, error mapping). A failed RPC throws
/// <see cref="MilvusException"/> with the RPC's own code and reason, which the endpoint answers as
/// <c>{"code":..,"message":..}</c>.
/// </summary>
internal sealed class RestRequest
{
    private readonly CallPipeline _pipeline;

    /// <summary>A request over <paramref name="http"/> with the parsed <paramref name="body"/>.</summary>
    public RestRequest(HttpContext http, JsonElement body, MilvusGrpcService service, CallPipeline pipeline, string requestId)
    {
        Http = http;
        Root = body;
        Body = JsonObject.Create(body)!;
        Service = service;
        _pipeline = pipeline;
        RequestId = requestId;
        Context = new RestCallContext(http);
        Credential = BearerToken(http.Request);
        var dbName = OptionalString("dbName");
        var header = http.Request.Headers["DB-Name"].ToString();
        Database = !string.IsNullOrEmpty(dbName) ? dbName : header.Length > 0 ? header : null;
        AllowInt64 = bool.TryParse(http.Request.Headers["Accept-Type-Allow-Int64"].ToString(), out var allow) && allow;
    }

    /// <summary>The <c>Authorization: Bearer</c> token of <paramref name="request"/>, or null when there is none.</summary>
    public static string? BearerToken(HttpRequest request)
    {
        var auth = request.Headers.Authorization.ToString();
        if (!auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        var token = auth["Bearer ".Length..].Trim();
        return token.Length == 0 ? null : token;
    }

    /// <summary>The HTTP request.</summary>
    public HttpContext Http { get; }

    /// <summary>The request body (an empty object for an empty body).</summary>
    public JsonObject Body { get; }

    /// <summary>The request body as parsed, for readers that want its values without building nodes (rows).</summary>
    public JsonElement Root { get; }

    /// <summary>The rows of an insert or upsert body kept as text (<see cref="RestRowsBody"/>), or null when the body was
    /// parsed whole; <see cref="Body"/> then holds <c>data</c> as 0.</summary>
    public RestRowsBody? Rows { get; init; }

    /// <summary>Set by an endpoint that writes its <c>data</c> itself (rows straight from columns); the endpoint then
    /// returns null.</summary>
    public Action<Utf8JsonWriter>? WriteData { get; set; }

    /// <summary>The gRPC service whose handlers perform the RPCs.</summary>
    public MilvusGrpcService Service { get; }

    /// <summary>The call context handed to the handlers.</summary>
    public RestCallContext Context { get; }

    /// <summary>The request id, shared by every RPC of the request and returned in <c>X-Request-Id</c>.</summary>
    public string RequestId { get; }

    /// <summary>The <c>Authorization: Bearer</c> token, raw (<c>user:password</c> or an API key), or null.</summary>
    public string? Credential { get; }

    /// <summary>The body's <c>dbName</c>, else the <c>DB-Name</c> header, else null (<c>default</c>).</summary>
    public string? Database { get; }

    /// <summary>The database the request acts on.</summary>
    public string DatabaseOrDefault => Database ?? "default";

    /// <summary>Whether the client asked for Int64 values as JSON numbers (<c>Accept-Type-Allow-Int64: true</c>); Milvus
    /// otherwise sends them as strings, since JavaScript numbers lose precision beyond 2^53.</summary>
    public bool AllowInt64 { get; }

    /// <summary>Top-level response members besides <c>code</c> and <c>data</c> (e.g. search's <c>topks</c>).</summary>
    public JsonObject Extra { get; } = [];

    /// <summary>Runs the RPC <paramref name="method"/> through the pipeline and returns its response; throws
    /// <see cref="MilvusException"/> when the response carries an error status. <paramref name="searches"/>: the call's
    /// searches as the endpoint read them (<see cref="CallInfo.Searches"/>).</summary>
    public async Task<TResponse> CallAsync<TRequest, TResponse>(string method, TRequest request,
        UnaryServerMethod<TRequest, TResponse> handler, IReadOnlyList<Milvus.Data.TypedSearch>? searches = null, long? writeRows = null)
        where TRequest : class
        where TResponse : class
    {
        var response = await TryCallAsync(method, request, handler, searches, writeRows).ConfigureAwait(false);
        var status = CallPipeline.StatusOf(response);
        if (status is not null && status.Code != MilvusCode.Success)
        {
            throw new MilvusException(status.Code, status.Reason);
        }
        return response;
    }

    /// <summary>The <see cref="HttpContext.Items"/> key of a <see cref="RestRpcForward"/> that performs the RPCs of this
    /// request in place of <see cref="Service"/>'s handlers.</summary>
    internal static readonly object ForwardKey = new();

    /// <summary>Runs the RPC <paramref name="method"/> through the pipeline and returns its response, error status
    /// included.</summary>
    public Task<TResponse> TryCallAsync<TRequest, TResponse>(string method, TRequest request,
        UnaryServerMethod<TRequest, TResponse> handler, IReadOnlyList<Milvus.Data.TypedSearch>? searches = null, long? writeRows = null)
        where TRequest : class
        where TResponse : class
    {
        Context.Rpc = method;
        if (Http.Items.TryGetValue(ForwardKey, out var item) && item is RestRpcForward forward)
        {
            // A forwarded RPC travels as its message alone: a search whose settings are typed, or a request read without
            // a message (search, query, get, delete, insert, upsert), has none. (No node forwards those endpoints; see RestRouting.Forwards.)
            if (searches is not null || writeRows is not null || request is not Google.Protobuf.IMessage)
            {
                throw new InvalidOperationException($"{method}: a request read without a Milvus message cannot be forwarded as one");
            }
            // A cluster node performs the RPC itself (MilvusRestV2.Cluster.cs).
            handler = async (r, c) => (TResponse)(object)await forward(method, (Google.Protobuf.IMessage)r, c).ConfigureAwait(false);
        }
        var call = new CallInfo
        {
            Method = method,
            Transport = "rest",
            RequestId = RequestId,
            Database = Database,
            Credential = Credential,
            Peer = Context.Peer,
            Polling = Console.ConsolePolls.IsPoll(Http, method),
            Searches = searches,
            WriteRows = writeRows,
        };
        return _pipeline.RunAsync(call, request, Context, handler);
    }

    /// <summary>Runs <paramref name="handler"/> as a step of the call in progress: an endpoint that performs several RPCs
    /// (describe, create with indexes, load state) runs them inside the one call the pipeline gated and counts under
    /// the RPC the endpoint stands for, as Milvus's REST server does, so that security, limits, metrics and the audit
    /// log see one REST request once. Throws <see cref="MilvusException"/> when the step answers an error status; the
    /// enclosing call answers it.</summary>
    public async Task<TResponse> StepAsync<TRequest, TResponse>(string method, TRequest request,
        UnaryServerMethod<TRequest, TResponse> handler)
        where TRequest : class, Google.Protobuf.IMessage
        where TResponse : class
    {
        AuthorizeStep(method, request);
        var response = await handler(request, Context).ConfigureAwait(false);
        if (CallPipeline.StatusOf(response) is { } status && status.Code != MilvusCode.Success)
        {
            throw new MilvusException(status.Code, status.Reason);
        }
        return response;
    }

    /// <summary>As <see cref="StepAsync{TRequest,TResponse}"/>, but a step refused with a Milvus or engine error answers
    /// its response carrying that status, as the pipeline would have answered it, for endpoints that report a failed
    /// part and go on. Anything else (a bug) fails the whole call, which the pipeline logs.</summary>
    public async Task<TResponse> TryStepAsync<TRequest, TResponse>(string method, TRequest request,
        UnaryServerMethod<TRequest, TResponse> handler)
        where TRequest : class, Google.Protobuf.IMessage
        where TResponse : class
    {
        try
        {
            AuthorizeStep(method, request);
            return await handler(request, Context).ConfigureAwait(false);
        }
        catch (Exception e) when (e is MilvusException or QuiverException)
        {
            return CallPipeline.WithStatus<TResponse>(MilvusStatus.FromException(e), e);
        }
    }

    /// <summary>The caller's privilege for the step <paramref name="method"/>, checked as Milvus's REST server checks each
    /// RPC an endpoint performs; the first step, the call's own RPC, was checked by the gate.</summary>
    private void AuthorizeStep(string method, Google.Protobuf.IMessage request)
    {
        if (method != Context.Rpc && Context.UserState.TryGetValue(CallInfo.Key, out var value) && value is CallInfo call)
        {
            _pipeline.AuthorizeStep(call, method, request);
        }
    }

    /// <summary>A required string parameter (non-empty).</summary>
    public string RequiredString(string name) =>
        OptionalString(name) is { Length: > 0 } value ? value : throw Missing(name, "string");

    /// <summary>An optional string parameter, or null when absent or JSON null.</summary>
    public string? OptionalString(string name) => StringOf(Body[name], "$." + name);

    /// <summary>An optional integer parameter.</summary>
    public long? OptionalLong(string name) => Body[name] is { } node ? LongOf(node, "$." + name) : null;

    /// <summary>An optional boolean parameter (JSON true/false, or the strings "true"/"false").</summary>
    public bool? OptionalBool(string name) => Body[name] is { } node ? BoolOf(node, "$." + name) : null;

    /// <summary>An optional list of strings (a single string counts as a list of one).</summary>
    public List<string>? OptionalStrings(string name) => StringsOf(Body[name], "$." + name);

    /// <summary>An optional JSON object parameter.</summary>
    public JsonObject? OptionalObject(string name) => ObjectOf(Body[name], "$." + name);

    /// <summary>A required non-empty JSON array parameter.</summary>
    public JsonArray RequiredArray(string name) => Body[name] switch
    {
        JsonArray { Count: > 0 } array => array,
        null or JsonArray => throw Missing(name, "non-empty array"),
        _ => throw Format("$." + name, "must be an array"),
    };

    /// <summary>A required non-empty JSON array parameter, as the parsed element (no nodes built).</summary>
    public JsonElement RequiredArrayElement(string name) =>
        !Root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null
            || (value.ValueKind == JsonValueKind.Array && value.GetArrayLength() == 0)
            ? throw Missing(name, "non-empty array")
            : value.ValueKind == JsonValueKind.Array ? value : throw Format("$." + name, "must be an array");

    /// <summary>A missing required parameter: Milvus's code 1802.</summary>
    public static MilvusException Missing(string path, string kind) =>
        new(MilvusCode.MissingRequiredParameters,
            $"missing required parameters, error: '{path}' ({kind}) is required in the request body");

    /// <summary>A value of the wrong shape: Milvus's code 1801.</summary>
    public static MilvusException Format(string path, string problem) =>
        new(MilvusCode.IncorrectParameterFormat, $"invalid parameter format, error: {path} {problem}");

    /// <summary>The string at <paramref name="path"/>, or null.</summary>
    public static string? StringOf(JsonNode? node, string path) => node switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => TextOf(v, path),
        _ => throw Format(path, $"must be a string, got {KindOf(node)}"),
    };

    /// <summary>The text of the JSON string <paramref name="node"/>. A string that is not valid UTF-16 (an escaped lone
    /// surrogate such as <c>"\uD800"</c>, which JSON's grammar allows) answers 1801 naming <paramref name="path"/>.</summary>
    public static string TextOf(JsonNode node, string path)
    {
        try
        {
            return node.GetValue<string>();
        }
        catch (InvalidOperationException)
        {
            throw Format(path, "is not a valid string: it holds an unpaired UTF-16 surrogate escape");
        }
    }

    /// <summary>The integer at <paramref name="path"/> (a JSON integer or a string holding one).</summary>
    public static long LongOf(JsonNode node, string path)
    {
        if (node is JsonValue v)
        {
            var kind = v.GetValueKind();
            if (kind == JsonValueKind.Number && v.TryGetValue<long>(out var number))
            {
                return number;
            }
            if (kind == JsonValueKind.String
                && long.TryParse(TextOf(v, path), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var parsed))
            {
                return parsed;
            }
            if (kind == JsonValueKind.Number && v.TryGetValue<double>(out var real) && real == Math.Floor(real)
                && Math.Abs(real) < 9.007199254740992e15)
            {
                return (long)real;
            }
        }
        throw Format(path, $"must be an integer, got {Describe(node)}");
    }

    /// <summary>The number at <paramref name="path"/> (a JSON number or a string holding one).</summary>
    public static double DoubleOf(JsonNode node, string path)
    {
        if (node is JsonValue v)
        {
            var kind = v.GetValueKind();
            if (kind == JsonValueKind.Number)
            {
                return v.GetValue<double>();
            }
            if (kind == JsonValueKind.String
                && double.TryParse(TextOf(v, path), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed))
            {
                return parsed;
            }
        }
        throw Format(path, $"must be a number, got {Describe(node)}");
    }

    /// <summary>The boolean at <paramref name="path"/>.</summary>
    public static bool BoolOf(JsonNode node, string path) => node.GetValueKind() switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.String when bool.TryParse(TextOf(node, path), out var b) => b,
        _ => throw Format(path, $"must be a boolean, got {Describe(node)}"),
    };

    /// <summary>The list of strings at <paramref name="path"/>, or null.</summary>
    public static List<string>? StringsOf(JsonNode? node, string path)
    {
        switch (node)
        {
            case null:
                return null;
            case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                return [TextOf(v, path)];
            case JsonArray array:
                var list = new List<string>(array.Count);
                for (var i = 0; i < array.Count; i++)
                {
                    list.Add(StringOf(array[i], $"{path}[{i}]") ?? throw Format($"{path}[{i}]", "must be a string, got null"));
                }
                return list;
            default:
                throw Format(path, $"must be a list of strings, got {KindOf(node)}");
        }
    }

    /// <summary>The object at <paramref name="path"/>, or null.</summary>
    public static JsonObject? ObjectOf(JsonNode? node, string path) => node switch
    {
        null => null,
        JsonObject o => o,
        _ => throw Format(path, $"must be an object, got {KindOf(node)}"),
    };

    /// <summary>A parameter value as Milvus passes it on in key-value pairs: strings as is, anything else as JSON.</summary>
    public static string ParamText(JsonNode? node) => node switch
    {
        null => "",
        JsonValue v when v.GetValueKind() == JsonValueKind.String => TextOf(v, $"{v.GetPath()}"),
        _ => node.ToJsonString(),
    };

    /// <summary>The JSON kind of a node, for messages.</summary>
    public static string KindOf(JsonNode? node) => node is null ? "null" : node.GetValueKind().ToString().ToLowerInvariant();

    private static string Describe(JsonNode node)
    {
        var text = node.ToJsonString();
        return $"{KindOf(node)} {Utf16Text.Clip(text, 40)}";
    }
}
