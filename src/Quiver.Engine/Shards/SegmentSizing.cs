using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Quiver.Writes;

namespace Quiver.Shards;

/// <summary>How big a segment is, and which sealed segments compaction merges. Sizes are bytes of rows as stored, so
/// that one budget means the same for 8-d and 768-d vectors: a growing segment counts what it is given as it is
/// given (<see cref="EstimateBytes"/>), a sealed one is the length of its file.</summary>
internal static class SegmentSizing
{
    /// <summary>Bytes rows [start, start+count) of a batch take: each vector at 4 bytes a dimension, each scalar at its own
    /// width (Int8 1 … Int64 8, Float 4, Double 8, Bool 1), strings and JSON at their UTF-8 length plus a 4-byte offset, a
    /// null bit per nullable value, and the 8-byte insert timestamp. O(count) for string and JSON fields, O(1) otherwise.</summary>
    public static long EstimateBytes(RowBatch batch, int start, int count)
    {
        long bytes = count * (long)sizeof(long);
        var fields = batch.Schema.Fields;
        for (var f = 0; f < fields.Length; f++)
        {
            var field = fields[f];
            var c = batch.Columns[f];
            if (c.Nulls is not null)
            {
                bytes += (count + 7) / 8;
            }

            bytes += field.DataType.Storage() switch
            {
                _ when field.IsVector => count * (long)field.VectorWidth() * sizeof(float),
                DataType.VarChar => StringBytes(c.Strings!, start, count),
                DataType.Json or DataType.Array => JsonBytes(c.Json!, start, count),
                DataType.SparseFloatVector => SparseCodec.EncodedSize(c.Sparse.AsSpan(start, count)),
                _ => count * (long)ScalarWidth(field.DataType.Storage()),
            };
        }

        if (batch.Dynamic is { } dynamic)
        {
            bytes += JsonBytes(dynamic, start, count);
        }

        return bytes;
    }

    /// <summary>Bytes of one value of a fixed-width scalar type.</summary>
    public static int ScalarWidth(DataType type) => type switch
    {
        DataType.Bool or DataType.Int8 => 1,
        DataType.Int16 => 2,
        DataType.Int32 or DataType.Float => 4,
        DataType.Int64 or DataType.Double => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not a fixed-width scalar type"),
    };

    private static long StringBytes(string?[] values, int start, int count)
    {
        long bytes = count * (long)sizeof(int);
        foreach (var s in values.AsSpan(start, count))
        {
            bytes += s is null ? 0 : Encoding.UTF8.GetByteCount(s);
        }

        return bytes;
    }

    private static long JsonBytes(JsonElement[] values, int start, int count)
    {
        long bytes = count * (long)sizeof(int);
        foreach (var v in values.AsSpan(start, count))
        {
            // Undefined marks a row without a value (a null, or no dynamic keys): nothing is stored for it.
            bytes += v.ValueKind == JsonValueKind.Undefined ? 0 : JsonMarshal.GetRawUtf8Value(v).Length;
        }

        return bytes;
    }

    /// <summary>What compaction knows of a sealed segment: its rows, those deleted, and its bytes.</summary>
    public readonly record struct Candidate(long Id, long PartitionId, int Rows, int Deleted, long Bytes)
    {
        public int LiveRows => Rows - Deleted;

        /// <summary>The bytes its live rows would take in a merged segment (deleted rows are dropped by the merge).</summary>
        public long LiveBytes => Rows == 0 ? 0 : (long)((double)Bytes * LiveRows / Rows);
    }

    /// <summary>How many segments of one size tier compaction waits for before merging them (Lucene's merge factor): a
    /// row is rewritten about once per tier it climbs, and each tier holds at most this many less one.</summary>
    public const int MergeFactor = 4;

