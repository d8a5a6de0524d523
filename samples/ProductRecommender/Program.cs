using Quiver.Samples.ProductRecommender;

// dotnet run --project samples/ProductRecommender [data folder]: a fresh folder each run unless one is given.
var folder = args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), $"quiver-products-{Guid.NewGuid():N}");
await Recommender.RunAsync(folder, ProductCatalog.Generate(), Recommender.Questions, Console.Out);
