using System.Buffers;
using System.Runtime.InteropServices;
using System.Text.Json;
using Quiver.Protocol.Milvus;
using Quiver.Server.Milvus;
using Quiver.Server.Rest;
using EngineSchema = Quiver.CollectionSchema;

namespace Quiver.Cluster.Nodes;

/// <summary>Inserts and upserts on a collection with several shards, whichever transport brought them: the node reads
/// the rows into engine columns, checks them as the engine would (so a batch one shard would refuse is refused whole),
/// keys an auto_id insert from the collection's allocator and assigns each row to the shard of its key's hash
/// (<see cref="RouteRowsAsync"/>); gRPC sends each shard its columns as a Milvus request (<see cref="SplitWriteAsync"/>),
/// REST sends each shard its rows as a REST body (<see cref="RestWriteAsync"/>), so a REST write builds no Milvus message
/// anywhere: each shard's server reads its rows as the standalone server reads a REST write.</summary>
internal sealed partial class MilvusRouting
{
    /// <summary>Checks <paramref name="batch"/> (the rows of a write read with <paramref name="schema"/>) as the engine
    /// would, adds the keys of an auto_id insert and answers which rows go to which shard: the batch to send (keyed when
    /// <c>Generated</c>: those rows travel as an upsert, the write whose keys a shard's engine keeps) and, per shard, its
    /// rows in input order.</summary>
    private async Task<(ColumnBatch Batch, List<int>[] RowsOf, bool Generated)> RouteRowsAsync(EngineSchema schema, ColumnBatch batch,
        string database, string collection, int shards, bool upsert, CancellationToken ct)
    {
        var op = upsert ? "upsert" : "insert";
        var generated = !upsert && schema.PrimaryKey.AutoId;
        if (schema.Functions.IsEmpty)
        {
            // Functions (BM25, text embedding) fill their output fields in the shard's engine; without them the engine's
            // own row checks run here on the whole batch, with its messages and row numbers (auto_id keys are made below).
            Quiver.Writes.ColumnValidator.Check(schema, batch, upsert);
        }

        if (generated)
        {
            // The keys of an auto_id collection come from the collection's allocator (AutoIds), so that they are unique
            // across shards and nodes, and route the rows as any key does.
            batch = await AddAutoIdsAsync(batch, schema, database, collection, op, ct).ConfigureAwait(false);
        }

        var keys = batch.Find(schema.PrimaryKey.Name) ?? throw new MilvusException(MilvusCode.ParameterInvalid, $"{op}: the primary key '{schema.PrimaryKey.Name}' is missing");
        var rowsOf = Enumerable.Range(0, shards).Select(_ => new List<int>()).ToArray();
        for (var r = 0; r < batch.RowCount; r++)
        {
            rowsOf[ShardKeys.ShardOf(keys.Strings is { } s ? s[r]! : keys.Longs![r], shards)].Add(r);
        }

        return (batch, rowsOf, generated);
    }

