using System.Text.Json.Nodes;
using Quiver.Cli.Ops.Import;
using Quiver.Server.Console;
using Quiver.Server.Hosting;
using Quiver.Testing;

namespace Quiver.Console.Tests;

/// <summary>
/// The console tests' server: authentication on, seeded through REST v2 with the collections the tests read (see
/// <see cref="SeedAsync"/>), its engine on a <see cref="FaultInjectingFileSystem"/> and its advise and tune pausable;
/// with the browser of <see cref="BrowserFixture"/>.
/// </summary>
public sealed class ConsoleFixture : BrowserFixture
{
    public const string RootPassword = "Console-Root-1";
    public const string Reader = "reader";
    public const string ReaderPassword = "Reader-Pass-1";
    public const int Dimension = 8;
    public const int DocsRows = 57;
    public const int BigRows = 3000;
    public const int TunedRows = 2000;

    /// <summary>The texts of <c>notes</c>, by primary key.</summary>
    public static readonly string[] Notes =
    [
        "Buy milk, eggs and bread at the grocery store", "Dentist appointment on Tuesday morning", "Renew the car insurance before March",
        "Pick up fresh vegetables and fruit from the market", "Call the plumber about the leaking kitchen tap", "Book train tickets for the summer holiday",
        "Water the tomatoes and herbs in the garden", "Pay the electricity bill online", "Bake a chocolate cake for the birthday party",
        "Return the library books about astronomy", "Schedule the annual check-up with the doctor", "Order a new battery for the laptop",
    ];

    /// <summary>Rows of <c>cold</c>, a collection left not loaded.</summary>
    public const int ColdRows = 300;

    /// <summary>The texts of <c>passages</c> (a BM25 function writes <c>sparse</c> from <c>text</c>), by primary key:
    /// seeded draws from a small vocabulary, common words often and rare ones seldom, so that term frequencies, document
    /// frequencies and lengths all vary.</summary>
    public static readonly string[] Passages = BuildPassages(60);

    private readonly TempFolder _folder = new();

    /// <summary>The server engine's file system: passes everything through until a test arms a fault.</summary>
    public FaultInjectingFileSystem Files { get; } = new();

    /// <summary>The server's advise and tune, which a test can pause at a stage.</summary>
    internal PausingToolbox Tools { get; } = new(new Quiver.Cli.Serve.ConsoleToolbox());

    /// <summary>The vectors of <c>docs</c> by primary key, as inserted.</summary>
    public Dictionary<long, float[]> DocsVectors { get; } = [];

    /// <summary>The category of each <c>docs</c> row.</summary>
    public Dictionary<long, string> DocsCategories { get; } = [];

    /// <summary>The server's data folder (its audit log is <c>security/audit.jsonl</c> there).</summary>
    public string DataPath => _folder.Sub("data");

    /// <summary>The server's import root (bulk-import files are named relative to it).</summary>
    public string ImportRoot => _folder.Sub("import");

    protected override string RootCredential => "root:" + RootPassword;

    protected override Task<QuiverServer> StartServerAsync()
    {
        Directory.CreateDirectory(ImportRoot);
        return QuiverServer.StartAsync(new ServerOptions
        {
            DataPath = DataPath,
            Port = 0,
            Engine = EngineFileSystem.With(new QuiverOptions(), Files),
            Security = { AuthEnabled = true, RootPassword = RootPassword },
            // Every search is re-run exactly: the health page's live recall estimate fills at once.
            Monitoring = { RecallSampleRate = 1 },
            // As `quiver serve` has them: the toolbox's importer, advise and tune.
            Import = { Root = _folder.Sub("import"), Importer = new ToolboxBulkImporter() },
            Console =
            {
                SampleInterval = TimeSpan.FromMilliseconds(500),
                // Never drop a sample during the run: the health test sums the searches of the whole window.
                HistorySamples = 1_000_000,
                Thresholds =
                [
                    new ChartThreshold("search.p50_ms", 50, null, false),
                    new ChartThreshold("search.p99_ms", 100, 500, false),
                    new ChartThreshold("error_rate", 0.001, 0.05, false),
                    new ChartThreshold("memory.fraction", 0.8, 0.9, false),
                    new ChartThreshold("recall", 0.95, 0.9, true),
                ],
                Toolbox = Tools,
            },
        });
    }

    protected override void Stopped() => _folder.Dispose();

