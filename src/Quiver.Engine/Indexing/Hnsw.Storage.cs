using Quiver.Segments;

namespace Quiver.Indexing;

/// <summary>Persistence: the index's native regions are the file's blocks byte for byte, so loading maps the file and
/// points at them (docs/format-index.md lists the blocks).
/// <list type="table">
/// <item><term>hnsw</term><description>int32 × 9: version, M, 2M, efConstruction, padded dimension, layer-0 stride,
/// entry point, top level, ints per upper list.</description></item>
/// <item><term>level0</term><description>count × stride bytes: per node its SQ8 code, neighbour count and ids.</description></item>
/// <item><term>levels</term><description>count bytes: each node's top layer.</description></item>
/// <item><term>upper_start</term><description>count × int32: where a node's upper lists start in <c>upper</c> (-1: none).</description></item>
/// <item><term>upper</term><description>int32 lists [count][M ids] for layers 1..top of each node.</description></item>
/// <item><term>sq8_min, sq8_step</term><description>padded dimension × float32: the quantizer.</description></item>
/// </list></summary>
internal sealed unsafe partial class HnswIndex
{
    private const int FormatVersion = 1;

    private HnswIndex(IndexFileReader reader, VectorView raw)
        : base(IndexKind.Hnsw, reader.Metric, raw, reader.BuildParams)
    {
        var h = reader.Block<int>("hnsw");
        if (h.Length < 9 || h[0] != FormatVersion)
        {
            Throw.Corrupt(reader.Path, $"block 'hnsw' has {h.Length} values, version {(h.Length > 0 ? h[0] : -1)}; expected 9, version {FormatVersion}");
        }

        _m = h[1];
        _maxM0 = h[2];
        _efConstruction = h[3];
        _dimPad = h[4];
        _stride = h[5];
        _entryPoint = h[6];
        _maxLevel = h[7];
        _upperListInts = h[8];
        var count = raw.Count;
        if (_m < 2 || _maxM0 != 2 * _m || _dimPad != PadDimension(raw.Dimension) || _stride != StrideOf(_dimPad, _maxM0)
            || _upperListInts != _m + 1 || _entryPoint >= count || _entryPoint < -1 || _maxLevel > MaxLevelCap)
        {
            Throw.Corrupt(reader.Path, $"block 'hnsw' is inconsistent: M {_m}, stride {_stride}, entry {_entryPoint}, top level {_maxLevel}");
        }

        _level0 = Place(reader, "level0", count * (long)_stride);
        _levels = Place(reader, "levels", count);
        _upperStart = (int*)Place(reader, "upper_start", count * (long)sizeof(int));
        _upperInts = reader.Block("upper").Length / sizeof(int);
        _upper = (int*)reader.Pointer("upper");
        _min = (float*)Place(reader, "sq8_min", _dimPad * (long)sizeof(float));
        _step = (float*)Place(reader, "sq8_step", _dimPad * (long)sizeof(float));
        (_invStep, _weights) = Tables(_step, _dimPad);
        _reader = reader;
        CheckGraph(reader.Path);
    }

    /// <summary>Loads an index over <paramref name="raw"/> from a verified file, reading its blocks in place; the
    /// index owns <paramref name="reader"/> from here on.</summary>
    public static HnswIndex Load(IndexFileReader reader, VectorView raw) => new(reader, raw);

    /// <inheritdoc/>
    public override void Write(IndexFileWriter writer)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        int[] header = [FormatVersion, _m, _maxM0, _efConstruction, _dimPad, (int)_stride, _entryPoint, _maxLevel, _upperListInts];
        writer.Add("hnsw", header);
        AddRegion(writer, "level0", _level0, Count * (long)_stride);
        AddRegion(writer, "levels", _levels, Count);
        AddRegion(writer, "upper_start", _upperStart, Count * (long)sizeof(int));
        AddRegion(writer, "upper", _upper, _upperInts * sizeof(int));
        AddRegion(writer, "sq8_min", _min, _dimPad * (long)sizeof(float));
        AddRegion(writer, "sq8_step", _step, _dimPad * (long)sizeof(float));
    }

    /// <summary>Checks every list's count and ids (a pass over the links, not the codes), so that a file the checksums
    /// accept but a faulty writer produced is reported as corrupt instead of sending a search out of bounds.</summary>
    private void CheckGraph(string path)
    {
        var count = Count;
        // No entry point: every row is a null vector (none is in the graph).
        if (_entryPoint >= 0 && _levels[_entryPoint] != _maxLevel)
        {
            Throw.Corrupt(path, $"entry point {_entryPoint} is on level {_levels[_entryPoint]}, the top level is {_maxLevel}");
        }

        for (var n = 0; n < count; n++)
        {
            var level = (int)_levels[n];
            if (level > Math.Max(_maxLevel, 0) || (level == 0) != (_upperStart[n] < 0)
                || (level > 0 && _upperStart[n] + ((long)level * _upperListInts) > _upperInts))
            {
                Throw.Corrupt(path, $"node {n}: level {level} or upper list start {_upperStart[n]} out of range");
            }

            for (var l = 0; l <= level; l++)
            {
                var list = Links(n, l);
                var size = list[0];
                if ((uint)size > (uint)MaxLinks(l))
                {
                    Throw.Corrupt(path, $"node {n}: {size} links on layer {l}, at most {MaxLinks(l)}");
                }

                for (var j = 1; j <= size; j++)
                {
                    if ((uint)list[j] >= (uint)count)
                    {
                        Throw.Corrupt(path, $"node {n}: link to {list[j]} on layer {l}, beyond the {count} rows");
                    }
                }
            }
        }
    }

    private static void AddRegion(IndexFileWriter writer, string name, void* start, long length)
    {
        var address = (nint)start;
        writer.Add(name, length, () => new ReadOnlySpan<byte>((void*)address, (int)length));
    }

    private static byte* Place(IndexFileReader reader, string name, long expected)
    {
        var length = reader.Block(name).Length;
        if (length != expected)
        {
            Throw.Corrupt(reader.Path, $"block '{name}' is {length} bytes; expected {expected}");
        }

        return reader.Pointer(name);
    }
}
