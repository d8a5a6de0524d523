using System.Globalization;
using System.Text.Json.Nodes;
using Quiver.Indexing;

namespace Quiver.Bench;

/// <summary>The index <c>scale</c> builds on the collection and alone (<c>--index</c>, <c>--build</c>), and the search
/// parameters it measures each point with (<c>--search</c>, a JSON list: one sweep point per object). Without them:
/// HNSW with <c>--M</c> / <c>--efc</c>, searched with <c>--ef</c>, as before the options existed.</summary>
internal sealed record ScaleIndex(IndexKind Kind, IReadOnlyDictionary<string, string> Build, IReadOnlyList<ScaleSearch> Search)
{
    public string Describe => string.Create(CultureInfo.InvariantCulture,
        $"{Kind.ToMilvusName()} {string.Join(' ', Build.Select(p => $"{p.Key}={p.Value}"))}, search {string.Join(" / ", Search.Select(s => s.Label))}");

    public static ScaleIndex Of(string kindName, string? build, string? search, int m, int efc, int ef)
    {
        if (!IndexKindNames.TryParse(kindName, out var kind))
        {
            throw new ArgumentException($"--index: unknown index type '{kindName}'");
        }
        var buildParams = build is null
            ? kind == IndexKind.Hnsw
                ? new Dictionary<string, string> { ["M"] = Text(m), ["efConstruction"] = Text(efc) }
                : throw new ArgumentException($"--index {kindName}: give its build parameters with --build '{{...}}' (e.g. '{{\"nlist\":1024}}')")
            : Flat(JsonNode.Parse(build) as JsonObject ?? throw new ArgumentException("--build: expected a JSON object"), "--build");
        IReadOnlyList<ScaleSearch> searches = search is null
            ? kind == IndexKind.Hnsw
                ? [ScaleSearch.Of(new JsonObject { ["ef"] = ef })]
                : throw new ArgumentException($"--index {kindName}: give its search parameters with --search '[{{...}}, ...]' (e.g. '[{{\"nprobe\":16}}]')")
            : [.. (JsonNode.Parse(search) as JsonArray ?? throw new ArgumentException("--search: expected a JSON list of objects"))
                .Select(n => ScaleSearch.Of(n as JsonObject ?? throw new ArgumentException("--search: every item must be a JSON object")))];
        if (searches.Count == 0)
        {
            throw new ArgumentException("--search: the list is empty");
        }
        return new ScaleIndex(kind, buildParams, searches);
    }

    internal static Dictionary<string, string> Flat(JsonObject o, string what) => o.ToDictionary(
        p => p.Key,
        p => p.Value is JsonValue v ? v.ToString() : throw new ArgumentException($"{what}: '{p.Key}' must be a number or a string"));

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>One point of the search sweep: its label (<c>nprobe=16</c>), its JSON as the gRPC and REST requests carry
/// it, the engine's request parameters and the index's parsed form (for the index alone).</summary>
internal sealed record ScaleSearch(string Label, string Json, IReadOnlyDictionary<string, string> Values, AnnSearchParams Parsed)
{
    public static ScaleSearch Of(JsonObject o)
    {
        var values = ScaleIndex.Flat(o, "--search");
        return new ScaleSearch(string.Join(' ', values.Select(p => $"{p.Key}={p.Value}")), o.ToJsonString(), values,
            AnnSearchParams.Parse(new IndexParameters(values)));
    }

    public Quiver.SearchRequest Request(float[] query, int k) => new()
    {
        Vectors = [query],
        AnnsField = "vector",
        Limit = k,
        SearchParams = new Dictionary<string, string>(Values),
    };
}
