namespace Quiver.Server.Milvus.Data;

/// <summary>
/// One query (or get by keys) as the Milvus rules (<see cref="MilvusGrpcService.QueryColumnsAsync(QueryInput, Grpc.Core.ServerCallContext)"/>)
/// take it, whichever transport read it: gRPC wraps its <c>QueryRequest</c> (<see cref="WireQuerySource"/>), REST reads its
/// JSON body straight into these values, with no Milvus message between. What the rules read at a later point (template
/// values, the timezone, the result window) comes from <see cref="Source"/>, so that a request wrong in several ways is
/// refused for the same thing whatever its transport.
/// </summary>
internal sealed class QueryInput : ICallTarget
{
    /// <inheritdoc />
    public string Database { get; init; } = "";

    /// <inheritdoc />
    public required string Collection { get; init; }

    /// <summary>The partitions to read; empty for every loaded one.</summary>
    public IReadOnlyList<string> Partitions { get; init; } = [];

    /// <summary>The output fields as asked for (resolved against the schema by the rules).</summary>
    public IReadOnlyList<string> OutputFields { get; init; } = [];

    /// <summary>The boolean filter; empty for none.</summary>
    public string Filter { get; init; } = "";

    /// <summary>A get by keys: builds the filter from the schema the call looked up (in place of <see cref="Filter"/>),
    /// right after the lookup; null for a query.</summary>
    public Func<CollectionSchema, string>? KeyFilter { get; init; }

    /// <summary>The template values, timezone and window, read when the rules ask for them.</summary>
    public required QuerySource Source { get; init; }
}

/// <summary>What a transport read of a query that the rules read at their own points.</summary>
internal abstract class QuerySource
{
    /// <summary>The filter's template values in the engine's form; null when there are none.</summary>
    public abstract IReadOnlyDictionary<string, object?>? FilterParams();

    /// <summary>The read's own <c>timezone</c>, checked (<see cref="RequestValues.Timezone(string?)"/>); null for none.</summary>
    public abstract string? Timezone();

    /// <summary>The result window: the limit (null for none: every match) and the offset, checked
    /// (<see cref="RequestValues.WindowValue"/>).</summary>
    public abstract (int? Limit, int Offset) Window();
}

/// <summary>A gRPC <c>QueryRequest</c> as the rules read it: its <c>expr_template_values</c> and <c>query_params</c>.</summary>
internal sealed class WireQuerySource(Protocol.Milvus.QueryRequest request) : QuerySource
{
    /// <summary>The query of <paramref name="request"/> as the rules take it.</summary>
    public static QueryInput Of(Protocol.Milvus.QueryRequest request) => new()
    {
        Database = request.DbName,
        Collection = request.CollectionName,
        Partitions = request.PartitionNames,
        OutputFields = request.OutputFields,
        Filter = request.Expr,
        Source = new WireQuerySource(request),
    };

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?>? FilterParams() => RequestValues.Templates(request.ExprTemplateValues);

    /// <inheritdoc />
    public override string? Timezone() => RequestValues.Timezone(request.QueryParams);

    /// <inheritdoc />
    public override (int? Limit, int Offset) Window() => RequestValues.QueryWindow(request.QueryParams);
}

/// <summary>
/// One delete as the Milvus rules (<see cref="MilvusGrpcService.DeleteAsync(DeleteInput, Grpc.Core.ServerCallContext)"/>)
/// take it, whichever transport read it: gRPC wraps its <c>DeleteRequest</c> (<see cref="Of"/>), REST reads its JSON body
/// straight into these values.
/// </summary>
internal sealed class DeleteInput : ICallTarget
{
    /// <inheritdoc />
    public string Database { get; init; } = "";

    /// <inheritdoc />
    public required string Collection { get; init; }

    /// <summary>The partition to delete from; empty for all.</summary>
    public string Partition { get; init; } = "";

    /// <summary>The boolean filter (Milvus's <c>expr</c>).</summary>
    public string Filter { get; init; } = "";

    /// <summary>A delete by keys: builds the filter from the schema the call looked up (in place of <see cref="Filter"/>),
    /// right after the lookup; null for a delete by filter.</summary>
    public Func<CollectionSchema, string>? KeyFilter { get; init; }

    /// <summary>Reads the filter's template values in the engine's form (null when there are none), when the rules ask.</summary>
    public required Func<IReadOnlyDictionary<string, object?>?> FilterParams { get; init; }

    /// <summary>The delete of <paramref name="request"/> as the rules take it.</summary>
    public static DeleteInput Of(Protocol.Milvus.DeleteRequest request) => new()
    {
        Database = request.DbName,
        Collection = request.CollectionName,
        Partition = request.PartitionName,
        Filter = request.Expr,
        FilterParams = () => RequestValues.Templates(request.ExprTemplateValues),
    };
}
