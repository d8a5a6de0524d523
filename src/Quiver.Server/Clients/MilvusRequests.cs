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
    /// <summary><c>PlaceholderType.FloatVector</c> in Milvus's common.proto (the message types of the placeholder
    /// group are not part of the service's .proto files: the request carries them as bytes).</summary>
    public const int FloatVectorPlaceholder = 101;

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

    /// <summary>The serialized <c>PlaceholderGroup { repeated PlaceholderValue placeholders = 1; }</c> with one value
    /// <c>{ tag = "$0"; type = FloatVector; repeated bytes values = 3 }</c>, each value one vector's little-endian
    /// floats, as the SDKs encode it.</summary>
    public static ByteString FloatPlaceholderGroup(ReadOnlySpan<float> queries, int dim)
    {
        using var value = new MemoryStream();
        using (var valueOut = new CodedOutputStream(value, leaveOpen: true))
        {
            valueOut.WriteTag(1, WireFormat.WireType.LengthDelimited);
            valueOut.WriteString("$0");
            valueOut.WriteTag(2, WireFormat.WireType.Varint);
            valueOut.WriteEnum(FloatVectorPlaceholder);
            for (var row = 0; row < queries.Length / dim; row++)
            {
                valueOut.WriteTag(3, WireFormat.WireType.LengthDelimited);
                // Milvus's wire format is little-endian floats, which is this machine's layout (x64, arm64).
                valueOut.WriteBytes(ByteString.CopyFrom(MemoryMarshal.AsBytes(queries.Slice(row * dim, dim))));
            }
        }

        using var group = new MemoryStream();
        using (var groupOut = new CodedOutputStream(group, leaveOpen: true))
        {
            groupOut.WriteTag(1, WireFormat.WireType.LengthDelimited);
            groupOut.WriteBytes(ByteString.CopyFrom(value.ToArray()));
        }
        return ByteString.CopyFrom(group.ToArray());
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