    protected override async Task SeedAsync()
    {
        await RestAsync("/collections/create", new JsonObject
        {
            ["collectionName"] = "docs",
            ["schema"] = Schema(("category", "VarChar"), ("meta", "JSON")),
            ["indexParams"] = new JsonArray(new JsonObject { ["fieldName"] = "vector", ["indexName"] = "vector", ["indexType"] = "FLAT", ["metricType"] = "L2" }),
        });
        var random = new Random(16);
        var rows = new JsonArray();
        string[] categories = ["news", "sport", "tech"];
        for (long id = 1; id <= DocsRows; id++)
        {
            var vector = Vector(random);
            DocsVectors[id] = vector;
            DocsCategories[id] = categories[id % 3];
            rows.Add(new JsonObject
            {
                ["id"] = id,
                ["vector"] = new JsonArray(vector.Select(v => (JsonNode?)v).ToArray()),
                ["category"] = categories[id % 3],
                ["meta"] = new JsonObject { ["n"] = id, ["tags"] = new JsonArray("t" + (id % 5), "t" + (id % 7)) },
            });
        }
        await RestAsync("/entities/insert", new JsonObject { ["collectionName"] = "docs", ["data"] = rows });

        // A larger collection without an index, flushed into sealed segments: the index test builds one from the page.
        await RestAsync("/collections/create", new JsonObject { ["collectionName"] = "big", ["schema"] = Schema() });
        for (var batch = 0; batch < BigRows / 1000; batch++)
        {
            var bigRows = new JsonArray();
            for (var i = 0; i < 1000; i++)
            {
                bigRows.Add(new JsonObject
                {
                    ["id"] = (batch * 1000) + i,
                    ["vector"] = new JsonArray(Vector(random).Select(v => (JsonNode?)v).ToArray()),
                });
            }
            await RestAsync("/entities/insert", new JsonObject { ["collectionName"] = "big", ["data"] = bigRows });
        }
        await RestAsync("/collections/flush", new JsonObject { ["collectionName"] = "big" });

        // An HNSW-indexed collection, flushed so that its sealed segments get the index: the tune test sweeps its ef.
        await RestAsync("/collections/create", new JsonObject
        {
            ["collectionName"] = "tuned",
            ["schema"] = Schema(),
            ["indexParams"] = new JsonArray(new JsonObject
            {
                ["fieldName"] = "vector", ["indexName"] = "vector", ["indexType"] = "HNSW", ["metricType"] = "L2",
                ["params"] = new JsonObject { ["M"] = 4, ["efConstruction"] = 16 },
            }),
        });
        var tunedRows = new JsonArray();
        for (var i = 0; i < TunedRows; i++)
        {
            tunedRows.Add(new JsonObject { ["id"] = i, ["vector"] = new JsonArray(Vector(random).Select(v => (JsonNode?)v).ToArray()) });
        }
        await RestAsync("/entities/insert", new JsonObject { ["collectionName"] = "tuned", ["data"] = tunedRows });
        await RestAsync("/collections/flush", new JsonObject { ["collectionName"] = "tuned" });

        // Texts embedded by the local model through a TextEmbedding function, and a small tag vector beside them: the
        // search page's text and hybrid searches.
        await RestAsync("/collections/create", new JsonObject
        {
            ["collectionName"] = "notes",
            ["schema"] = new JsonObject
            {
                ["fields"] = new JsonArray(
                    new JsonObject { ["fieldName"] = "id", ["dataType"] = "Int64", ["isPrimary"] = true },
                    new JsonObject { ["fieldName"] = "text", ["dataType"] = "VarChar", ["elementTypeParams"] = new JsonObject { ["max_length"] = 256 } },
                    new JsonObject { ["fieldName"] = "vec", ["dataType"] = "FloatVector", ["elementTypeParams"] = new JsonObject { ["dim"] = 384 } },
                    new JsonObject { ["fieldName"] = "tag", ["dataType"] = "FloatVector", ["elementTypeParams"] = new JsonObject { ["dim"] = 2 } }),
                ["functions"] = new JsonArray(new JsonObject
                {
                    ["name"] = "embed", ["type"] = "TextEmbedding", ["inputFieldNames"] = new JsonArray("text"),
                    ["outputFieldNames"] = new JsonArray("vec"), ["params"] = new JsonObject { ["provider"] = "local" },
                }),
            },
            ["indexParams"] = new JsonArray(
                new JsonObject { ["fieldName"] = "vec", ["indexName"] = "vec", ["indexType"] = "FLAT", ["metricType"] = "COSINE" },
                new JsonObject { ["fieldName"] = "tag", ["indexName"] = "tag", ["indexType"] = "FLAT", ["metricType"] = "L2" }),
        });
        var notes = new JsonArray();
        for (var i = 0; i < Notes.Length; i++)
        {
            notes.Add(new JsonObject { ["id"] = i, ["text"] = Notes[i], ["tag"] = new JsonArray(i % 4, i / 4) });
        }
        await RestAsync("/entities/insert", new JsonObject { ["collectionName"] = "notes", ["data"] = notes });

        // Full-text search: a BM25 function fills the sparse field from the text (the standard analyzer).
        await RestAsync("/collections/create", new JsonObject
        {
            ["collectionName"] = "passages",
            ["schema"] = new JsonObject
            {
                ["fields"] = new JsonArray(
                    new JsonObject { ["fieldName"] = "id", ["dataType"] = "Int64", ["isPrimary"] = true },
                    new JsonObject
                    {
                        ["fieldName"] = "text", ["dataType"] = "VarChar",
                        ["elementTypeParams"] = new JsonObject { ["max_length"] = 512, ["enable_analyzer"] = true },
                    },
                    new JsonObject { ["fieldName"] = "sparse", ["dataType"] = "SparseFloatVector" }),
                ["functions"] = new JsonArray(new JsonObject
                {
                    ["name"] = "bm25", ["type"] = "BM25", ["inputFieldNames"] = new JsonArray("text"),
                    ["outputFieldNames"] = new JsonArray("sparse"), ["params"] = new JsonObject(),
                }),
            },
            ["indexParams"] = new JsonArray(new JsonObject
            {
                ["fieldName"] = "sparse", ["indexName"] = "sparse", ["indexType"] = "SPARSE_INVERTED_INDEX", ["metricType"] = "BM25",
            }),
        });
        await RestAsync("/entities/insert", new JsonObject
        {
            ["collectionName"] = "passages",
            ["data"] = new JsonArray([.. Passages.Select((text, id) => (JsonNode)new JsonObject { ["id"] = id, ["text"] = text })]),
        });

        // A collection created without index parameters, which leaves it not loaded (as Milvus does).
        await RestAsync("/collections/create", new JsonObject { ["collectionName"] = "cold", ["schema"] = Schema() });
        var coldRows = new JsonArray();
        for (var i = 0; i < ColdRows; i++)
        {
            coldRows.Add(new JsonObject { ["id"] = i, ["vector"] = new JsonArray(Vector(random).Select(v => (JsonNode?)v).ToArray()) });
        }
        await RestAsync("/entities/insert", new JsonObject { ["collectionName"] = "cold", ["data"] = coldRows });

        // A read-only user: the built-in read-only privilege groups on every collection and the database.
        await RestAsync("/users/create", new JsonObject { ["userName"] = Reader, ["password"] = ReaderPassword });
        await RestAsync("/roles/create", new JsonObject { ["roleName"] = "viewer" });
        await RestAsync("/roles/grant_privilege", new JsonObject
        {
            ["roleName"] = "viewer", ["objectType"] = "Collection", ["objectName"] = "*", ["privilege"] = "CollectionReadOnly",
        });
        await RestAsync("/roles/grant_privilege", new JsonObject
        {
            ["roleName"] = "viewer", ["objectType"] = "Global", ["objectName"] = "*", ["privilege"] = "DatabaseReadOnly",
        });
        await RestAsync("/users/grant_role", new JsonObject { ["userName"] = Reader, ["roleName"] = "viewer" });
    }

