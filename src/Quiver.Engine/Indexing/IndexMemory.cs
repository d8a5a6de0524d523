namespace Quiver.Indexing;

/// <summary>Memory an index will hold beyond the raw vectors (what <see cref="VectorIndex.MemoryBytes"/> reports once
/// built), estimated before building from its kind, parameters, row count and dimension: for index advice, and to
/// check a build fits before it starts. Structures whose size depends on the data (HNSW's upper layers, ANNOY's tree
/// shapes) are estimated from their expected sizes.</summary>
internal static class IndexMemory
{
    public static long Estimate(IndexKind kind, MetricType metric, IndexParameters p, int count, int dimension)
    {
        long n = count;
        long d = dimension;
        switch (kind)
        {
            case IndexKind.Flat:
                return 0;
            case IndexKind.Hnsw:
            {
                var m = HnswIndex.Settings.Parse(p).M;
                var dimPad = HnswIndex.PadDimension(dimension);

                // Layer 0, a level byte and an upper-list start per node; a node has 1/(M-1) upper layers on average
                // (levels are geometric with ratio 1/M), each a list of M+1 ints; and the quantizer.
                var upperInts = (long)Math.Ceiling(n * (m + 1) / (double)(m - 1));
                return (n * HnswIndex.StrideOf(dimPad, 2 * m)) + n + (n * sizeof(int)) + (upperInts * sizeof(int)) + (2L * dimPad * sizeof(float));
            }

            case IndexKind.IvfFlat or IndexKind.IvfSq8 or IndexKind.IvfPq:
            {
                long nlist = IvfIndex.NlistOf("index " + kind.ToMilvusName(), p, Math.Max(count, 1));
                var lists = (nlist * d * sizeof(float)) + ((nlist + 1) * sizeof(int)) + (n * sizeof(int));
                if (kind == IndexKind.IvfFlat)
                {
                    return lists + (n * d * sizeof(float));
                }

                if (kind == IndexKind.IvfSq8)
                {
                    return lists + (2 * d * sizeof(float)) + (n * d) + (n * sizeof(float));
                }

                long pqM = IvfPqIndex.MOf(p, dimension);
                var nbits = p.GetInt("index IVF_PQ", "nbits", 8, 1, 16);
                long ksub = 1L << nbits;
                var terms = nlist * pqM * ksub * sizeof(float);
                return lists + (ksub * d * sizeof(float)) + (n * pqM * (nbits <= 8 ? 1 : 2))
                    + (metric == MetricType.L2 && terms <= IvfPqIndex.MaxPrecomputedBytes ? terms : 0);
            }

            case IndexKind.Annoy:
            {
                var trees = p.GetInt("index ANNOY", "n_trees", 8, 1, 1024);

                // 2-means splits leave leaves about two-thirds full on average: about 1.5n / LeafSize leaves per tree,
                // one split node fewer, each with a normal, an offset and two links; every tree lists every row once.
                var leaves = Math.Max(1, (long)Math.Ceiling(1.5 * n / AnnoyIndex.LeafSize));
                var nodes = leaves - 1;
                return trees * ((nodes * ((d * sizeof(float)) + sizeof(float) + (2 * sizeof(int)))) + ((leaves + 1) * sizeof(int)) + (n * sizeof(int)) + sizeof(int));
            }

            case IndexKind.DiskAnn:
            {
                // Resident: PQ codes (m bytes a row), codebooks, and the node cache; the node block stays on disk.
                var s = DiskAnnIndex.Settings.Parse(p);
                long pqM = DiskAnnIndex.PqM(s.PqRatio, dimension);
                long ksub = 1L << DiskAnnIndex.PqBits(count);
                var record = new DiskAnnIndex.NodeLayout(dimension, s.MaxDegree).RecordBytes;
                var cached = Math.Min(n, (long)(s.CacheRatio * n * d * sizeof(float)) / record);
                return (n * pqM) + (ksub * d * sizeof(float)) + (cached * (record + 12));
            }

            case IndexKind.BinFlat:
                return 0;
            case IndexKind.BinIvfFlat:
                return BinaryIvfIndex.EstimateBytes(p, count, dimension);
            case IndexKind.AutoIndex:
            {
                var (resolved, rp) = AutoIndex.Resolve(p, count, dimension);
                return Estimate(resolved, metric, rp, count, dimension);
            }

            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown index kind");
        }
    }
}
