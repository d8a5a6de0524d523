using Quiver.Segments;

namespace Quiver.Indexing;

/// <summary>8-bit scalar quantization with a trained range per dimension: value <c>x</c> of dimension <c>d</c> becomes
/// <c>round((x - min[d]) / step[d])</c> in 0..255, and decodes to <c>min[d] + code * step[d]</c>. A dimension with one
/// value everywhere gets step 1 and code 0, so it decodes exactly.</summary>
internal static class ScalarQuantizer
{
    public const int Levels = 255;

    /// <summary>Per-dimension minimum and step over all rows of <paramref name="rows"/>.</summary>
    public static void Train(VectorView rows, Span<float> min, Span<float> step)
    {
        var dim = rows.Dimension;
        Span<float> max = new float[dim];
        min.Fill(float.PositiveInfinity);
        max.Fill(float.NegativeInfinity);
        for (var r = 0; r < rows.Count; r++)
        {
            var v = rows.Row(r);
            for (var d = 0; d < dim; d++)
            {
                min[d] = MathF.Min(min[d], v[d]);
                max[d] = MathF.Max(max[d], v[d]);
            }
        }

        for (var d = 0; d < dim; d++)
        {
            if (rows.Count == 0)
            {
                min[d] = 0;
                max[d] = 0;
            }

            var range = max[d] - min[d];
            step[d] = range > 0 ? range / Levels : 1f;
        }
    }

    /// <summary>Encodes <paramref name="x"/> into <paramref name="code"/>; returns the squared norm of the decoded vector
    /// (what an L2 search adds to the query's norm).</summary>
    public static float Encode(ReadOnlySpan<float> x, ReadOnlySpan<float> min, ReadOnlySpan<float> step, Span<byte> code)
    {
        double norm = 0;
        for (var d = 0; d < x.Length; d++)
        {
            var c = (int)MathF.Round((x[d] - min[d]) / step[d]);
            c = Math.Clamp(c, 0, Levels);
            code[d] = (byte)c;
            var decoded = (double)min[d] + (c * (double)step[d]);
            norm += decoded * decoded;
        }

        return (float)norm;
    }
}
