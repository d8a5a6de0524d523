using Quiver.Common;
using Quiver.Writes;

namespace Quiver.Shards;

/// <summary>The shard's WAL record payloads. Byte layouts are in docs/format-wal.md ("Record payloads").</summary>
internal static class WalRecords
{
    public const byte Insert = 1;
    public const byte Upsert = 2;
    public const byte DeleteKeys = 3;
    public const byte DeleteFilter = 4;

    /// <summary>An insert whose payload also names how many fields its rows hold (after the partition id), so that a
    /// reader knows the rows' layout from the record alone: a follower of the log (a cluster's replica) meets the first
    /// write after a field was added (AddCollectionField) and takes the field before it decodes the rows. Written by
    /// every insert since; <see cref="Insert"/> records (older logs) are read with the collection's schema.</summary>
    public const byte InsertFields = 5;

    /// <summary>An upsert laid out as <see cref="InsertFields"/>.</summary>
    public const byte UpsertFields = 6;

    /// <summary>Partition id meaning "every partition" in delete records.</summary>
    public const long AllPartitions = -1;

    /// <summary>The partition id of a write to a partition-key collection: each row goes to the partition its key hashes
    /// to (<see cref="PartitionKeys"/>), decided again identically on replay.</summary>
    public const long ByPartitionKey = -2;

    /// <summary>Whether <paramref name="type"/> is an insert or an upsert, of either layout.</summary>
    public static bool IsWrite(byte type) => type is Insert or Upsert or InsertFields or UpsertFields;

    /// <summary>Whether a write record of <paramref name="type"/> replaces the rows of its keys.</summary>
    public static bool IsUpsert(byte type) => type is Upsert or UpsertFields;

    /// <summary>The payload of an <see cref="InsertFields"/> or <see cref="UpsertFields"/> record: timestamp, partition
    /// id, the number of fields of the batch's schema, the rows.</summary>
    public static ReadOnlyMemory<byte> EncodeWrite(long ts, long partitionId, RowBatch batch)
    {
        var w = new ByteWriter(20 + batch.EstimateEncodedSize());
        w.I64(ts);
        w.I64(partitionId);
        w.I32(batch.Schema.Fields.Length);
        batch.Encode(w);
        return w.WrittenMemory;
    }

    /// <summary>How many fields the rows of a write record of <paramref name="type"/> hold, or null when the record does
    /// not say (an <see cref="Insert"/> or <see cref="Upsert"/> of an older log, or a record that is no write).</summary>
    public static int? FieldCount(byte type, ReadOnlySpan<byte> payload) =>
        type is InsertFields or UpsertFields && payload.Length >= 20 ? System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(payload[16..]) : null;

    /// <summary>Decodes a write record. An <see cref="InsertFields"/> or <see cref="UpsertFields"/> record written before
    /// fields were added to <paramref name="schema"/> is decoded with the fields it holds, and each added field reads its
    /// default or null (<see cref="Segments.AddedFields.Widen"/>); one holding more fields than the schema needs a newer
    /// schema (<see cref="InvalidDataException"/>).</summary>
    public static (long Ts, long PartitionId, RowBatch Batch) DecodeWrite(CollectionSchema schema, byte type, ReadOnlySpan<byte> payload)
    {
        var r = new ByteReader(payload);
        var ts = r.I64();
        var partition = r.I64();
        RowBatch batch;
        if (type is Insert or Upsert)
        {
            batch = RowBatchCodec.Decode(schema, ref r);
        }
        else if (r.I32() is var fields && fields == schema.Fields.Length)
        {
            batch = RowBatchCodec.Decode(schema, ref r);
        }
        else if (fields <= 0 || fields > schema.Fields.Length)
        {
            throw new InvalidDataException($"the write's rows hold {fields} fields and the collection's schema has {schema.Fields.Length}");
        }
        else
        {
            var held = schema with { Fields = [.. schema.Fields.Take(fields)] };
            batch = Segments.AddedFields.Widen(RowBatchCodec.Decode(held, ref r), schema);
        }

        End(ref r, "write", $"{batch.Count} rows");
        return (ts, partition, batch);
    }

    /// <summary>Refuses a record with bytes after its last field: written by another format or damaged (a length that
    /// stopped short), so that what was read from it is not trusted.</summary>
    private static void End(ref ByteReader r, string kind, string read)
    {
        if (r.Remaining != 0)
        {
            throw new FormatException($"{r.Remaining} bytes follow the {kind} record's last field at offset {r.Position} (after {read})");
        }
    }

    public static ReadOnlyMemory<byte> EncodeDeleteKeys(long ts, long partitionId, IReadOnlyList<PrimaryKey> keys)
    {
        var w = new ByteWriter(32 + (keys.Count * 12));
        w.I64(ts);
        w.I64(partitionId);
        w.I32(keys.Count);
        foreach (var k in keys)
        {
            if (k.Str is { } s)
            {
                w.U8(1);
                w.Str(s);
            }
            else
            {
                w.U8(0);
                w.I64(k.Int);
            }
        }

        return w.WrittenMemory;
    }

    public static (long Ts, long PartitionId, List<PrimaryKey> Keys) DecodeDeleteKeys(ReadOnlySpan<byte> payload)
    {
        var r = new ByteReader(payload);
        var ts = r.I64();
        var partition = r.I64();
        var n = r.I32();
        var keys = new List<PrimaryKey>(n);
        for (var i = 0; i < n; i++)
        {
            keys.Add(r.U8() == 1 ? new PrimaryKey(r.Str()) : new PrimaryKey(r.I64()));
        }

        End(ref r, "delete", $"{n} keys");
        return (ts, partition, keys);
    }

    public static ReadOnlyMemory<byte> EncodeDeleteFilter(long ts, long partitionId, string filter, string parametersJson)
    {
        var w = new ByteWriter(64 + (filter.Length * 2));
        w.I64(ts);
        w.I64(partitionId);
        w.Str(filter);
        w.Str(parametersJson);
        return w.WrittenMemory;
    }

    public static (long Ts, long PartitionId, string Filter, string ParametersJson) DecodeDeleteFilter(ReadOnlySpan<byte> payload)
    {
        var r = new ByteReader(payload);
        var result = (r.I64(), r.I64(), r.Str(), r.Str());
        End(ref r, "delete-by-filter", "its filter and parameters");
        return result;
    }
}
