using System.Globalization;
using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Quiver.Protocol.Common;
using Quiver.Protocol.Milvus;
using Quiver.Protocol.Schema;
using Quiver.Server.Milvus;
using MilvusSearch = global::Quiver.Protocol.Milvus.SearchRequest;
using MilvusQuery = global::Quiver.Protocol.Milvus.QueryRequest;
using EngineSchema = Quiver.CollectionSchema;

namespace Quiver.Cluster.Nodes;

/// <summary>Search by primary keys (the request's <c>ids</c>) on a collection with several shards: the rows' own
/// vectors are the queries, as on a single node, but each row lives on the shard its key hashes to. The node reads the
/// vectors from those shards (a query by key on each), turns the request into an ordinary search with those vectors as
/// its placeholder group, in the order the keys were given, and fans that out like any other search.</summary>
internal sealed partial class MilvusRouting
{
    /// <summary><paramref name="parsed"/> with its keys replaced by their rows' vectors, or the refusal the standalone
    /// server sends (a key that no row holds, a null vector, a sparse field). Every dense vector type travels: a row's
    /// vector is taken from the query answer in its wire form (FLOAT as little-endian floats; FLOAT16, BFLOAT16, INT8 and
    /// BINARY as their bytes) and is sent back as a placeholder of the same type, so nothing is converted.</summary>
    private async Task<(MilvusSearch? Search, byte[]? Refused)> VectorsForKeysAsync(MethodDescriptor method, MilvusSearch parsed, string database, string collection,
        int shards, EngineSchema schema, FieldSchema field, CancellationToken ct)
    {
        if (field.DataType == Quiver.DataType.SparseFloatVector)
        {
            // The engine does not search a sparse field by keys: the shard's own refusal, word for word.
            return (null, await InvokeAsync(ShardKeys.Of(database, collection), method, parsed.ToByteArray(), database, ct).ConfigureAwait(false));
        }

        if (PlaceholderTypeOf(field.DataType) is not { } placeholderType)
        {
            return (null, ShardedNotServed(method, $"Search by primary keys on a {field.DataType} field"));
        }

        List<object> keys = parsed.Ids.IdFieldCase switch
        {
            IDs.IdFieldOneofCase.IntId => [.. parsed.Ids.IntId.Data.Select(k => (object)k)],
            IDs.IdFieldOneofCase.StrId => [.. parsed.Ids.StrId.Data.Select(k => (object)k)],
            _ => [],
        };
        if (keys.Count == 0)
        {
            // The shard's own refusal of an empty query list, word for word.
            return (null, await InvokeAsync(ShardKeys.Of(database, collection), method, parsed.ToByteArray(), database, ct).ConfigureAwait(false));
        }

        var pk = schema.PrimaryKey;
        var byKey = new Dictionary<object, ByteString?>();
        var queryMethod = MilvusService.Descriptor.FindMethodByName("Query");
        foreach (var group in keys.Distinct().GroupBy(k => ShardKeys.ShardOf(k, shards)))
        {
            var query = new MilvusQuery
            {
                DbName = database,
                CollectionName = collection,
                Expr = $"{pk.Name} in [{string.Join(", ", group.Select(Literal))}]",
                OutputFields = { pk.Name, field.Name },
                PartitionNames = { parsed.PartitionNames },
                ConsistencyLevel = parsed.ConsistencyLevel,
                UseDefaultConsistency = parsed.UseDefaultConsistency,
            };
            var answer = QueryResults.Parser.ParseFrom(await InvokeAsync(ShardKeys.Of(database, collection, group.Key), queryMethod, query.ToByteArray(), database, ct).ConfigureAwait(false));
            if (!IsOk(answer.Status))
            {
                return (null, StatusAnswer(method, answer.Status.Code, answer.Status.Reason, answer.Status.Retriable));
            }

            var keyColumn = answer.FieldsData.FirstOrDefault(f => f.FieldName == pk.Name)?.Scalars;
            var vectorColumn = answer.FieldsData.FirstOrDefault(f => f.FieldName == field.Name);
            IReadOnlyList<object> found = keyColumn is null ? []
                : pk.DataType == Quiver.DataType.VarChar ? [.. keyColumn.StringData?.Data ?? []] : [.. (keyColumn.LongData?.Data ?? []).Select(k => (object)k)];
            // A nullable vector field's rows travel compact (the vectors of valid rows only, after valid_data).
            var slot = 0;
            for (var r = 0; r < found.Count; r++)
            {
                var valid = vectorColumn?.Vectors is not null && (vectorColumn.ValidData.Count == 0 || vectorColumn.ValidData[r]);
                byKey.TryAdd(found[r], valid ? RowBytes(field, vectorColumn!.Vectors, slot) : null);
                slot += valid ? 1 : 0;
            }
        }

        var values = new PlaceholderValue { Tag = "$0", Type = placeholderType };
        foreach (var key in keys)
        {
            if (!byKey.TryGetValue(key, out var vector))
            {
                return (null, StatusAnswer(method, MilvusCode.ParameterInvalid, $"search by ids: primary key {key} does not exist in collection '{collection}'"));
            }

            if (vector is null)
            {
                return (null, StatusAnswer(method, MilvusCode.ParameterInvalid, $"search by ids: primary key {key} has no vector in field '{field.Name}' (it is null)"));
            }

            values.Values.Add(vector);
        }

        var rewritten = parsed.Clone();
        rewritten.PlaceholderGroup = new PlaceholderGroup { Placeholders = { values } }.ToByteString();
        return (rewritten, null);
    }

    /// <summary>The placeholder type that carries a query vector of <paramref name="type"/>, or null for a field that
    /// is not a vector.</summary>
    private static PlaceholderType? PlaceholderTypeOf(Quiver.DataType type) => type switch
    {
        Quiver.DataType.FloatVector => PlaceholderType.FloatVector,
        Quiver.DataType.Float16Vector => PlaceholderType.Float16Vector,
        Quiver.DataType.BFloat16Vector => PlaceholderType.Bfloat16Vector,
        Quiver.DataType.Int8Vector => PlaceholderType.Int8Vector,
        Quiver.DataType.BinaryVector => PlaceholderType.BinaryVector,
        _ => null,
    };

    /// <summary>The wire bytes of the <paramref name="slot"/>-th vector of a result column, or null when it carries
    /// fewer (or another type).</summary>
    private static ByteString? RowBytes(FieldSchema field, VectorField vectors, int slot)
    {
        var dim = field.Dimension!.Value;
        if (field.DataType == Quiver.DataType.FloatVector)
        {
            if (vectors.FloatVector is not { } floats || (long)(slot + 1) * dim > floats.Data.Count)
            {
                return null;
            }

            var bytes = new byte[dim * sizeof(float)];
            for (var d = 0; d < dim; d++)
            {
                System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(d * sizeof(float)), floats.Data[(slot * dim) + d]);
            }

            return ByteString.CopyFrom(bytes);
        }

        var width = field.DataType switch
        {
            Quiver.DataType.Float16Vector or Quiver.DataType.BFloat16Vector => dim * 2,
            Quiver.DataType.BinaryVector => dim / 8,
            _ => dim,
        };
        return Quiver.Wire.WireVectors.BytesOf(field.DataType, vectors) is { } all && (long)(slot + 1) * width <= all.Length
            ? ByteString.CopyFrom(all.Span.Slice(slot * width, width))
            : null;
    }

    /// <summary>A key as a literal of the filter language: an integer, or a JSON-quoted string.</summary>
    private static string Literal(object key) => key is string text ? JsonSerializer.Serialize(text) : Convert.ToString(key, CultureInfo.InvariantCulture)!;
}
