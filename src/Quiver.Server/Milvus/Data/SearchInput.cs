using Quiver.Protocol.Common;

namespace Quiver.Server.Milvus.Data;

/// <summary>A call's request that names the database and collection it acts on without being a Milvus message (a REST
/// search read straight from its JSON): the pipeline takes its target from here, as it takes a message's
/// <c>db_name</c> and <c>collection_name</c>.</summary>
internal interface ICallTarget
{
    /// <summary>The request's own database; empty for the connection's.</summary>
    string Database { get; }

    /// <summary>The collection (or alias) the call acts on.</summary>
    string Collection { get; }
}

/// <summary>
/// One search as the Milvus rules (<see cref="MilvusGrpcService.SearchColumnsAsync(SearchInput, Grpc.Core.ServerCallContext, Action{ResolvedCollection}?)"/>)
/// take it, whichever transport read it: gRPC wraps its <c>SearchRequest</c> (<see cref="WireSearchSource"/>), REST reads
/// its JSON body straight into these values and the engine's query forms, with no Milvus message between. What the
/// rules read at a later point (settings, queries for the resolved field, template values) comes from
/// <see cref="Source"/>, so that a request wrong in several ways is refused for the same thing whatever its transport.
/// </summary>
internal sealed class SearchInput : ICallTarget
{
    /// <inheritdoc />
    public string Database { get; init; } = "";

    /// <inheritdoc />
    public required string Collection { get; init; }

    /// <summary>The partitions to search; empty for every loaded one.</summary>
    public IReadOnlyList<string> Partitions { get; init; } = [];

    /// <summary>The output fields as asked for (resolved against the schema by the rules).</summary>
    public IReadOnlyList<string> OutputFields { get; init; } = [];

    /// <summary>The boolean filter; empty for none.</summary>
    public string Filter { get; init; } = "";

    /// <summary>The query count the request states (gRPC <c>nq</c>); 0 when it states none.</summary>
    public long StatedNq { get; init; }

    /// <summary>The settings, queries and template values, read when the rules ask for them.</summary>
    public required SearchSource Source { get; init; }
}

/// <summary>A hybrid search as the Milvus rules take it: its requests (each a <see cref="SearchInput"/> whose partitions
/// and output fields the rules ignore), and its ranker read by <see cref="Rank"/> at the point of the rules where Milvus
/// reads <c>rank_params</c>.</summary>
internal sealed class HybridSearchInput : ICallTarget
{
    /// <inheritdoc />
    public string Database { get; init; } = "";

    /// <inheritdoc />
    public required string Collection { get; init; }

    /// <summary>The partitions to search; empty for every loaded one.</summary>
    public IReadOnlyList<string> Partitions { get; init; } = [];

    /// <summary>The output fields as asked for.</summary>
    public IReadOnlyList<string> OutputFields { get; init; } = [];

    /// <summary>The requests, in order.</summary>
    public required IReadOnlyList<SearchInput> Requests { get; init; }

    /// <summary>Reads the fusion settings (refusing them as Milvus does).</summary>
    public required Func<MilvusGrpcService.HybridRankParams> Rank { get; init; }
}

/// <summary>A search's queries in the engine's forms, as <see cref="SearchSource.Read"/> gives them.</summary>
/// <param name="Vectors">Dense query vectors (components; BINARY as byte values).</param>
/// <param name="Sparse">Sparse query vectors.</param>
/// <param name="Texts">Query texts: a BM25 field's, or texts the field's embedding function turns into vectors.</param>
/// <param name="Keys">Primary keys whose rows' vectors are the queries (a gRPC search by ids).</param>
internal readonly record struct QueryValues(List<float[]>? Vectors = null, List<SparseVector>? Sparse = null, List<string>? Texts = null,
    List<object>? Keys = null);

/// <summary>What a transport read of a search that the rules read at their own points: the settings, the queries for the
/// vector field the rules resolved, the filter's template values.</summary>
internal abstract class SearchSource
{
    /// <summary>The search's settings (read once per call by the rules).</summary>
    public abstract SearchSettings Settings(MilvusGrpcService service);

    /// <summary>The filter's template values in the engine's form; null when there are none.</summary>
    public abstract IReadOnlyDictionary<string, object?>? FilterParams();

    /// <summary>The queries for <paramref name="field"/>: texts for a BM25 field, sparse vectors for a sparse field, else
    /// keys, dense vectors or texts to embed. Throws ParameterInvalid (1100) naming what does not fit the field, in the
    /// words of Milvus's placeholder checks whichever transport sent the queries.</summary>
    public abstract QueryValues Read(FieldSchema field);