    private static string[] BuildPassages(int count)
    {
        string[] words = ["garden", "tomato", "market", "fresh", "vegetable", "bread", "river", "boat", "train", "ticket",
            "summer", "holiday", "library", "astronomy", "star", "telescope", "kitchen", "plumber", "battery", "laptop",
            "doctor", "insurance", "birthday", "cake", "chocolate", "herb", "water", "mountain", "snow", "coffee"];
        var random = new Random(1625);
        return [.. Enumerable.Range(0, count).Select(_ => string.Join(' ',
            Enumerable.Range(0, random.Next(3, 16)).Select(_ => words[(int)(Math.Pow(random.NextDouble(), 2) * words.Length)])))];
    }

    private static JsonObject Schema(params (string Name, string Type)[] scalars)
    {
        var fields = new JsonArray
        {
            new JsonObject { ["fieldName"] = "id", ["dataType"] = "Int64", ["isPrimary"] = true },
            new JsonObject { ["fieldName"] = "vector", ["dataType"] = "FloatVector", ["elementTypeParams"] = new JsonObject { ["dim"] = Dimension } },
        };
        foreach (var (name, type) in scalars)
        {
            var field = new JsonObject { ["fieldName"] = name, ["dataType"] = type };
            if (type == "VarChar")
            {
                field["elementTypeParams"] = new JsonObject { ["max_length"] = 32 };
            }
            fields.Add(field);
        }
        return new JsonObject { ["autoId"] = false, ["enableDynamicField"] = false, ["fields"] = fields };
    }

    private static float[] Vector(Random random) =>
        [.. Enumerable.Range(0, Dimension).Select(_ => (float)Math.Round((random.NextDouble() * 2) - 1, 4))];

}
