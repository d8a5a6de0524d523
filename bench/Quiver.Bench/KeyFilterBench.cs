using System.Diagnostics;
using System.Globalization;
using Quiver.Segments;

namespace Quiver.Bench;

/// <summary>The segment key filter (format block kind 10, <see cref="KeyFilter"/>: 10 bits a key, 7 positions by double
/// hashing over the whole filter) against a cache-line-blocked candidate of the same size (<see cref="BlockedFilter"/>:
/// one 64-byte block chosen by the key's hash, 7 positions inside it), built from the same keys and probed with the same
/// keys in one run: the false-positive rate over keys not added, the time of a probe for absent and for present keys
/// (alternated rounds, median), and the 4 KiB pages a probe touches (each page a first read has to checksum after a
/// reopen). Both are read through the same <c>PagedView</c> the engine reads its filters with.</summary>
internal static class KeyFilterBench
{
    public static Task<int> RunAsync(CommandLine options)
    {
        options.RejectUnknown("keys", "probes", "rounds", "json");
        var report = new Report();
        var rounds = options.Int("rounds", 5);
        var probes = options.Int("probes", 2_000_000);
        Console.WriteLine(Report.Machine());
        foreach (var n in options.Text("keys", "100000,1000000").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)))
        {
            // Keys as a segment holds them: distinct Int64 keys, here a shuffled range with a stride.
            var random = new Random(13);
            var keys = new long[n];
            for (var i = 0; i < n; i++)
            {
                keys[i] = (i * 7L) + 3;
            }

            random.Shuffle(keys);
            var absent = Enumerable.Range(0, probes).Select(i => (((long)random.Next() << 20) + random.Next()) * 7 + 5).ToArray();
            var present = Enumerable.Range(0, probes).Select(_ => keys[random.Next(n)]).ToArray();

            var current = new ulong[KeyFilter.WordCount(n)];
            foreach (var k in keys)
            {
                KeyFilter.Add(current, KeyFilter.Hash(k));
            }

            var blocked = new ulong[BlockedFilter.WordCount(n)];
            foreach (var k in keys)
            {
                BlockedFilter.Add(blocked, KeyFilter.Hash(k));
            }

            var cv = new PagedView<ulong>(current);
            var bv = new PagedView<ulong>(blocked);
            var tag = n.ToString(CultureInfo.InvariantCulture);
            report.Print($"{tag}.current.bytes", current.Length * 8.0, "bytes", "F0");
            report.Print($"{tag}.blocked.bytes", blocked.Length * 8.0, "bytes", "F0");

            // False positives: absent keys the filter lets through (none of them was added: stride 7, offset 5 vs 3).
            var fpCurrent = absent.Count(k => KeyFilter.MayContain(cv, KeyFilter.Hash(k)));
            var fpBlocked = absent.Count(k => BlockedFilter.MayContain(bv, KeyFilter.Hash(k)));
            report.Print($"{tag}.current.fpr", 100.0 * fpCurrent / probes, "%", "F3");
            report.Print($"{tag}.blocked.fpr", 100.0 * fpBlocked / probes, "%", "F3");

            // Neither may miss a key it holds.
            if (present.Any(k => !KeyFilter.MayContain(cv, KeyFilter.Hash(k)) || !BlockedFilter.MayContain(bv, KeyFilter.Hash(k))))
            {
                throw new InvalidOperationException("a filter missed a key it holds");
            }

            report.Print($"{tag}.current.pages_per_probe", PagesPerProbe(absent, current, blocked: false), "pages", "F2");
            report.Print($"{tag}.blocked.pages_per_probe", PagesPerProbe(absent, blocked, blocked: true), "pages", "F2");

            foreach (var (name, set) in new[] { ("absent", absent), ("present", present) })
            {
                var tc = new List<double>();
                var tb = new List<double>();
                for (var r = 0; r < rounds; r++)
                {
                    // Alternated, so that load changes during the run fall on both.
                    tc.Add(Time(set, k => KeyFilter.MayContain(cv, KeyFilter.Hash(k))));
                    tb.Add(Time(set, k => BlockedFilter.MayContain(bv, KeyFilter.Hash(k))));
                }

                var c = Median(tc);
                var b = Median(tb);
                report.Print($"{tag}.{name}.current", c, "ns/probe", "F2");
                report.Print($"{tag}.{name}.blocked", b, "ns/probe", "F2");
                report.Print($"{tag}.{name}.speedup", c / b, "x (current/blocked)", "F2");
            }
        }

        report.WriteJson(options.Text("json"));
        return Task.FromResult(0);
    }

    private static double Time(long[] keys, Func<long, bool> probe)
    {
        var hits = 0;
        var start = Stopwatch.GetTimestamp();
        foreach (var k in keys)
        {
            hits += probe(k) ? 1 : 0;
        }

        var ns = Stopwatch.GetElapsedTime(start).TotalNanoseconds / keys.Length;
        GC.KeepAlive(hits);
        return ns;
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        return values[values.Count / 2];
    }

    /// <summary>Distinct 4 KiB pages of a filter a probe reads until its answer (the current filter stops at its first
    /// clear bit; the blocked one reads one block).</summary>
    private static double PagesPerProbe(long[] keys, ulong[] filter, bool blocked)
    {
        long pages = 0;
        var seen = new HashSet<long>();
        var sample = keys.Take(100_000).ToArray();
        foreach (var k in sample)
        {
            seen.Clear();
            var h = KeyFilter.Hash(k);
            if (blocked)
            {
                seen.Add(BlockedFilter.BlockOf(h, filter.Length) * 64 / 4096);
            }
            else
            {
                var bits = (ulong)filter.Length * 64;
                var (h1, h2) = (h & 0xFFFF_FFFF, (h >> 32) | 1);
                for (var i = 0UL; i < KeyFilter.Hashes; i++)
                {
                    var bit = unchecked(h1 + (i * h2)) % bits;
                    seen.Add((long)(bit >> 6) * 8 / 4096);
                    if ((filter[(int)(bit >> 6)] & (1UL << (int)(bit & 63))) == 0)
                    {
                        break;
                    }
                }
            }

            pages += seen.Count;
        }

        return (double)pages / sample.Length;
    }
}

