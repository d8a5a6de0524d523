using System.Text;

namespace Quiver.Cli.Quickstart;

/// <summary>A deterministic text embedder that needs no model weights: each lower-cased word and each pair of adjacent
/// words is hashed (FNV-1a) to one of <see cref="Dimension"/> buckets with a hash-chosen sign, and the vector is
/// L2-normalized. Texts that share words get a high cosine similarity. It is the quickstart's stand-in for a sentence
/// model: good enough to show filtered similarity search, not semantic (it does not know "earbuds" ~ "headphones").</summary>
internal sealed class HashingEmbedder(int dimension = 384)
{
    public int Dimension { get; } = dimension;

    public float[] Embed(string text)
    {
        var v = new float[Dimension];
        var words = Tokenize(text);
        for (var i = 0; i < words.Count; i++)
        {
            Add(v, words[i], 1f);
            if (i + 1 < words.Count)
            {
                Add(v, words[i] + " " + words[i + 1], 0.5f);
            }
        }

        var norm = MathF.Sqrt(v.Sum(x => x * x));
        if (norm > 0)
        {
            for (var i = 0; i < v.Length; i++)
            {
                v[i] /= norm;
            }
        }
        else
        {
            // An empty text still needs a valid (non-zero) vector under cosine.
            v[0] = 1f;
        }

        return v;
    }

    private void Add(float[] v, string token, float weight)
    {
        var h = Fnv1a(token);
        var bucket = (int)(h % (uint)Dimension);
        var sign = (h >> 31) == 0 ? 1f : -1f;
        v[bucket] += sign * weight;
    }

    private static List<string> Tokenize(string text)
    {
        var words = new List<string>();
        var sb = new StringBuilder();
        foreach (var c in text)
        {
            if (char.IsLetterOrDigit(c))
            {
                sb.Append(char.ToLowerInvariant(c));
            }
            else if (sb.Length > 0)
            {
                words.Add(sb.ToString());
                sb.Clear();
            }
        }

        if (sb.Length > 0)
        {
            words.Add(sb.ToString());
        }

        return words;
    }

    private static uint Fnv1a(string s)
    {
        var h = 2166136261u;
        foreach (var b in Encoding.UTF8.GetBytes(s))
        {
            h = (h ^ b) * 16777619u;
        }

        return h;
    }
}
