using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;
using Quiver.Server.Hosting;

namespace Quiver.Console.Tests;

/// <summary>
/// One server on loopback (a free port) started by the subclass, and one headless Chromium (Debian's
/// <c>/usr/bin/chromium</c> driven by <c>/usr/bin/chromedriver</c>) shared by the tests of a class, with the steps the
/// tests take in it. The browser and its driver are stopped by <see cref="DisposeAsync"/> (the driver's process by PID if
/// it outlives <c>Quit</c>), the server by disposing it.
/// </summary>
public abstract class BrowserFixture : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private ChromeDriverService? _service;

    public QuiverServer Server { get; private set; } = null!;

    public ChromeDriver Browser { get; private set; } = null!;

    /// <summary>An HTTP client of the server signed in as root.</summary>
    public HttpClient Root { get; private set; } = null!;

    public string BaseUrl => $"{(Tls ? "https" : "http")}://127.0.0.1:{Server.Port}";

    /// <summary>True when the server serves TLS (the browser then accepts its certificate, see <see cref="StartBrowser"/>).</summary>
    protected virtual bool Tls => false;

    /// <summary>Root's bearer credential.</summary>
    protected abstract string RootCredential { get; }

    /// <summary>Starts the server.</summary>
    protected abstract Task<QuiverServer> StartServerAsync();

    /// <summary>Fills the server through <see cref="Root"/>.</summary>
    protected abstract Task SeedAsync();

    /// <summary>Called once the server is stopped (to delete its folder).</summary>
    protected abstract void Stopped();

    /// <summary>The handler of <see cref="Root"/> (a subclass with TLS trusts its own certificate there).</summary>
    protected virtual HttpMessageHandler CreateHandler() => new HttpClientHandler();

    public async Task InitializeAsync()
    {
        Server = await StartServerAsync();
        Root = new HttpClient(CreateHandler()) { BaseAddress = new Uri(BaseUrl) };
        Root.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", RootCredential);
        await SeedAsync();
        Browser = StartBrowser(Tls, out _service);
    }

    /// <summary>Creates collection <paramref name="name"/> over REST: an Int64 primary key <c>id</c> and a float vector
    /// <c>vector</c> of <paramref name="dimension"/>; with <paramref name="indexType"/> (metric L2) it is created indexed and
    /// loaded, without it neither; in <paramref name="database"/> (default: <c>default</c>).</summary>
    public Task CreateVectorCollectionAsync(string name, int dimension, string? indexType = null, string database = "default")
    {
        var body = new JsonObject
        {
            ["dbName"] = database,
            ["collectionName"] = name,
            ["schema"] = new JsonObject
            {
                ["fields"] = new JsonArray(
                    new JsonObject { ["fieldName"] = "id", ["dataType"] = "Int64", ["isPrimary"] = true },
                    new JsonObject { ["fieldName"] = "vector", ["dataType"] = "FloatVector", ["elementTypeParams"] = new JsonObject { ["dim"] = dimension } }),
            },
        };
        if (indexType is not null)
        {
            body["indexParams"] = new JsonArray(new JsonObject { ["fieldName"] = "vector", ["indexName"] = "vector", ["indexType"] = indexType, ["metricType"] = "L2" });
        }
        return RestAsync("/collections/create", body);
    }

    /// <summary>A REST v2 call as root; fails the test unless it answers code 0. Returns <c>data</c>.</summary>
    public async Task<JsonNode?> RestAsync(string path, JsonObject body)
    {
        using var content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        using var response = await Root.PostAsync(new Uri("/v2/vectordb" + path, UriKind.Relative), content);
        var reply = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        Assert.True(reply["code"]!.GetValue<int>() == 0, $"{path}: {reply.ToJsonString()}");
        return reply["data"];
    }

    private static ChromeDriver StartBrowser(bool tls, out ChromeDriverService service)
    {
        foreach (var tool in new[] { "/usr/bin/chromium", "/usr/bin/chromedriver" })
        {
            Assert.True(File.Exists(tool), $"{tool} is missing: ./scripts/setup.sh installs Debian's chromium and chromium-driver");
        }
        service = ChromeDriverService.CreateDefaultService("/usr/bin", "chromedriver");
        service.HideCommandPromptWindow = true;
        service.SuppressInitialDiagnosticInformation = true;
        // With TLS the server's certificate is self-signed: the browser goes on past it, as a user who checked it would.
        var options = new ChromeOptions { BinaryLocation = "/usr/bin/chromium", AcceptInsecureCertificates = tls };
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
            Stopped();
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
