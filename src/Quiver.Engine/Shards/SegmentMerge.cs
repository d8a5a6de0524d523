using Quiver.Segments;
using Quiver.Storage;
using Quiver.Writes;

namespace Quiver.Shards;

/// <summary>One source of a <see cref="SegmentMerge"/>: a sealed segment's file and the rows of it the merge keeps.</summary>
internal sealed record SegmentMergeSource
{
    /// <summary>The segment's file in the shard's file system.</summary>
    public required string Path { get; init; }

    public required long Id { get; init; }

    /// <summary>How many of the schema's fields the segment's file holds (null: all).</summary>
    public int? FieldsInFile { get; init; }

    /// <summary>The rows kept, in order (live at the merge's durable timestamp and not expired).</summary>
    public required int[] Kept { get; init; }
}

/// <summary>The write of one compaction merge, as a shard hands it to a writer outside its process
/// (<see cref="QuiverOptions.MergesElsewhere"/>: a cluster's work queue, src/Quiver.Cluster): the sources' files and the
/// rows of each the shard decided to keep, the merged segment's id, partition and path. The shard keeps every rule about
/// deletes (which rows are kept, the marks that arrive while the file is written: <c>Shard.Merges.cs</c>); the writer
/// only copies rows, with the code the shard's own merge uses (<see cref="Write"/>), so both write the same file.</summary>
internal sealed record SegmentMerge
{
    /// <summary>The schema the sources are read and the merged segment written with.</summary>
    public required CollectionSchema Schema { get; init; }

    public required IReadOnlyList<SegmentMergeSource> Sources { get; init; }

    public required long MergedId { get; init; }

    public required long PartitionId { get; init; }

    /// <summary>Where the merged segment's file must be in the shard's file system when the merge is handed back.</summary>
    public required string MergedPath { get; init; }

    /// <summary>The writer's side: opens each source's file at <paramref name="sourcePaths"/> (in <see cref="Sources"/>'
    /// order) on <paramref name="fs"/>, checked as a shard opens it, and writes the kept rows to
    /// <paramref name="mergedPath"/>. Returns the segment's size (<see cref="SegmentFile.Write"/>).</summary>
    public long Run(IFileSystem fs, IReadOnlyList<string> sourcePaths, string mergedPath)
    {
        var opened = new List<Segment>(Sources.Count);
        try
        {
            for (var i = 0; i < Sources.Count; i++)
            {
                opened.Add(SegmentFile.Open(fs, sourcePaths[i], Schema, Sources[i].Id, Sources[i].FieldsInFile));
            }

            return Write(fs, mergedPath, Schema, MergedId, PartitionId, opened, [.. Sources.Select(s => s.Kept)]);
        }
        finally
        {
            opened.ForEach(s => s.Release());
        }
    }

    /// <summary>Writes the <paramref name="kept"/> rows of <paramref name="sources"/>, in order, as segment
    /// <paramref name="id"/> at <paramref name="path"/> (durably: <see cref="SegmentFile.Write"/>) and returns its size.
    /// The one merge write: a shard's own and a writer's elsewhere.</summary>
    public static long Write(IFileSystem fs, string path, CollectionSchema schema, long id, long partitionId, IReadOnlyList<Segment> sources, IReadOnlyList<int[]> kept)
    {
        var (batch, insertTs, vectors) = Gather(schema, sources, kept, kept.Sum(k => k.Length));
        return SegmentFile.Write(fs, path, id, partitionId, batch, insertTs, vectors);
    }

    /// <summary>The given rows of the sources, in order, as one batch of scalars, their insert timestamps, and one array
    /// per vector field (the batch's vector columns are left empty).</summary>
    private static (RowBatch Batch, long[] InsertTs, ReadOnlyMemory<float>[]?[] Vectors) Gather(CollectionSchema schema, IReadOnlyList<Segment> sources, IReadOnlyList<int[]> kept, int total)
    {
        var parts = new List<RowBatch>(sources.Count);
        var insertTs = new long[total];
        var vectors = new ReadOnlyMemory<float>[]?[schema.Fields.Length];
        var arrays = new float[schema.Fields.Length][];
        for (var f = 0; f < arrays.Length; f++)
        {
            if (schema.Fields[f] is { IsVector: true } vf && vf.VectorWidth() is var dim)
            {
                arrays[f] = new float[checked(total * dim)];
                vectors[f] = [arrays[f]];
            }
        }

        var at = 0;
        for (var i = 0; i < sources.Count; i++)
        {
            var rows = kept[i];
            parts.Add(sources[i].Extract(rows, includeVectors: false));
            sources[i].InsertTimestamps(rows).CopyTo(insertTs, at);
            using (var snap = sources[i].Snapshot())
            {
                for (var f = 0; f < arrays.Length; f++)
                {
                    if (arrays[f] is { } target)
                    {
                        var view = snap.Vectors[f];
                        for (var r = 0; r < rows.Length; r++)
                        {
                            view.Row(rows[r]).CopyTo(target.AsSpan((at + r) * view.Dimension, view.Dimension));
                        }
                    }
                }
            }

            at += rows.Length;
        }

        return (RowBatches.Concat(schema, parts), insertTs, vectors);
    }
}
