using System.Globalization;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Quiver.Protocol.Common;
using Quiver.Protocol.Milvus;
using Quiver.Protocol.Schema;

namespace Quiver.Server.Clients;

/// <summary>
/// Builds the gRPC requests a Milvus SDK sends for a collection of <c>id</c> (Int64 primary key) and one float vector
/// field, for the harnesses that drive the server from outside (durability, load and benchmark). Kept next to the
/// server so tests and benchmarks share one encoding of the wire shapes.
/// </summary>
internal static class MilvusRequests
{
    /// <summary>An insert of rows <paramref name="ids"/> with their vectors (row-major, <paramref name="dim"/> floats a
    /// row) into the fields <paramref name="idField"/> and <paramref name="vectorField"/>, as columns.</summary>
    public static InsertRequest Insert(string collection, ReadOnlySpan<long> ids, ReadOnlySpan<float> vectors, int dim,
        string idField = "id", string vectorField = "vector")
    {
        if (vectors.Length != ids.Length * dim)
        {
            throw new ArgumentException($"{ids.Length} rows of dimension {dim} need {ids.Length * dim} floats, got {vectors.Length}", nameof(vectors));
        }
        var idColumn = new LongArray();
        idColumn.Data.Add(ids.ToArray());
        var vectorColumn = new FloatArray();
        vectorColumn.Data.Add(vectors.ToArray());
        return new InsertRequest
        {
            CollectionName = collection,
            NumRows = (uint)ids.Length,
            FieldsData =
            {
                new FieldData { FieldName = idField, Type = Protocol.Schema.DataType.Int64, Scalars = new ScalarField { LongData = idColumn } },
                new FieldData { FieldName = vectorField, Type = Protocol.Schema.DataType.FloatVector, Vectors = new VectorField { Dim = dim, FloatVector = vectorColumn } },
            },
        };
    }

    /// <summary>A top-<paramref name="topK"/> search of the query vectors (row-major) in <paramref name="vectorField"/>,
    /// with index parameters such as <c>{"ef":64}</c> in <paramref name="paramsJson"/>.</summary>
    public static Protocol.Milvus.SearchRequest Search(string collection, ReadOnlySpan<float> queries, int dim, int topK, string metric,
        string paramsJson = "{}", string vectorField = "vector")
    {
        if (dim <= 0 || queries.Length % dim != 0)
        {
            throw new ArgumentException($"{queries.Length} floats are not whole vectors of dimension {dim}", nameof(queries));
        }
        var request = new Protocol.Milvus.SearchRequest
        {
            CollectionName = collection,
            DslType = DslType.BoolExprV1,
            Nq = queries.Length / dim,
            PlaceholderGroup = FloatPlaceholderGroup(queries, dim),
            SearchParams =
            {
                new Protocol.Common.KeyValuePair { Key = "anns_field", Value = vectorField },
                new Protocol.Common.KeyValuePair { Key = "topk", Value = topK.ToString(CultureInfo.InvariantCulture) },
                new Protocol.Common.KeyValuePair { Key = "metric_type", Value = metric },
                new Protocol.Common.KeyValuePair { Key = "params", Value = paramsJson },
                new Protocol.Common.KeyValuePair { Key = "round_decimal", Value = "-1" },
            },
        };
        return request;
    }

    /// <summary>The serialized <c>common.PlaceholderGroup</c> of the query vectors (row-major, <paramref name="dim"/>
    /// floats each): one placeholder tagged <c>$0</c> of type FloatVector whose values are each vector's little-endian
    /// floats, as the SDKs encode it.</summary>
    public static ByteString FloatPlaceholderGroup(ReadOnlySpan<float> queries, int dim)
    {
        var value = new PlaceholderValue { Tag = "$0", Type = PlaceholderType.FloatVector };
        for (var row = 0; row < queries.Length / dim; row++)
        {
            // Milvus's wire format is little-endian floats, which is this machine's layout (x64, arm64).
            value.Values.Add(ByteString.CopyFrom(MemoryMarshal.AsBytes(queries.Slice(row * dim, dim))));
        }
        return new PlaceholderGroup { Placeholders = { value } }.ToByteString();
    }

    /// <summary>The Int64 ids of a search's hits, per query, in rank order.</summary>
    public static long[][] HitIds(SearchResults results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var data = results.Results;
        var hits = new long[data.Topks.Count][];
        var offset = 0;
        for (var q = 0; q < hits.Length; q++)
        {
            var count = (int)data.Topks[q];
            hits[q] = data.Ids.IntId.Data.Skip(offset).Take(count).ToArray();
            offset += count;
        }
        return hits;
    }
}
