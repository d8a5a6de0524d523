using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Quiver.Protocol.Milvus;
using Quiver.Server.Rest;
using Quiver.Testing;
using KeyValuePair = Quiver.Protocol.Common.KeyValuePair;

namespace Quiver.Server.Tests.Fuzz;

/// <summary>The wire a case goes over.</summary>
internal enum FuzzSurface
{
    Grpc,
    Rest,
}

/// <summary>One fuzz input, rebuilt exactly by <see cref="Make"/> from its seed and index.</summary>
internal sealed record FuzzCase(int Seed, long Index, FuzzSurface Surface, string Method, byte[] Payload, bool Mutated)
{
    /// <summary>The case number <paramref name="index"/> of the run seeded <paramref name="seed"/>: gRPC or REST,
    /// generated or mutated, each about half the time.</summary>
    public static FuzzCase Make(int seed, long index)
    {
        var r = new Random(unchecked((seed * 1_000_003) ^ (int)index ^ (int)(index >> 32) * 7919));
        var mutated = r.Chance(0.4);
        if (r.Chance(0.5))
        {
            var (method, request) = GrpcCases.Generate(r);
            var bytes = request.ToByteArray();
            return new FuzzCase(seed, index, FuzzSurface.Grpc, method, mutated ? GrpcCases.Mutate(r, bytes) : bytes, mutated);
        }
        var (path, body) = RestCases.Generate(r);
        return new FuzzCase(seed, index, FuzzSurface.Rest, path, mutated ? RestCases.Mutate(r, body) : Encoding.UTF8.GetBytes(body.ToJsonString()), mutated);
    }

    /// <summary>The input as a person can read it: the parsed message (gRPC) or the body text (REST), cut at 2,000
    /// characters, and the raw bytes in base64 when they are not text.</summary>
    public string Describe()
    {
        var text = Surface == FuzzSurface.Grpc ? GrpcText() : RestText();
        return $"seed {Seed}, case {Index}: {Surface} {Method} ({(Mutated ? "mutated" : "generated")}, {Payload.Length} bytes)\n  input: {Cut(text)}";
    }

    private string GrpcText()
    {
        try
        {
            return WireFuzzer.MethodOf(Method).InputType.Parser.ParseFrom(Payload).ToString() + "\n  bytes (base64): " + Cut(Convert.ToBase64String(Payload));
        }
        catch (InvalidProtocolBufferException)
        {
            return "(not a valid message) bytes (base64): " + Cut(Convert.ToBase64String(Payload));
        }
    }

    private string RestText()
    {
        try
        {
            return new UTF8Encoding(false, true).GetString(Payload);
        }
        catch (DecoderFallbackException)
        {
            return "(not UTF-8) bytes (base64): " + Convert.ToBase64String(Payload);
        }
    }

    private static string Cut(string text) => text.Length <= 2000 ? text : text[..2000] + $"... ({text.Length} chars)";
}

/// <summary>
/// Runs fuzz cases against one in-process server (loopback, stopped on dispose) over both wires. Each answer must be a
/// success or a Milvus error with a specific code: code 65535, an unreadable answer, an HTTP 5xx, a gRPC failure other
/// than the transport's own refusal of an unparsable message, or no answer within the hang guard is a failure. After
/// each batch the server must still answer a gRPC health check and <c>GET /healthz</c>. Fixture collections
/// (<see cref="FuzzCollection.Fixtures"/>) are put back after each batch, and everything is dropped and recreated every
/// <see cref="ResetEvery"/> cases so that a long run keeps a bounded catalog and row count.
/// </summary>
internal sealed class WireFuzzer : IAsyncDisposable
{
    /// <summary>Cases between health checks.</summary>
    public const int BatchSize = 200;

    /// <summary>Cases between full resets of the catalog.</summary>
    public const int ResetEvery = 20_000;

    private const int Parallelism = 4;

    /// <summary>A generous bound so that a hang fails the case instead of the run; never a timing assertion.</summary>
    private static readonly TimeSpan _hangGuard = TimeSpan.FromSeconds(90);

    /// <summary>The REST body size limit of the fuzzed server (it runs with the default options).</summary>
    private static readonly int _maxBodyBytes = new Hosting.ServerOptions().Security.MaxMessageBytes;

