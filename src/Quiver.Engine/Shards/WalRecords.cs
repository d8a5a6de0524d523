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

    /// <summary>Partition id meaning "every partition" in delete records.</summary>
    public const long AllPartitions = -1;

    /// <summary>The partition id of a write to a partition-key collection: each row goes to the partition its key hashes
    /// to (<see cref="PartitionKeys"/>), decided again identically on replay.</summary>
    public const long ByPartitionKey = -2;

    public static ReadOnlyMemory<byte> EncodeWrite(long ts, long partitionId, RowBatch batch)
    {
        var w = new ByteWriter(16 + batch.EstimateEncodedSize());
        w.I64(ts);
        w.I64(partitionId);
        batch.Encode(w);
        return w.WrittenMemory;
    }

    public static (long Ts, long PartitionId, RowBatch Batch) DecodeWrite(CollectionSchema schema, ReadOnlySpan<byte> payload)
    {
        var r = new ByteReader(payload);
        var ts = r.I64();
        var partition = r.I64();
        var batch = RowBatchCodec.Decode(schema, ref r);
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