    /// <summary>An insert or upsert over REST: the rows read with the collection's schema (shard 0's description) and
    /// time zone into columns, as the shard's server reads them (a value that does not fit is its 1804 naming row and
    /// field), checked, keyed and routed as over gRPC (<see cref="RouteRowsAsync"/>); each shard is sent its rows' own
    /// text as a REST write (an auto_id insert's rows with their new keys, as an upsert), and the shards' answers are
    /// put together in the rows' order: the first refusal, else the counts summed and every key where its row was.</summary>
    private async Task<(int, byte[])> RestWriteAsync(byte[] body, string database, string collection, int shards, bool upsert, bool allowInt64, CancellationToken ct)
    {
        var path = upsert ? "/entities/upsert" : "/entities/insert";
        using var json = JsonDocument.Parse(body);
        if (!json.RootElement.TryGetProperty("data", out var rows) || rows.ValueKind != JsonValueKind.Array || rows.GetArrayLength() == 0
            || rows.GetArrayLength() > node.Config.EffectiveSecurity().MaxRowsPerInsert
            || (json.RootElement.TryGetProperty("partitionName", out var named) && named.ValueKind is not (JsonValueKind.String or JsonValueKind.Null)))
        {
            // The shard server's own refusal of the body's shape, or of more rows than maxRowsPerInsert (each shard
            // would see only its part), word for word.
            return await RestShardAsync(database, collection, 0, path, body, ct).ConfigureAwait(false);
        }

        var (schema, zone, refused) = await DescribedAsync(MilvusService.Descriptor.FindMethodByName(upsert ? "Upsert" : "Insert"), database, collection, ct).ConfigureAwait(false);
        if (schema is null)
        {
            var status = MutationStatus(refused!);
            return (200, RestError(status.Code, status.Reason));
        }

        var (batch, rowsOf, generated) = await RouteRowsAsync(schema, MilvusRestV2.ReadRows(schema, rows, insert: !upsert, zone),
            database, collection, shards, upsert, ct).ConfigureAwait(false);
        var partition = json.RootElement.TryGetProperty("partitionName", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
        var texts = new JsonElement[batch.RowCount];
        var i = 0;
        foreach (var row in rows.EnumerateArray())
        {
            texts[i++] = row;
        }

        var keys = generated ? batch.Find(schema.PrimaryKey.Name)!.Longs : null;
        var targets = Enumerable.Range(0, shards).Where(s => rowsOf[s].Count > 0).ToList();
        var shardPath = generated ? "/entities/upsert" : path;
        var answers = await Task.WhenAll(targets.Select(s =>
            RestShardAsync(database, collection, s, shardPath, RestRowsFor(database, collection, partition, texts, rowsOf[s], generated ? schema.PrimaryKey.Name : null, keys), ct))).ConfigureAwait(false);
        if (answers.Where(a => !RestOk(a)).Select(a => ((int, byte[])?)a).FirstOrDefault() is { } failed)
        {
            return failed;
        }

        return (200, RestWritten(answers, [.. targets.Select(s => rowsOf[s])], batch.RowCount, insert: !upsert, shardAnswersUpsert: generated || upsert));
    }

    /// <summary>A shard's part of a REST write: a body naming the collection (and the partition when the write named one)
    /// whose <c>data</c> holds the rows <paramref name="mine"/> of <paramref name="rows"/>, each its own text, or, with
    /// <paramref name="keyName"/>, rewritten with its key from <paramref name="keys"/> first (an auto_id insert's: a key the
    /// row sent is dropped, as Milvus's REST insert ignores it).</summary>
    private static byte[] RestRowsFor(string database, string collection, string? partition, JsonElement[] rows, List<int> mine, string? keyName, long[]? keys)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("dbName", database);
            writer.WriteString("collectionName", collection);
            if (partition is not null)
            {
                writer.WriteString("partitionName", partition);
            }

            writer.WriteStartArray("data");
            foreach (var r in mine)
            {
                if (keyName is null)
                {
                    writer.WriteRawValue(JsonMarshal.GetRawUtf8Value(rows[r]), skipInputValidation: true);
                    continue;
                }

                writer.WriteStartObject();
                writer.WriteNumber(keyName, keys![r]);
                foreach (var property in rows[r].EnumerateObject())
                {
                    if (!property.NameEquals(keyName))
                    {
                        property.WriteTo(writer);
                    }
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The REST answer of a write whose shards all succeeded: <c>insertCount</c> and <c>insertIds</c> (or the
    /// upsert's) with the counts summed and each shard's keys, as its server printed them, put back where their rows were
    /// (shard <c>t</c> of <paramref name="answers"/> wrote rows <paramref name="rowsOf"/>[t], in that order).</summary>
    private static byte[] RestWritten((int, byte[] Body)[] answers, List<int>[] rowsOf, int rowCount, bool insert, bool shardAnswersUpsert)
    {
        var (countName, idsName) = shardAnswersUpsert ? ("upsertCount", "upsertIds") : ("insertCount", "insertIds");
        var documents = answers.Select(a => JsonDocument.Parse(a.Body)).ToArray();
        try
        {
            var ids = new JsonElement[rowCount];
            long count = 0;
            for (var t = 0; t < documents.Length; t++)
            {
                var data = documents[t].RootElement.GetProperty("data");
                count += data.GetProperty(countName).GetInt64();
                var k = 0;
                foreach (var id in data.GetProperty(idsName).EnumerateArray())
                {
                    if (k < rowsOf[t].Count)
                    {
                        ids[rowsOf[t][k++]] = id;
                    }
                }
            }

            var buffer = new ArrayBufferWriter<byte>();
            using (var writer = new Utf8JsonWriter(buffer))
            {
                writer.WriteStartObject();
                writer.WriteNumber("code", 0);
                writer.WriteStartObject("data");
                writer.WriteNumber(insert ? "insertCount" : "upsertCount", count);
                writer.WriteStartArray(insert ? "insertIds" : "upsertIds");
                foreach (var id in ids)
                {
                    if (id.ValueKind == JsonValueKind.Undefined)
                    {
                        writer.WriteNullValue();
                    }
                    else
                    {
                        id.WriteTo(writer);
                    }
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
                writer.WriteEndObject();
            }

            return buffer.WrittenSpan.ToArray();
        }
        finally
        {
            foreach (var document in documents)
            {
                document.Dispose();
            }
        }
    }
}