    private readonly TestServer _server;
    private readonly CallInvoker _invoker;

    private WireFuzzer(TestServer server)
    {
        _server = server;
        _invoker = server.Channel.CreateCallInvoker();
    }

    public TestServer Server => _server;

    /// <summary>The errors the server logged (the detail behind an internal-error answer).</summary>
    private ErrorLog Log { get; init; } = new();

    public static async Task<WireFuzzer> StartAsync()
    {
        var log = new ErrorLog();
        var server = await TestServer.StartAsync(logging: l => l.AddProvider(log));
        var fuzzer = new WireFuzzer(server) { Log = log };
        await fuzzer.EnsureFixturesAsync();
        return fuzzer;
    }

    /// <summary>The descriptor of the MilvusService method <paramref name="name"/>.</summary>
    public static MethodDescriptor MethodOf(string name) =>
        MilvusService.Descriptor.FindMethodByName(name) ?? throw new ArgumentException($"no MilvusService method {name}", nameof(name));

    /// <summary>Runs cases <paramref name="first"/> .. <paramref name="first"/> + <paramref name="count"/> - 1 of
    /// <paramref name="seed"/>. Returns the failures (empty when all passed).</summary>
    public async Task<IReadOnlyList<string>> RunAsync(int seed, long first, long count, CancellationToken ct = default)
    {
        var failures = new ConcurrentBag<string>();
        var failed = new ConcurrentBag<FuzzCase>();
        var progress = Path.Combine(Path.GetTempPath(), "quiver-wire-fuzz.progress");
        for (var start = first; start < first + count; start += BatchSize)
        {
            if (start > first && (start - first) % ResetEvery == 0)
            {
                await ResetAsync();
            }
            var end = Math.Min(start + BatchSize, first + count);
            // Written before the batch runs, so that a run that dies names the batch that killed it.
            await File.WriteAllTextAsync(progress, $"seed {seed}, cases {start}..{end - 1}\n", ct);
            await Parallel.ForAsync(start, end, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = ct }, async (i, token) =>
            {
                var fuzzCase = FuzzCase.Make(seed, i);
                var verdict = await RunCaseAsync(fuzzCase);
                if (verdict.Failure is { } failure)
                {
                    failed.Add(fuzzCase);
                    failures.Add(fuzzCase.Describe() + "\n  answer: " + failure);
                }
            });
            // Replayed alone on the fixtures, so that what the server logged belongs to the case.
            if (!failed.IsEmpty)
            {
                await EnsureFixturesAsync();
            }
            while (failed.TryTake(out var again))
            {
                Log.Clear();
                await RunCaseAsync(again);
                failures.Add($"seed {seed}, case {again.Index} replayed alone; the server logged: {Log.Text()}");
            }
            if (await HealthProblemAsync() is { } problem)
            {
                failures.Add($"seed {seed}: after cases {start}..{end - 1} the server no longer answers: {problem}");
                break;
            }
            if (failures.Count >= 50)
            {
                break;
            }
            await EnsureFixturesAsync();
        }
        return [.. failures];
    }

    /// <summary>Sends one case and classifies its answer.</summary>
    public async Task<FuzzVerdict> RunCaseAsync(FuzzCase fuzzCase) => fuzzCase.Surface == FuzzSurface.Grpc
        ? await GrpcAsync(fuzzCase.Method, fuzzCase.Payload)
        : await RestAsync(fuzzCase.Method, fuzzCase.Payload);

    private async Task<FuzzVerdict> GrpcAsync(string name, byte[] payload)
    {
        var descriptor = MethodOf(name);
        byte[] answer;
        try
        {
            answer = await RawGrpc.CallAsync(_invoker, name, payload, new CallOptions(deadline: DateTime.UtcNow + _hangGuard));
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.DeadlineExceeded)
        {
            return FuzzVerdict.Fail($"no answer within {_hangGuard.TotalSeconds:0} s (hang)");
        }
        catch (RpcException e) when (IsTransportRefusal(e, descriptor, payload))
        {
            return FuzzVerdict.Pass;
        }
        catch (RpcException e)
        {
            return FuzzVerdict.Fail($"gRPC status {e.StatusCode}: {e.Status.Detail}");
        }
        IMessage response;
        try
        {
            response = descriptor.OutputType.Parser.ParseFrom(answer);
        }
        catch (InvalidProtocolBufferException e)
        {
            return FuzzVerdict.Fail($"unreadable {descriptor.OutputType.Name}: {e.Message}");
        }
        var status = Milvus.CallPipeline.StatusOf(response);
        if (status is null)
        {
            return FuzzVerdict.Fail($"{descriptor.OutputType.Name} without a status");
        }
        return Judge(status.Code, status.Reason);
    }

    /// <summary>The refusal of a message that does not parse as the RPC's request (docs/errors.md,
    /// <c>grpc-malformed-request</c>: INVALID_ARGUMENT naming the message, checked here by parsing the payload as the
    /// server would; UNKNOWN, grpc-dotnet's own answer, fails) or of one over the size limit. SDKs never send these.</summary>
    private static bool IsTransportRefusal(RpcException e, MethodDescriptor method, byte[] payload)
    {
        if (e.StatusCode == StatusCode.ResourceExhausted)
        {
            return true;
        }
        if (e.StatusCode != StatusCode.InvalidArgument
            || !e.Status.Detail.StartsWith($"the request is not a valid {method.InputType.Name} message: ", StringComparison.Ordinal))
        {
            return false;
        }
        try
        {
            method.InputType.Parser.ParseFrom(payload);
            return false;
        }
        catch (InvalidProtocolBufferException)
        {
            return true;
        }
    }

    private async Task<FuzzVerdict> RestAsync(string path, byte[] body)
    {
        using var cts = new CancellationTokenSource(_hangGuard);
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        HttpResponseMessage response;
        try
        {
            response = await _server.Http.PostAsync(new Uri(MilvusRestV2.Prefix + path, UriKind.Relative), content, cts.Token);
        }
        catch (TaskCanceledException) when (cts.IsCancellationRequested)
        {
            return FuzzVerdict.Fail($"no answer within {_hangGuard.TotalSeconds:0} s (hang)");
        }
        catch (HttpRequestException e)
        {
            return FuzzVerdict.Fail("connection failed: " + e.Message);
        }
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cts.Token);
            var http = (int)response.StatusCode;
            if (http >= 500)
            {
                return FuzzVerdict.Fail($"HTTP {http}: {text}");
            }
            JsonObject? json;
            try
            {
                json = JsonNode.Parse(text) as JsonObject;
            }
            catch (JsonException)
            {
                json = null;
            }
            if (json?["code"] is not JsonValue codeValue || !codeValue.TryGetValue<int>(out var code))
            {
                return FuzzVerdict.Fail($"HTTP {http}, not a Milvus answer: {text}");
            }
            var message = json["message"]?.GetValue<string>() ?? "";
            var expectedHttp = ExpectedHttp(code, body.Length);
            if (http != expectedHttp)
            {
                return FuzzVerdict.Fail($"HTTP {http} for code {code} (expected {expectedHttp}): {text}");
            }
            return Judge(code, message);
        }
    }

    /// <summary>The HTTP status MilvusRestV2 gives an answer of <paramref name="code"/>: 401/403 for credentials and
    /// privileges; 413 for a body over the size limit and 429 for the in-flight budget, both refused before the body is
    /// read; 200 otherwise (1102 from the result budget or a capacity check comes after the body, so it is 200).</summary>
    private static int ExpectedHttp(int code, int bodyLength) => code switch
    {
        Milvus.MilvusCode.NotAuthenticated or Milvus.MilvusCode.NeedAuthenticate => 401,
        Milvus.MilvusCode.PrivilegeNotPermitted => 403,
        Milvus.MilvusCode.ParameterTooLarge when bodyLength > _maxBodyBytes => 413,
        Milvus.MilvusCode.RequestLimitExceeded => 429,
        _ => 200,
    };

    private static FuzzVerdict Judge(int code, string reason) => (code switch
    {
        Milvus.MilvusCode.Unexpected => FuzzVerdict.Fail($"code 65535: {reason}"),
        0 => FuzzVerdict.Pass,
        _ when string.IsNullOrWhiteSpace(reason) => FuzzVerdict.Fail($"code {code} without a message"),
        _ => FuzzVerdict.Pass,
    }) with { Code = code, Reason = reason };

    /// <summary>Null when the server answers both health calls, else what went wrong.</summary>
    public async Task<string?> HealthProblemAsync()
    {
        try
        {
            var health = await _server.Milvus.CheckHealthAsync(new CheckHealthRequest(), deadline: DateTime.UtcNow + _hangGuard);
            if (!health.IsHealthy)
            {
                return "CheckHealth answered unhealthy";
            }
            using var cts = new CancellationTokenSource(_hangGuard);
            using var response = await _server.Http.GetAsync(new Uri("/healthz", UriKind.Relative), cts.Token);
            return response.IsSuccessStatusCode ? null : $"GET /healthz answered {(int)response.StatusCode}";
        }
        catch (Exception e) when (e is RpcException or HttpRequestException or TaskCanceledException)
        {
            return e.GetType().Name + ": " + e.Message;
        }
    }

    /// <summary>Puts back the fixture collections (created, indexed, loaded, 30 rows) and the database <c>fzdb</c>.</summary>
    public async Task EnsureFixturesAsync()
    {
        var milvus = _server.Milvus;
        var dbs = await milvus.ListDatabasesAsync(new ListDatabasesRequest());
        if (!dbs.DbNames.Contains("fzdb"))
        {
            Check(await milvus.CreateDatabaseAsync(new CreateDatabaseRequest { DbName = "fzdb" }), "create fzdb");
        }
        foreach (var fixture in FuzzCollection.Fixtures)
        {
            var has = await milvus.HasCollectionAsync(new HasCollectionRequest { CollectionName = fixture.Name });
            if (has.Value && !await HasFixtureSchemaAsync(fixture))
            {
                // A fuzz case dropped the fixture and created another collection, or renamed one, under its name.
                await DropWithAliasesAsync("default", fixture.Name);
                has.Value = false;
            }
            if (!has.Value)
            {
                await CreateFixtureAsync(fixture);
            }
            else if (fixture.Loaded)
            {
                var state = await milvus.GetLoadStateAsync(new GetLoadStateRequest { CollectionName = fixture.Name });
                if (state.State != Quiver.Protocol.Common.LoadState.Loaded)
                {
                    await LoadFixtureAsync(fixture);
                }
            }
        }
    }

    private async Task<bool> HasFixtureSchemaAsync(FuzzCollection fixture)
    {
        var described = await _server.Milvus.DescribeCollectionAsync(new DescribeCollectionRequest { CollectionName = fixture.Name });
        var names = described.Schema?.Fields.Where(f => !f.IsDynamic).Select(f => (f.Name, f.DataType)) ?? [];
        return described.Status.Code == 0 && names.SequenceEqual(fixture.Fields.Select(f => (f.Name, f.Type)));
    }

    private async Task CreateFixtureAsync(FuzzCollection fixture)
    {
        var milvus = _server.Milvus;
        Check(await milvus.CreateCollectionAsync(new CreateCollectionRequest { CollectionName = fixture.Name, Schema = fixture.SchemaBytes(), ShardsNum = 1 }),
            "create " + fixture.Name);
        var random = new Random(fixture.Name.Length);
        const int Rows = 30;
        var insert = new InsertRequest { CollectionName = fixture.Name, NumRows = Rows };
        insert.FieldsData.AddRange(fixture.Fields.Where(f => !f.AutoId).Select(f => f.Primary
            ? KeyColumn(f, Rows)
            : GrpcCases.Column(random, f with { Nullable = false }, Rows, twist: false)));
        var inserted = await milvus.InsertAsync(insert);
        Check(inserted.Status, "seed " + fixture.Name);
        if (fixture.Loaded)
        {
            await LoadFixtureAsync(fixture);
        }
    }

    private async Task LoadFixtureAsync(FuzzCollection fixture)
    {
        var milvus = _server.Milvus;
        var indexes = await milvus.DescribeIndexAsync(new DescribeIndexRequest { CollectionName = fixture.Name });
        if (indexes.IndexDescriptions.All(i => i.FieldName != fixture.Vector.Name))
        {
            var index = new CreateIndexRequest { CollectionName = fixture.Name, FieldName = fixture.Vector.Name, IndexName = fixture.Vector.Name };
            index.ExtraParams.Add(new KeyValuePair { Key = "index_type", Value = "FLAT" });
            index.ExtraParams.Add(new KeyValuePair { Key = "metric_type", Value = fixture.Metric });
            Check(await milvus.CreateIndexAsync(index), "index " + fixture.Name);
        }
        Check(await milvus.LoadCollectionAsync(new LoadCollectionRequest { CollectionName = fixture.Name }), "load " + fixture.Name);
    }

    private static Protocol.Schema.FieldData KeyColumn(FuzzField key, int rows)
    {
        var column = new Protocol.Schema.FieldData { FieldName = key.Name, Type = key.Type, Scalars = new Protocol.Schema.ScalarField() };
        if (key.Type == Protocol.Schema.DataType.Int64)
        {
            column.Scalars.LongData = new Protocol.Schema.LongArray { Data = { Enumerable.Range(0, rows).Select(i => (long)i) } };
        }
        else
        {
            column.Scalars.StringData = new Protocol.Schema.StringArray { Data = { Enumerable.Range(0, rows).Select(i => "k" + i.ToString(CultureInfo.InvariantCulture)) } };
        }
        return column;
    }

    /// <summary>Drops every database but <c>default</c> and every collection, then puts the fixtures back.</summary>
    private async Task ResetAsync()
    {
        var milvus = _server.Milvus;
        var dbs = await milvus.ListDatabasesAsync(new ListDatabasesRequest());
        foreach (var db in dbs.DbNames)
        {
            var collections = await milvus.ShowCollectionsAsync(new ShowCollectionsRequest { DbName = db });
            foreach (var collection in collections.CollectionNames)
            {
                await DropWithAliasesAsync(db, collection);
            }
            if (db != "default")
            {
                Check(await milvus.DropDatabaseAsync(new DropDatabaseRequest { DbName = db }), "drop database " + db);
            }
        }
        await EnsureFixturesAsync();
    }

    /// <summary>Drops <paramref name="collection"/> of <paramref name="db"/> after the aliases fuzz cases gave it.</summary>
    private async Task DropWithAliasesAsync(string db, string collection)
    {
        var milvus = _server.Milvus;
        var aliases = await milvus.ListAliasesAsync(new ListAliasesRequest { DbName = db, CollectionName = collection });
        foreach (var alias in aliases.Aliases)
        {
            Check(await milvus.DropAliasAsync(new DropAliasRequest { DbName = db, Alias = alias }), "drop alias " + alias);
        }
        Check(await milvus.DropCollectionAsync(new DropCollectionRequest { DbName = db, CollectionName = collection }), "drop " + collection);
    }

    private static void Check(Protocol.Common.Status status, string what)
    {
        if (status.Code != 0)
        {
            throw new InvalidOperationException($"fuzz fixture: {what} failed with code {status.Code}: {status.Reason}");
        }
    }

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();
}

/// <summary>The classification of one answer: null <see cref="Failure"/> when it passed.</summary>
internal readonly record struct FuzzVerdict(string? Failure)
{
    /// <summary>The Milvus code of the answer (0 for success and for the transport's own refusals).</summary>
    public int Code { get; init; }

    /// <summary>The answer's message.</summary>
    public string? Reason { get; init; }

    public static FuzzVerdict Pass => default;

    public static FuzzVerdict Fail(string why) => new(why);
}

/// <summary>Keeps the errors a server logs (message and exception), for failure reports.</summary>
internal sealed class ErrorLog : ILoggerProvider, ILogger
{
    private readonly ConcurrentQueue<string> _entries = new();

    public ILogger CreateLogger(string categoryName) => this;

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (IsEnabled(logLevel) && _entries.Count < 100)
        {
            _entries.Enqueue(formatter(state, exception) + (exception is null ? "" : "\n" + exception));
        }
    }

    public void Clear() => _entries.Clear();

    public string Text() => _entries.IsEmpty ? "(nothing)" : string.Join("\n", _entries);

    public void Dispose()
    {
    }
}
