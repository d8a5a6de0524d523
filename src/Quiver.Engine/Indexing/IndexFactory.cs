using Quiver.Segments;

namespace Quiver.Indexing;

/// <summary>Builds, validates and loads indexes by kind: the one place that knows every index type.</summary>
internal static class IndexFactory
{
    /// <summary>Checks build parameters before any work starts; throws naming the index, parameter and value.</summary>
    public static void Validate(IndexKind kind, MetricType metric, IndexParameters p, int dimension)
    {
        _ = metric;
        switch (kind)
        {
            case IndexKind.Flat:
                FlatIndex.Validate(p);
                break;
            case IndexKind.Hnsw:
                HnswIndex.Validate(p);
                break;
            case IndexKind.IvfFlat:
                IvfFlatIndex.Validate(p);
                break;
            case IndexKind.IvfSq8:
                IvfSq8Index.Validate(p);
                break;
            case IndexKind.IvfPq:
                IvfPqIndex.Validate(p, dimension);
                break;
            case IndexKind.Annoy:
                AnnoyIndex.Validate(p);
                break;
            case IndexKind.DiskAnn:
                DiskAnnIndex.Validate(p);
                break;
            case IndexKind.BinFlat:
                BinaryFlatIndex.Validate(p);
                break;
            case IndexKind.BinIvfFlat:
                BinaryIvfIndex.Validate(p);
                break;
            default:
                throw new QuiverException(QuiverErrorCode.InvalidArgument, $"index type {kind.ToMilvusName()} has no direct build: AUTOINDEX resolves per segment (AutoIndex.Build)");
        }
    }

    /// <summary>Builds an index of <paramref name="kind"/> over <paramref name="raw"/>.</summary>
    public static VectorIndex Build(
        IndexKind kind, MetricType metric, IndexParameters p, VectorView raw, IndexBuildOptions options, CancellationToken cancellationToken)
    {
        _ = options;
        cancellationToken.ThrowIfCancellationRequested();
        return kind switch
        {
            IndexKind.Flat => new FlatIndex(metric, raw, p),
            IndexKind.Hnsw => HnswIndex.Build(metric, raw, p, options, cancellationToken),
            IndexKind.IvfFlat => IvfFlatIndex.Build(metric, p, raw, options, cancellationToken),
            IndexKind.IvfSq8 => IvfSq8Index.Build(metric, p, raw, options, cancellationToken),
            IndexKind.IvfPq => IvfPqIndex.Build(metric, p, raw, options, cancellationToken),
            IndexKind.Annoy => AnnoyIndex.Build(metric, p, raw, options, cancellationToken),
            IndexKind.DiskAnn => DiskAnnIndex.Build(metric, p, raw, options, cancellationToken),
            IndexKind.BinFlat => new BinaryFlatIndex(metric, raw, p),
            IndexKind.BinIvfFlat => BinaryIvfIndex.Build(metric, p, raw, options, cancellationToken),
            _ => throw new QuiverException(QuiverErrorCode.InvalidArgument, $"index type {kind.ToMilvusName()} has no direct build: AUTOINDEX resolves per segment (AutoIndex.Build)"),
        };
    }

    /// <summary>Loads an index from a verified file over the segment's raw vectors; the index owns the reader.</summary>
    public static VectorIndex Load(IndexFileReader reader, VectorView raw)
    {
        try
        {
            return LoadOwned(reader, raw);
        }
        catch
        {
            // A loader that throws has not taken the reader: unmap it here rather than leak the mapping.
            reader.Dispose();
            throw;
        }
    }

    private static VectorIndex LoadOwned(IndexFileReader reader, VectorView raw)
    {
        if (reader.Dimension != raw.Dimension || reader.Count != raw.Count)
        {
            Throw.Corrupt(reader.Path, $"index covers {reader.Count} rows of dimension {reader.Dimension}; the segment has {raw.Count} of {raw.Dimension}");
        }

        var calibrated = reader.Has("auto") ? CalibratedIndex.ReadDefaults(reader) : (AnnSearchParams?)null;
        VectorIndex index;
        switch (reader.Kind)
        {
            case IndexKind.Flat:
                index = new FlatIndex(reader.Metric, raw, reader.BuildParams);
                reader.Dispose();
                break;
            case IndexKind.Hnsw:
                index = HnswIndex.Load(reader, raw);
                break;
            case IndexKind.IvfFlat:
                index = IvfFlatIndex.Load(reader, raw);
                break;
            case IndexKind.IvfSq8:
                index = IvfSq8Index.Load(reader, raw);
                break;
            case IndexKind.IvfPq:
                index = IvfPqIndex.Load(reader, raw);
                break;
            case IndexKind.Annoy:
                index = AnnoyIndex.Load(reader, raw);
                break;
            case IndexKind.DiskAnn:
                index = DiskAnnIndex.Load(reader, raw);
                break;
            case IndexKind.BinFlat:
                index = new BinaryFlatIndex(reader.Metric, raw, reader.BuildParams);
                reader.Dispose();
                break;
            case IndexKind.BinIvfFlat:
                index = BinaryIvfIndex.Load(reader, raw);
                break;
            default:
                Throw.Corrupt(reader.Path, $"unknown index kind {(int)reader.Kind}");
                return null!;
        }

        return calibrated is { } defaults ? new CalibratedIndex(index, defaults) : index;
    }

    /// <summary>Writes <paramref name="index"/> to <paramref name="path"/> durably; returns the file length.</summary>
    public static long Save(VectorIndex index, Storage.IFileSystem fs, string path)
    {
        var writer = new IndexFileWriter(index.Kind, index.Metric, index.Dimension, index.Count, index.BuildParams);
        index.Write(writer);
        return writer.WriteTo(fs, path);
    }
}