    /// <summary>Groups of sealed segments worth merging, per partition, each in id order. Small segments (live rows under
    /// <see cref="QuiverOptions.CompactionSmallFraction"/> of <see cref="QuiverOptions.SegmentMaxBytes"/> and of
    /// <see cref="QuiverOptions.SegmentMaxRows"/>) are sorted into tiers by size, tier t holding
    /// [seal x F^t, seal x F^(t+1)) bytes with F = <see cref="MergeFactor"/> and seal = <see cref="QuiverOptions.SegmentSealBytes"/>
    /// (anything smaller counts as tier 0). A tier with F or more segments is merged, packed oldest first into groups of at
    /// most SegmentMaxBytes and SegmentMaxRows live rows. Any segment with at least
    /// <see cref="QuiverOptions.CompactionDeletedFraction"/> of its rows deleted that no merge takes is rewritten alone.
    /// So a partition holds its full segments plus at most F - 1 small ones per tier (two tiers at the defaults), and a
    /// row is rewritten about once per tier, not once per seal: every rewrite also rebuilds the segment's indexes.
    /// <para>When the collection is <paramref name="idle"/> (<see cref="QuiverOptions.CompactionIdleDelay"/>), the small
    /// segments no tier took are packed the same way whatever their tiers (Milvus's mix compaction), so that a
    /// collection nobody writes to ends with at most one small segment per partition, plus any that did not fit the
    /// last pack; a pack of one is left alone.</para></summary>
    public static List<List<Candidate>> PlanCompaction(IReadOnlyList<Candidate> sealedSegments, QuiverOptions o, bool idle = false)
    {
        var groups = new List<List<Candidate>>();
        var taken = new HashSet<long>();
        foreach (var byPartition in sealedSegments.GroupBy(s => s.PartitionId))
        {
            var small = byPartition
                .Where(s => s.LiveBytes < o.SegmentMaxBytes * o.CompactionSmallFraction && s.LiveRows < o.SegmentMaxRows * o.CompactionSmallFraction)
                .ToList();
            foreach (var tier in small.GroupBy(s => Tier(s.LiveBytes, o.SegmentSealBytes)).OrderBy(t => t.Key))
            {
                if (tier.Count() >= MergeFactor)
                {
                    AddPacks([.. tier.OrderBy(s => s.Id)]);
                }
            }

            if (idle)
            {
                AddPacks([.. small.Where(s => !taken.Contains(s.Id)).OrderBy(s => s.Id)]);
            }

            foreach (var s in byPartition)
            {
                if (!taken.Contains(s.Id) && s.Deleted > 0 && s.Deleted >= s.Rows * o.CompactionDeletedFraction)
                {
                    groups.Add([s]);
                }
            }
        }

        return groups;

        void AddPacks(List<Candidate> segments)
        {
            foreach (var group in Pack(segments, o))
            {
                if (group.Count > 1)
                {
                    groups.Add(group);
                    taken.UnionWith(group.Select(s => s.Id));
                }
            }
        }
    }

    /// <summary>The size tier of a segment of <paramref name="bytes"/> live bytes: floor(log_F(bytes / seal)), at least 0.</summary>
    public static int Tier(long bytes, long sealBytes)
    {
        var tier = 0;
        for (var limit = sealBytes * MergeFactor; bytes >= limit && limit > 0; limit *= MergeFactor)
        {
            tier++;
        }

        return tier;
    }

    /// <summary>Consecutive runs of <paramref name="segments"/> whose live rows fit one merged segment.</summary>
    private static List<List<Candidate>> Pack(List<Candidate> segments, QuiverOptions o)
    {
        var groups = new List<List<Candidate>>();
        var current = new List<Candidate>();
        long bytes = 0, rows = 0;
        foreach (var s in segments)
        {
            if (current.Count > 0 && (bytes + s.LiveBytes > o.SegmentMaxBytes || rows + s.LiveRows > o.SegmentMaxRows))
            {
                groups.Add(current);
                current = [];
                bytes = rows = 0;
            }

            current.Add(s);
            bytes += s.LiveBytes;
            rows += s.LiveRows;
        }

        if (current.Count > 0)
        {
            groups.Add(current);
        }

        return groups;
    }
}
