namespace Quiver.Indexing;

/// <summary>8-bit scalar quantization with a trained range per dimension: value <c>x</c> of dimension <c>d</c>, less an
/// optional base vector <c>b</c> (the cell's centroid, for residual coding), becomes
/// <c>round((x - b[d] - min[d]) / step[d])</c> in 0..255, and decodes to <c>b[d] + min[d] + code * step[d]</c>. A
/// dimension with one value everywhere gets step 1 and code 0, so it decodes exactly.</summary>
internal static class ScalarQuantizer
{
    public const int Levels = 255;

    /// <summary>Widens the running range [<paramref name="min"/>, <paramref name="max"/>] (start at +inf/-inf) by
    /// <paramref name="x"/> - <paramref name="baseVector"/>.</summary>
    public static void Observe(ReadOnlySpan<float> x, ReadOnlySpan<float> baseVector, Span<float> min, Span<float> max)
    {
        for (var d = 0; d < x.Length; d++)
        {
            var v = x[d] - baseVector[d];
            min[d] = MathF.Min(min[d], v);
            max[d] = MathF.Max(max[d], v);
        }
    }

    /// <summary>Turns observed ranges into steps; <paramref name="min"/> becomes 0 where nothing was observed.</summary>
    public static void Finish(Span<float> min, ReadOnlySpan<float> max, Span<float> step)
    {
        for (var d = 0; d < min.Length; d++)
        {
            if (!float.IsFinite(min[d]) || !float.IsFinite(max[d]))
            {
                min[d] = 0;
                step[d] = 1;
                continue;
            }

            var range = max[d] - min[d];
            step[d] = range > 0 ? range / Levels : 1f;
        }
    }

    /// <summary>Encodes <paramref name="x"/> - <paramref name="baseVector"/> into <paramref name="code"/>; returns the
    /// squared norm of the decoded vector (base included), which an L2 search adds to the query's norm.</summary>
    public static float Encode(ReadOnlySpan<float> x, ReadOnlySpan<float> baseVector, ReadOnlySpan<float> min, ReadOnlySpan<float> step, Span<byte> code)
    {
        double norm = 0;
        for (var d = 0; d < x.Length; d++)
        {
            var c = (int)MathF.Round((x[d] - baseVector[d] - min[d]) / step[d]);
            c = Math.Clamp(c, 0, Levels);
            code[d] = (byte)c;
            var decoded = (double)baseVector[d] + min[d] + (c * (double)step[d]);
            norm += decoded * decoded;
        }

        return (float)norm;
    }
}
