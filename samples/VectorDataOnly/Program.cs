using Microsoft.Extensions.VectorData;
using Quiver.Client;
using Quiver.VectorData;
using VectorDataOnly;

// Composition: the only lines that name Quiver. Over a server instead:
//   new QuiverVectorStore(await QuiverClient.ConnectAsync(new QuiverClientOptions { Address = "http://127.0.0.1:19530" }), ...)
// dotnet run --project samples/VectorDataOnly [data folder]: a fresh folder each run unless one is given.
var folder = args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), $"quiver-articles-{Guid.NewGuid():N}");
using VectorStore store = new QuiverVectorStore(await QuiverClient.OpenEmbeddedAsync(folder), new QuiverVectorStoreOptions { OwnsClient = true });

// The application: abstractions only.
var articles = SampleData.Articles();
await new ArticleLibrary(store).RunAsync(articles, SampleData.Queries(articles), Console.Out);
