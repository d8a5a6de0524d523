using Quiver.Embeddings;
using Quiver.Samples.HandbookQa;

// dotnet run --project samples/HandbookQa [question] [folder of .md files]
var question = args.Length > 0 ? args[0] : HandbookAssistant.DefaultQuestion;
var documents = args.Length > 1 ? args[1] : Path.Combine(AppContext.BaseDirectory, "handbook");
using var providers = new EmbeddingProviders();
var folder = Path.Combine(Path.GetTempPath(), $"quiver-handbook-{Guid.NewGuid():N}");
var answer = await HandbookAssistant.RunAsync(folder, providers, Passage.Read(documents), question, ["leave.md", "travel.md"]);
Console.WriteLine(answer.Prompt);