/// <summary>A cache-line-blocked bloom filter (Putze, Sanders, Singler): the key's hash picks one 64-byte block (8
/// words) by multiply-shift of its high 32 bits, then 7 bit positions inside the block from 9-bit slices of a second
/// mix of the hash. Sized like <see cref="KeyFilter"/> (10 bits a key), rounded up to whole blocks.</summary>
internal static class BlockedFilter
{
    public const int Hashes = 7;

    public static int WordCount(int count) => Math.Max(1, (int)(((long)count * KeyFilter.BitsPerKey + 511) / 512)) * 8;

    public static long BlockOf(ulong hash, int words) => (long)(((hash >> 32) * (ulong)(words / 8)) >> 32);

    public static void Add(Span<ulong> words, ulong hash)
    {
        var at = (int)BlockOf(hash, words.Length) * 8;
        var g = unchecked(hash * 0x9E3779B97F4A7C15UL);
        for (var i = 0; i < Hashes; i++)
        {
            var bit = (int)((g >> (9 * i)) & 511);
            words[at + (bit >> 6)] |= 1UL << (bit & 63);
        }
    }

    public static bool MayContain(PagedView<ulong> words, ulong hash)
    {
        var at = (int)BlockOf(hash, words.Length) * 8;
        var g = unchecked(hash * 0x9E3779B97F4A7C15UL);
        for (var i = 0; i < Hashes; i++)
        {
            var bit = (int)((g >> (9 * i)) & 511);
            if ((words[at + (bit >> 6)] & (1UL << (bit & 63))) == 0)
            {
                return false;
            }
        }

        return true;
    }
}
