using Quiver.Catalog;
using Quiver.Segments;
using Quiver.Storage;

namespace Quiver.Indexing;

/// <summary>One index build over one sealed segment's vector field, as a shard hands it to a builder outside its
/// process (<see cref="QuiverOptions.IndexBuildsElsewhere"/>: a cluster's work queue, src/Quiver.Cluster): what the
/// builder needs to open the segment's file and build the very index the shard would build itself (same parameters,
/// same seed, same row count for AUTOINDEX's choice).</summary>
internal sealed record SegmentIndexBuild
{
    /// <summary>The segment's file in the shard's file system.</summary>
    public required string SegmentPath { get; init; }

    public required long SegmentId { get; init; }

    /// <summary>How many of <see cref="Schema"/>'s fields the segment's file holds (null: all).</summary>
    public int? FieldsInFile { get; init; }

    /// <summary>The schema the segment is read with.</summary>
    public required CollectionSchema Schema { get; init; }

    public required IndexMeta Index { get; init; }

    /// <summary>Where the index's file must be in the shard's file system when the build is handed back.</summary>
    public required string IndexPath { get; init; }

    /// <summary>Rows of the shard's sealed segments when the build was queued (<see cref="IndexBuildOptions.IndexRows"/>).</summary>
    public long IndexRows { get; init; }

    public long MemoryBudgetBytes { get; init; } = long.MaxValue;

    public KMeansInit KMeansInit { get; init; } = IndexBuildOptions.Default.KMeansInit;

    /// <summary>Builds <paramref name="index"/> over <paramref name="raw"/> and saves it at <paramref name="path"/> on
    /// <paramref name="fs"/>; answers the index (loaded again from its file when it serves from the file). The one build
    /// of the engine: a shard's own, and a builder's elsewhere (<see cref="Run"/>).</summary>
    public static VectorIndex BuildAndSave(IndexMeta index, VectorView raw, IndexBuildOptions options, IFileSystem fs, string path, CancellationToken token)
    {
        IndexKindNames.TryParse(index.IndexType, out var kind);
        var p = new IndexParameters(index.Params);
        var built = kind == IndexKind.AutoIndex
            ? AutoIndex.Build(index.Metric, p, raw, options, token)
            : IndexFactory.Build(kind, index.Metric, p, raw, options, token);
        try
        {
            token.ThrowIfCancellationRequested();
            IndexFactory.Save(built, fs, path);
            if (built.ServesFromFile)
            {
                built.Dispose();
                built = IndexFactory.Load(IndexFile.Open(fs, path), raw);
            }

            return built;
        }
        catch
        {
            built.Dispose();
            throw;
        }
    }

    /// <summary>The builder's side: opens the segment's file at <paramref name="segmentPath"/> on <paramref name="fs"/>
    /// (checked as a shard opens it: header, directory, every block's bounds and checksums on first touch), builds the
    /// index with <paramref name="threads"/> threads and saves it at <paramref name="indexPath"/>.</summary>
    public void Run(IFileSystem fs, string segmentPath, string indexPath, int threads, CancellationToken token)
    {
        var seg = SegmentFile.Open(fs, segmentPath, Schema, SegmentId, FieldsInFile);
        try
        {
            VectorView raw;
            using (var snap = seg.Snapshot())
            {
                raw = snap.Vectors[Schema.IndexOf(Index.FieldName)];
            }

            var options = new IndexBuildOptions(
                Threads: Math.Max(1, threads),
                Seed: unchecked((int)SegmentId),
                MemoryBudgetBytes: MemoryBudgetBytes,
                IndexRows: IndexRows,
                KMeansInit: KMeansInit);
            BuildAndSave(Index, raw, options, fs, indexPath, token).Dispose();
        }
        finally
        {
            seg.Release();
        }
    }
}
