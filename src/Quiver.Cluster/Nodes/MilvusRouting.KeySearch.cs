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
    /// server sends (a key that no row holds, a null vector), or a code-10 refusal for a vector type this path does not
    /// carry yet (only FLOAT vectors).</summary>
    private async Task<(MilvusSearch? Search, byte[]? Refused)> VectorsForKeysAsync(MethodDescriptor method, MilvusSearch parsed, string database, string collection,
        int shards, EngineSchema schema, FieldSchema field, CancellationToken ct)
    {
        if (field.DataType != Quiver.DataType.FloatVector)
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
        var dim = field.Dimension!.Value;
        var byKey = new Dictionary<object, float[]?>();
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
            for (var r = 0; r < found.Count; r++)
            {
                var valid = vectorColumn?.Vectors?.FloatVector is not null && (vectorColumn.ValidData.Count == 0 || vectorColumn.ValidData[r]);
                byKey.TryAdd(found[r], valid ? [.. vectorColumn!.Vectors.FloatVector.Data.Skip(r * dim).Take(dim)] : null);
            }
        }

        var values = new PlaceholderValue { Tag = "$0", Type = PlaceholderType.FloatVector };
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

            var bytes = new byte[dim * sizeof(float)];
            Buffer.BlockCopy(vector, 0, bytes, 0, bytes.Length);
            values.Values.Add(ByteString.CopyFrom(bytes));
        }

        var rewritten = parsed.Clone();
        rewritten.PlaceholderGroup = new PlaceholderGroup { Placeholders = { values } }.ToByteString();
        return (rewritten, null);
    }

    /// <summary>A key as a literal of the filter language: an integer, or a JSON-quoted string.</summary>
    private static string Literal(object key) => key is string text ? JsonSerializer.Serialize(text) : Convert.ToString(key, CultureInfo.InvariantCulture)!;
}
