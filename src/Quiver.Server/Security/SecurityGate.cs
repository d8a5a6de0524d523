using System.Globalization;
using System.Text;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Quiver.Protocol.Milvus;
using Quiver.Server.Milvus;

namespace Quiver.Server.Security;

/// <summary>
/// The server's <see cref="ISecurityGate"/>. With authentication on it reads the call's credential (gRPC metadata
/// <c>authorization</c> = base64 of <c>user:password</c> or of an API key, as Milvus SDKs send it; REST
/// <c>Authorization: Bearer user:password</c> or <c>Bearer &lt;api key&gt;</c>), then checks the caller's privilege for
/// the RPC as Milvus annotates it (<see cref="PrivilegeTable"/>). Always, with authentication on or off, it enforces the
/// request limits and the per-caller rate. Failures are written to the <see cref="AuditLog"/>.
/// </summary>
/// <remarks>
/// Refusals take the form Milvus SDKs see from Milvus: a failed authentication over gRPC is the gRPC status
/// UNAUTHENTICATED (so that the SDK's connect fails instead of reading an empty answer), over REST code 1800; a missing
/// privilege is Milvus code 1401 naming the privilege; a limit is code 1100 (nq, top-k) or 1102 (rows, dimension); the
/// rate limit and the failed-login limit are code 8, retriable. No refusal says whether a user exists or which part of
/// a credential was wrong.
/// </remarks>
internal sealed class SecurityGate(
    SecurityOptions options, SecurityStore? store, AuditLog audit, double failuresPerSecond = 2, double failureBurst = 10, TimeProvider? time = null)
    : ISecurityGate
{
    private const string AuthFailed = "auth check failure, please check username, password or API key are correct";

    /// <summary>RPCs that create or change users, roles, grants or privilege groups.</summary>
    internal static readonly HashSet<string> SecurityChanges = new(StringComparer.Ordinal)
    {
        "CreateCredential", "UpdateCredential", "DeleteCredential", "CreateRole", "DropRole", "OperateUserRole",
        "OperatePrivilege", "OperatePrivilegeV2", "CreatePrivilegeGroup", "DropPrivilegeGroup", "OperatePrivilegeGroup",
    };

    /// <summary>The calls counted against <c>Security:RequestsPerSecondPerUser</c>: those Milvus's rate limiter counts
    /// (its proxy's <c>GetRequestInfo</c>: writes, imports, searches and queries, and the DDL that changes databases,
    /// collections, partitions and indexes, flush and compaction), plus hybrid search, which does a search's work per
    /// sub-request, the two calls whose cost grows with their input, <c>RunAnalyzer</c> and <c>CalcDistance</c>, and the
    /// web console's advise and tune runs.
    /// Reads of metadata and progress (describe, show, has, list, load and index state, statistics, version, health)
    /// are not counted, as in Milvus: an SDK polls them while it waits for a load or an index.</summary>
    internal static readonly HashSet<string> RateLimited = new(StringComparer.Ordinal)
    {
        "Insert", "Upsert", "Delete", "Import", "Search", "HybridSearch", "Query",
        "CreateCollection", "DropCollection", "LoadCollection", "ReleaseCollection",
        "CreatePartition", "DropPartition", "LoadPartitions", "ReleasePartitions",
        "CreateIndex", "DropIndex", "Flush", "ManualCompaction",
        "CreateDatabase", "DropDatabase", "AlterDatabase",
        "RunAnalyzer", "CalcDistance", "ConsoleAdvise", "ConsoleTune",
    };

    private readonly RateLimiter _rate = new(options.RequestsPerSecondPerUser, time: time);

    /// <summary>Failed logins per client address: each costs a PBKDF2 run, so a client that keeps failing is turned
    /// away without hashing (default 2 per second, burst 10) until its bucket refills. Every password check takes a
    /// token before it runs (a correct password gives it back), so concurrent guesses cannot pass the budget.</summary>
    private readonly RateLimiter _failures = new(failuresPerSecond, failureBurst, time);

    /// <inheritdoc />
    public ValueTask CheckAsync(CallInfo call, IMessage? request, CancellationToken cancellationToken)
    {
        var viaApiKey = false;
        if (options.AuthEnabled && store is not null)
        {
            call.User = Authenticate(call, out viaApiKey);
        }
        // The caller's name is built only when there is a limit to count it against (a substring of the peer per call).
        if (_rate.RatePerSecond > 0 && !call.Polling && RateLimited.Contains(call.Method) && !_rate.TryAcquire(call.User ?? PeerHost(call.Peer)))
        {
            throw new MilvusException(MilvusCode.RateLimit,
                $"rate limit exceeded: more than {options.RequestsPerSecondPerUser} requests per second; retry later", retriable: true);
        }
        if (options.AuthEnabled && store is not null)
        {
            Authorize(call, request, viaApiKey);
        }
        else if (SecurityChanges.Contains(call.Method))
        {
            // With authentication off anyone may call; users, roles and grants made then would become real credentials
            // (a planted root password) the moment authentication is turned on.
            throw new MilvusException(MilvusCode.ParameterInvalid,
                $"{call.Method}: authentication is off; users, roles and grants can be managed only with Security:AuthEnabled");
        }
        if (call.Searches is { } typed)
        {
            // REST read its searches itself: their typed values, not the request's search_params pairs.
            foreach (var search in typed)
            {
                CheckSearch(search.Nq, search.Dimension);
                CheckTopK(search.Settings);
            }
        }
        else if (call.WriteRows is { } rows)
        {
            // REST read its rows itself: the count of the body's rows, not a request's num_rows and columns.
            CheckRows(rows, call.Method == "Upsert" ? "upsert" : "insert");
        }
        else if (request is not null)
        {
            CheckLimits(request);
        }
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask AuthenticateAsync(CallInfo call, CancellationToken cancellationToken)
    {
        if (options.AuthEnabled && store is not null)
        {
            call.User = Authenticate(call, out _);
        }
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public void AuthorizeStep(CallInfo call, string method, IMessage request)
    {
        if (!options.AuthEnabled || store is null || call.User is null)
        {
            return;
        }
        var step = new CallInfo
        {
            Method = method,
            Transport = call.Transport,
            RequestId = call.RequestId,
            Database = call.Database,
            Credential = call.Credential,
            Peer = call.Peer,
            User = call.User,
            TargetDatabase = call.TargetDatabase,
            TargetCollection = request.Descriptor.FindFieldByName("collection_name") is { FieldType: FieldType.String, IsRepeated: false } field
                ? (string)field.Accessor.GetValue(request)
                : call.TargetCollection,
        };
        Authorize(step, request, viaApiKey: Decode(call) is { } credential && !credential.Contains(':', StringComparison.Ordinal));
    }

    private string Authenticate(CallInfo call, out bool viaApiKey)
    {
        viaApiKey = false;
        var credential = Decode(call);
        if (credential is null)
        {
            audit.Record(call, "authentication failed: no credential");
            throw Unauthenticated(call, "missing authorization in header");
        }
        var peer = PeerHost(call.Peer);
        if (store!.AuthenticateCached(credential) is { } known)
        {
            viaApiKey = !credential.Contains(':', StringComparison.Ordinal);
            return known;
        }
        // Reserve the guess before hashing: checking for budget and spending it later let every concurrent guess
        // through the check before the first failure was counted.
        if (!_failures.TryAcquire(peer))
        {
            audit.Record(call, "authentication failed: too many failures from this address");
            throw new MilvusException(MilvusCode.RateLimit, string.Create(CultureInfo.InvariantCulture,
                $"too many failed logins from this address (at most {_failures.Capacity} in a row, then {_failures.RatePerSecond} per second); retry later"),
                retriable: true);
        }
        var user = store!.Authenticate(credential);
        if (user is null)
        {
            audit.Record(call, "authentication failed");
            throw Unauthenticated(call, AuthFailed);
        }
        _failures.Refund(peer);
        viaApiKey = !credential.Contains(':', StringComparison.Ordinal);
        return user;
    }

    /// <summary>The credential in its plain form (<c>user:password</c> or an API key), or null when absent or
    /// undecodable.</summary>
    private static string? Decode(CallInfo call)
    {
        var raw = call.Credential?.Trim();
        if (string.IsNullOrEmpty(raw))
        {
            return null;
        }
        if (raw.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            raw = raw["Bearer ".Length..].Trim();
        }
        if (call.Transport != "grpc")
        {
            return raw.Length == 0 ? null : raw;
        }
        var bytes = new byte[raw.Length];
        return Convert.TryFromBase64String(raw, bytes, out var length) && length > 0
            ? Encoding.UTF8.GetString(bytes, 0, length)
            : null;
    }

    private static Exception Unauthenticated(CallInfo call, string reason) => call.Transport == "grpc"
        ? new RpcException(new Grpc.Core.Status(StatusCode.Unauthenticated, reason))
        : new MilvusException(MilvusCode.NeedAuthenticate, "user hasn't authenticated: " + reason);

    private void Authorize(CallInfo call, IMessage? request, bool viaApiKey)
    {
        if (!PrivilegeTable.ByMethod.TryGetValue(call.Method, out var requirement))
        {
            return;
        }
        var user = call.User!;
        var names = ObjectNames(call, request, requirement);
        if (requirement.ObjectType == "User" && names.Count == 1 && names[0] == user)
        {
            return; // Milvus lets users read and update themselves.
        }
        if (request is SelectGrantRequest select && store!.RolesOf(user) is { } roles
            && (roles.Contains(select.Entity?.Role?.Name ?? "") || select.Entity?.Role?.Name == Privileges.PublicRole))
        {
            return; // ... and read the grants of their own roles.
        }
        var database = Privileges.LevelOf(requirement.Privilege) == PrivilegeLevel.Cluster ? Privileges.Any : call.TargetDatabase;
        if (request is RenameCollectionRequest { NewDBName.Length: > 0 } rename && rename.NewDBName != call.TargetDatabase
            && database != Privileges.Any && !store!.IsPermitted(user, requirement.ObjectType, requirement.Privilege, rename.NewDBName, names))
        {
            // Moving a collection into another database creates it there: the caller needs the privilege in both.
            audit.Record(call, "denied " + requirement.Privilege);
            throw new MilvusException(MilvusCode.PrivilegeNotPermitted,
                $"{requirement.Privilege}: permission deny to {(viaApiKey ? "apikey user" : user)} in the `{rename.NewDBName}` database");
        }
        if (store!.IsPermitted(user, requirement.ObjectType, requirement.Privilege, database, names))
        {
            return;
        }
        // Milvus annotates a few collection-level privileges (DescribeCollection, CreateAlias, DropAlias, DescribeAlias,
        // ListAliases) on the Global object; a grant of them on the call's collection (as the Collection* privilege
        // groups give) counts too.
        // Not for AlterAlias: re-pointing an alias takes it away from another collection, which the caller may not own.
        if (requirement.ObjectType == "Global" && call.Method != "AlterAlias" && call.TargetCollection is { Length: > 0 } collection
            && Privileges.LevelOf(requirement.Privilege) == PrivilegeLevel.Collection
            && store.IsPermitted(user, "Collection", requirement.Privilege, database, [collection]))
        {
            return;
        }
        audit.Record(call, "denied " + requirement.Privilege);
        throw new MilvusException(MilvusCode.PrivilegeNotPermitted,
            $"{requirement.Privilege}: permission deny to {(viaApiKey ? "apikey user" : user)} in the `{database}` database");
    }

    private static List<string> ObjectNames(CallInfo call, IMessage? request, PrivilegeRequirement requirement)
    {
        if (requirement.ObjectNamesField is { } many)
        {
            if (request?.Descriptor.FindFieldByName(many) is { IsRepeated: true, FieldType: FieldType.String } field)
            {
                return [.. ((System.Collections.IList)field.Accessor.GetValue(request)).Cast<string>()];
            }
            return [call.TargetCollection ?? Privileges.Any];
        }
        if (requirement.ObjectNameField is not { } single)
        {
            return [Privileges.Any];
        }
        if (request?.Descriptor.FindFieldByName(single) is { IsRepeated: false, FieldType: FieldType.String } one)
        {
            return [(string)one.Accessor.GetValue(request)];
        }
        // SelectUser names its user as an entity message (user.name): the name is the object.
        if (request?.Descriptor.FindFieldByName(single) is { IsRepeated: false, FieldType: FieldType.Message } entity
            && entity.MessageType.FindFieldByName("name") is { IsRepeated: false, FieldType: FieldType.String } name)
        {
            return entity.Accessor.GetValue(request) is IMessage value && (string)name.Accessor.GetValue(value) is { Length: > 0 } named
                ? [named]
                : [Privileges.Any];
        }
        return [single == "collection_name" ? call.TargetCollection ?? Privileges.Any : Privileges.Any];
    }

    // ---- limits ----

    private void CheckLimits(IMessage request)
    {
        switch (request)
        {
            case Protocol.Milvus.SearchRequest search:
                CheckSearch(search);
                break;
            case HybridSearchRequest hybrid:
                foreach (var sub in hybrid.Requests)
                {
                    CheckSearch(sub);
                }
                break;
            case InsertRequest insert:
                Interlocked.Increment(ref _writeMessagesRead);
                CheckRows(RowsOf(insert.NumRows, insert.FieldsData), "insert");
                break;
            case UpsertRequest upsert:
                Interlocked.Increment(ref _writeMessagesRead);
                CheckRows(RowsOf(upsert.NumRows, upsert.FieldsData), "upsert");
                break;
            case CreateCollectionRequest create:
                CheckSchema(create.Schema);
                break;
        }
    }

    /// <summary>How many search requests this gate has read its limits from as Milvus's messages (their placeholder
    /// group and <c>search_params</c> pairs): a count for tests that REST's typed searches are not read this way.</summary>
    internal long SearchMessagesRead => Interlocked.Read(ref _searchMessagesRead);

    private long _searchMessagesRead;

    /// <summary>How many insert and upsert requests this gate has read its row limit from as Milvus's messages: a count
    /// for tests that REST's writes, which count their rows themselves (<see cref="CallInfo.WriteRows"/>), are not.</summary>
    internal long WriteMessagesRead => Interlocked.Read(ref _writeMessagesRead);

    private long _writeMessagesRead;

    private void CheckSearch(Protocol.Milvus.SearchRequest search)
    {
        Interlocked.Increment(ref _searchMessagesRead);
        var (nq, dimension) = Shape(search);
        CheckSearch(nq, dimension);
        // Read top-k as the search handler reads it (a value inside the params JSON wins over the flat pair), so
        // that no spelling slips past the limit.
        CheckTopK(Milvus.Data.SearchParamsParser.Parse(search.SearchParams));
    }

    /// <summary>The query count and dimension of a search message as the limits count them: the larger of the stated
    /// <c>nq</c> and the values sent, and the first vector's dimension.</summary>
    internal static (long Nq, int Dimension) Shape(Protocol.Milvus.SearchRequest search)
    {
        var (vectors, dimension) = search.SearchInputCase == Protocol.Milvus.SearchRequest.SearchInputOneofCase.PlaceholderGroup
            ? Milvus.Data.PlaceholderWire.Count(search.PlaceholderGroup)
            : (search.Ids is null ? 0 : search.Ids.IntId?.Data.Count ?? search.Ids.StrId?.Data.Count ?? 0, 0);
        return (Math.Max(search.Nq, vectors), dimension);
    }

    private void CheckSearch(long nq, int dimension)
    {
        if (nq > options.MaxNq)
        {
            throw new MilvusException(MilvusCode.ParameterInvalid, $"nq ({nq}) is invalid: it should be in range [1, {options.MaxNq}]");
        }
        if (dimension > options.MaxDimension)
        {
            throw new MilvusException(MilvusCode.ParameterTooLarge,
                $"query vector dimension {dimension} exceeds the limit of {options.MaxDimension}");
        }
    }

    private void CheckTopK(Milvus.Data.SearchSettings settings)
    {
        if (settings.TopK > options.MaxTopK || (long)settings.TopK + settings.Offset > options.MaxTopK)
        {
            throw new MilvusException(MilvusCode.ParameterInvalid,
                $"topk [{settings.TopK}] (offset {settings.Offset}) is invalid, topk + offset should be at most {options.MaxTopK}");
        }
    }

    /// <summary>The larger of the stated <c>num_rows</c> and the longest column: a client cannot pass the limit by
    /// stating fewer rows than it sends (the handler infers the count when <c>num_rows</c> is 0).</summary>
    private static long RowsOf(uint numRows, Google.Protobuf.Collections.RepeatedField<Protocol.Schema.FieldData> columns)
    {
        long longest = 0;
        foreach (var column in columns)
        {
            longest = Math.Max(longest, column.ValidData.Count > 0 ? column.ValidData.Count : Wire.FieldDataReader.ColumnLength(column));
        }
        return Math.Max(numRows, longest);
    }

    private void CheckRows(long rows, string what)
    {
        if (rows > options.MaxRowsPerInsert)
        {
            throw new MilvusException(MilvusCode.ParameterTooLarge,
                $"{what} of {rows} rows exceeds the limit of {options.MaxRowsPerInsert} rows per request; split it into batches");
        }
    }

    private void CheckSchema(ByteString schemaBytes)
    {
        if (schemaBytes.IsEmpty)
        {
            return;
        }
        Quiver.Protocol.Schema.CollectionSchema schema;
        try
        {
            schema = Quiver.Protocol.Schema.CollectionSchema.Parser.ParseFrom(schemaBytes);
        }
        catch (InvalidProtocolBufferException)
        {
            return; // the handler reports a malformed schema
        }
        foreach (var field in schema.Fields)
        {
            foreach (var pair in field.TypeParams)
            {
                if (pair.Key == "dim" && long.TryParse(pair.Value, out var dim) && dim > options.MaxDimension)
                {
                    throw new MilvusException(MilvusCode.ParameterTooLarge,
                        $"field '{field.Name}': dimension {dim} exceeds the limit of {options.MaxDimension}");
                }
            }
        }
    }

    /// <summary>The client address of a peer (<c>ipv4:10.0.0.7:5000</c>) without its port: every connection of one
    /// client counts as one caller.</summary>
    internal static string PeerHost(string? peer)
    {
        if (string.IsNullOrEmpty(peer))
        {
            return "";
        }
        var colon = peer.LastIndexOf(':');
        return colon > 0 && peer.StartsWith("ipv", StringComparison.Ordinal) ? peer[..colon] : peer;
    }
}
