using System.Text.Json;

namespace Quiver.Samples.MovieSearch;

/// <summary>One row of movies.json: a title, its release year and a one-sentence description.</summary>
internal sealed record Movie(long Id, string Title, long Year, string Description)
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNameCaseInsensitive = true };

    /// <summary>The movies of a JSON array file.</summary>
    public static Movie[] Load(string path) =>
        JsonSerializer.Deserialize<Movie[]>(File.ReadAllText(path), Json) ?? throw new InvalidDataException($"{path} holds no movies");
}