    /// <summary>Queries given as one placeholder of <paramref name="type"/> (REST reads its <c>data</c> so) for
    /// <paramref name="field"/>, checked as a placeholder group of that one placeholder is checked: <paramref name="floats"/>
    /// for FloatVector, <paramref name="rows"/> (each in the wire form of its type) for the other vector types,
    /// <paramref name="texts"/> for VarChar.</summary>
    protected static QueryValues ReadOne(FieldSchema field, PlaceholderType type, List<float[]>? floats, List<byte[]>? rows, List<string>? texts)
    {
        var count = floats?.Count ?? rows?.Count ?? texts?.Count ?? 0;
        if (field.Metric == MetricType.BM25)
        {
            return type == PlaceholderType.VarChar
                ? new QueryValues(Texts: texts)
                : throw RequestValues.NotText(field, [type]);
        }

        if (field.IsSparseVector)
        {
            if (type != PlaceholderType.SparseFloatVector)
            {
                throw RequestValues.NotSparse(field, type);
            }

            var sparse = new List<SparseVector>(count);
            foreach (var row in rows!)
            {
                sparse.Add(RequestValues.SparseQuery(row, sparse.Count));
            }

            return new QueryValues(Sparse: sparse);
        }

        if (type == PlaceholderType.VarChar)
        {
            return new QueryValues(Texts: texts);
        }

        var vectors = new List<float[]>(count);
        if (field.DataType == Quiver.DataType.FloatVector)
        {
            if (type != PlaceholderType.FloatVector)
            {
                throw RequestValues.NotFloat(type);
            }

            foreach (var vector in floats!)
            {
                RequestValues.CheckDimension(vector.Length * sizeof(float), vectors.Count, field.Dimension!.Value);
                vectors.Add(vector);
            }

            return new QueryValues(Vectors: vectors);
        }

        if ((int)type != (int)field.DataType)
        {
            throw RequestValues.NotOfField(field, type);
        }

        for (var i = 0; i < count; i++)
        {
            if (Wire.WireVectors.ReadQuery(field, rows![i], i, vectors) is { } error)
            {
                throw new MilvusException(MilvusCode.ParameterInvalid, error);
            }
        }

        return new QueryValues(Vectors: vectors);
    }
}

/// <summary>A gRPC <c>SearchRequest</c> as the rules read it: its <c>search_params</c> pairs, its serialized placeholder
/// group (read in place for a FLOAT field) or primary keys, its <c>expr_template_values</c>.</summary>
internal sealed class WireSearchSource(Protocol.Milvus.SearchRequest request) : SearchSource
{
    /// <summary>The search of <paramref name="request"/> as the rules take it.</summary>
    public static SearchInput Of(Protocol.Milvus.SearchRequest request) => new()
    {
        Database = request.DbName,
        Collection = request.CollectionName,
        Partitions = request.PartitionNames,
        OutputFields = request.OutputFields,
        Filter = request.Dsl,
        StatedNq = request.Nq,
        Source = new WireSearchSource(request),
    };

    /// <inheritdoc />
    public override SearchSettings Settings(MilvusGrpcService service) => service.ReadSettings(request.SearchParams);

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, object?>? FilterParams() => RequestValues.Templates(request.ExprTemplateValues);

    /// <inheritdoc />
    public override QueryValues Read(FieldSchema field)
    {
        if (field.Metric == MetricType.BM25)
        {
            return new QueryValues(Texts: Bm25Queries.Of(request, field));
        }

        if (field.IsSparseVector)
        {
            return new QueryValues(Sparse: SparseQueries.Of(request, field));
        }

        if (request.SearchInputCase == Protocol.Milvus.SearchRequest.SearchInputOneofCase.Ids)
        {
            var ids = request.Ids;
            return new QueryValues(Keys: ids.IdFieldCase switch
            {
                Protocol.Schema.IDs.IdFieldOneofCase.IntId => [.. ids.IntId.Data.Select(k => (object)k)],
                Protocol.Schema.IDs.IdFieldOneofCase.StrId => [.. ids.StrId.Data.Select(k => (object)k)],
                _ => [], // refused as nq 0 by the rules
            });
        }

        if (field.DataType == Quiver.DataType.FloatVector && PlaceholderWire.FloatQueries(request.PlaceholderGroup, field.Dimension!.Value) is { } floats)
        {
            return new QueryValues(Vectors: floats);
        }

        var group = RequestValues.ParseGroup(request.PlaceholderGroup);
        return FunctionConversion.TextPlaceholders(group) is { } texts
            ? new QueryValues(Texts: texts)
            : new QueryValues(Vectors: RequestValues.Placeholders(group, field));
    }
}
