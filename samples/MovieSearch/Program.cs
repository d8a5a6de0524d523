using Quiver.Embeddings;
using Quiver.Samples.MovieSearch;

// dotnet run --project samples/MovieSearch [data folder]: a fresh folder each run unless one is given.
var folder = args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), $"quiver-movies-{Guid.NewGuid():N}");
using var providers = new EmbeddingProviders();
var movies = Movie.Load(Path.Combine(AppContext.BaseDirectory, "movies.json"));
await MovieSearchDemo.RunAsync(folder, providers, movies, Console.Out);
