using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;
using Quiver.Cli.Ops.Import;
using Quiver.Server.Console;
using Quiver.Server.Hosting;
using Quiver.Testing;

namespace Quiver.Console.Tests;

/// <summary>
/// One server with authentication on (loopback, a free port), seeded through REST v2, and one headless Chromium
/// (Debian's <c>/usr/bin/chromium</c> driven by <c>/usr/bin/chromedriver</c>) shared by the tests of a class. The
/// browser and its driver are stopped by <see cref="DisposeAsync"/> (the driver's process by PID if it outlives
/// <c>Quit</c>), the server by disposing it.
/// </summary>
public sealed class ConsoleFixture : IAsyncLifetime
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

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private readonly TempFolder _folder = new();
    private ChromeDriverService? _service;

    public QuiverServer Server { get; private set; } = null!;

    public ChromeDriver Browser { get; private set; } = null!;

    public HttpClient Root { get; private set; } = null!;

    /// <summary>The vectors of <c>docs</c> by primary key, as inserted.</summary>
    public Dictionary<long, float[]> DocsVectors { get; } = [];

    /// <summary>The category of each <c>docs</c> row.</summary>
    public Dictionary<long, string> DocsCategories { get; } = [];

    public string BaseUrl => $"http://127.0.0.1:{Server.Port}";

    /// <summary>The server's import root (bulk-import files are named relative to it).</summary>
    public string ImportRoot => _folder.Sub("import");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(ImportRoot);
        Server = await QuiverServer.StartAsync(new ServerOptions
        {
            DataPath = _folder.Sub("data"),
            Port = 0,
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
                Toolbox = new Quiver.Cli.Serve.ConsoleToolbox(),
            },
        });
        Root = new HttpClient { BaseAddress = new Uri(BaseUrl) };
        Root.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "root:" + RootPassword);
        await SeedAsync();
        Browser = StartBrowser(out _service);
    }

    private async Task SeedAsync()
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

    /// <summary>A REST v2 call as root; fails the test unless it answers code 0. Returns <c>data</c>.</summary>
    public async Task<JsonNode?> RestAsync(string path, JsonObject body)
    {
        using var content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        using var response = await Root.PostAsync(new Uri("/v2/vectordb" + path, UriKind.Relative), content);
        var reply = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        Assert.True(reply["code"]!.GetValue<int>() == 0, $"{path}: {reply.ToJsonString()}");
        return reply["data"];
    }

    private static ChromeDriver StartBrowser(out ChromeDriverService service)
    {
        foreach (var tool in new[] { "/usr/bin/chromium", "/usr/bin/chromedriver" })
        {
            Assert.True(File.Exists(tool), $"{tool} is missing: ./scripts/setup.sh installs Debian's chromium and chromium-driver");
        }
        service = ChromeDriverService.CreateDefaultService("/usr/bin", "chromedriver");
        service.HideCommandPromptWindow = true;
        service.SuppressInitialDiagnosticInformation = true;
        var options = new ChromeOptions { BinaryLocation = "/usr/bin/chromium" };
        options.AddArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1366,900",
            "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
            "--disable-component-update", "--force-color-profile=srgb", "--hide-scrollbars");
        var driver = new ChromeDriver(service, options, TimeSpan.FromSeconds(120));
        driver.Manage().Timeouts().AsynchronousJavaScript = TimeSpan.FromSeconds(60);
        return driver;
    }

    /// <summary>Opens <c>/console/#/<paramref name="route"/></c>.</summary>
    public void Go(string route)
    {
        Browser.Navigate().GoToUrl($"{BaseUrl}/console/#/{route}");
        Browser.Navigate().Refresh();
    }

    /// <summary>Forgets the tab's credential and shows the sign-in form.</summary>
    public void SignOut()
    {
        Browser.Navigate().GoToUrl($"{BaseUrl}/console/");
        try
        {
            Browser.ExecuteScript("sessionStorage.clear();");
        }
        catch (WebDriverException e)
        {
            // Chromium's own error page (no server, a redirect loop) has no storage: say what was shown instead.
            throw new InvalidOperationException($"the console did not load at {Browser.Url}:\n{Browser.PageSource}", e);
        }
        Browser.Navigate().Refresh();
        Find(By.Id("login-user"));
    }

    /// <summary>Signs in through the form and waits for the signed-in header (or, when <paramref name="expectRefusal"/>,
    /// for the refusal).</summary>
    public IWebElement SignIn(string user, string password, bool expectRefusal = false)
    {
        SignOut();
        Find(By.Id("login-user")).SendKeys(user);
        Find(By.Id("login-password")).SendKeys(password);
        Find(By.CssSelector("button[type=submit]")).Click();
        return expectRefusal ? Find(By.CssSelector("[role=alert]")) : Find(By.CssSelector("[data-testid=who]"));
    }

    /// <summary>Picks <paramref name="text"/> in the select <paramref name="by"/> as a user would (the page hears its
    /// change event).</summary>
    public void Choose(By by, string text)
    {
        Find(by).FindElement(By.XPath($".//option[normalize-space(.)='{text}']")).Click();
        Until(d => d.FindElement(by).GetDomProperty("value") == text ? "chosen" : null, $"{text} chosen in {by}");
    }

    /// <summary>Waits (up to a generous limit, never a fixed sleep) for <paramref name="condition"/> to hold.</summary>
    public T Until<T>(Func<IWebDriver, T?> condition, string what)
        where T : class
    {
        var wait = new WebDriverWait(Browser, Patience) { PollingInterval = TimeSpan.FromMilliseconds(100), Message = what };
        wait.IgnoreExceptionTypes(typeof(NoSuchElementException), typeof(StaleElementReferenceException));
        return wait.Until(condition)!;
    }

    /// <summary>Waits for <paramref name="condition"/> to be true.</summary>
    public void UntilTrue(Func<IWebDriver, bool> condition, string what) => Until(d => condition(d) ? "yes" : null, what);

    /// <summary>Waits for an element to be displayed.</summary>
    public IWebElement Find(By by) => Until(d => d.FindElement(by) is { Displayed: true } e ? e : null, $"element {by}");

    /// <summary>Waits for the text of <paramref name="by"/> to satisfy <paramref name="test"/>; returns it.</summary>
    public string TextOf(By by, Func<string, bool> test, string what) =>
        Until(d => d.FindElement(by).Text is var text && test(text) ? text : null, what);

    /// <summary>Scrolls the element <paramref name="by"/> to the top of the window (for a screenshot of it).</summary>
    public void ScrollTo(By by) => Browser.ExecuteScript("arguments[0].scrollIntoView({ block: 'start' });", Find(by));

    /// <summary>Takes a screenshot of the window, checks it is not blank (luminance spread and many colours), and writes
    /// it as <c>console-<paramref name="name"/>.png</c> to <c>QUIVER_SCREENSHOTS</c> (docs/images when refreshing the
    /// docs), else to the test output folder.</summary>
    public void Screenshot(string name)
    {
        // Let fonts and charts finish drawing: wait for the document to be complete and two animation frames.
        Until(d => ((IJavaScriptExecutor)d).ExecuteScript("return document.readyState === 'complete' && document.fonts.status === 'loaded';") is true ? "ready" : null,
            "page ready");
        Browser.ExecuteAsyncScript("const done = arguments[arguments.length - 1]; requestAnimationFrame(() => requestAnimationFrame(() => done(true)));");
        var png = Browser.GetScreenshot().AsByteArray;
        var (spread, colours, width, height) = PngPixels.Measure(png);
        Assert.True(width >= 1000 && height >= 600, $"screenshot {name} is {width}x{height}");
        Assert.True(spread > 8 && colours > 32, $"screenshot {name} looks blank: luminance spread {spread:F1}, {colours} colours");
        var folder = Environment.GetEnvironmentVariable("QUIVER_SCREENSHOTS") is { Length: > 0 } dir ? dir : Path.Combine(AppContext.BaseDirectory, "screenshots");
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(Path.Combine(folder, $"console-{name}.png"), png);
    }

    public async Task DisposeAsync()
    {
        var driverPid = _service?.ProcessId ?? 0;
        try
        {
            Browser?.Quit();
        }
        finally
        {
            Browser?.Dispose();
            _service?.Dispose();
            StopByPid(driverPid);
            Root?.Dispose();
            if (Server is not null)
            {
                await Server.DisposeAsync();
            }
            _folder.Dispose();
        }
    }

    private static void StopByPid(int pid)
    {
        if (pid <= 0)
        {
            return;
        }
        try
        {
            using var process = Process.GetProcessById(pid);
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(10_000);
            }
        }
        catch (ArgumentException)
        {
            // Already gone.
        }
        catch (InvalidOperationException)
        {
            // Exited between the look-up and the kill.
        }
    }
}
