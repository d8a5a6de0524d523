using System.Globalization;
using OpenQA.Selenium;
using OpenQA.Selenium.Interactions;

namespace Quiver.Console.Tests;

/// <summary>The console with the keyboard alone, in the real browser: Tab order follows the page, every control
/// reached has an accessible name, and the focused control shows a visible focus ring.</summary>
public sealed partial class ConsoleTests
{
    /// <summary>What the focused element is: its tag, its accessible name (as a screen reader would read it, roughly:
    /// aria-label, aria-labelledby, its label, its text), and whether a focus outline of at least 2 px is drawn.</summary>
    private (string Tag, string Name, bool RingVisible, string TestId) Focused()
    {
        var info = (IReadOnlyDictionary<string, object>)f.Browser.ExecuteScript("""
            const el = document.activeElement;
            const text = (n) => (n ? n.textContent : '').replace(/\s+/g, ' ').trim();
            let name = el.getAttribute('aria-label') || '';
            if (!name && el.getAttribute('aria-labelledby')) name = text(document.getElementById(el.getAttribute('aria-labelledby')));
            if (!name && el.labels && el.labels.length) name = text(el.labels[0]);
            if (!name) name = text(el);
            const style = getComputedStyle(el);
            return {
              tag: el.tagName.toLowerCase(), name,
              ring: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
              testid: el.getAttribute('data-testid') || '',
            };
            """)!;
        return ((string)info["tag"], (string)info["name"], (bool)info["ring"], (string)info["testid"]);
    }

    private void Press(string keys) => new Actions(f.Browser).SendKeys(keys).Perform();

    /// <summary>Tabs forward until <paramref name="stop"/> holds for the focused element, checking every element on the
    /// way has a name and a visible ring; returns the names in the order reached.</summary>
    private List<string> TabUntil(Func<(string Tag, string Name, bool RingVisible, string TestId), bool> stop, string what)
    {
        var names = new List<string>();
        for (var i = 0; i < 60; i++)
        {
            Press(Keys.Tab);
            var focused = Focused();
            Assert.False(string.IsNullOrWhiteSpace(focused.Name), $"a focusable {focused.Tag} without an accessible name after {string.Join(" > ", names)}");
            Assert.True(focused.RingVisible, $"no visible focus ring on {focused.Tag} '{focused.Name}'");
            names.Add(focused.Name);
            if (stop(focused))
            {
                return names;
            }
        }
        throw new Xunit.Sdk.XunitException($"{what} not reached by Tab: {string.Join(" > ", names)}");
    }

    [Fact]
    public void KeyboardOnly_SignIn_OpenACollection_AndCancelADialog()
    {
        f.SignOut();
        var login = TabUntil(e => e.Tag == "input" && e.Name == "User", "the user field");
        Assert.Contains("user and password", login[0], StringComparison.Ordinal);
        Press("root");
        Press(Keys.Tab);
        Assert.Equal(("input", "Password"), (Focused().Tag, Focused().Name));
        Press(ConsoleFixture.RootPassword);
        Press(Keys.Tab);
        Assert.Equal(("button", "Sign in"), (Focused().Tag, Focused().Name));
        Press(Keys.Enter);
        Assert.Equal("Signed in as root", f.Find(Test("who")).Text);
        f.TextOf(Test("collections"), t => t.Contains("docs", StringComparison.Ordinal), "collections listed");

        // Reading order: the page links, the database picker, sign out, then the page's own controls and the table.
        var order = TabUntil(e => e.Tag == "a" && e.Name == "docs", "the docs link");
        int At(string name) => order.FindIndex(n => n.StartsWith(name, StringComparison.Ordinal));
        Assert.True(At("Collections") < At("Health") && At("Health") < At("Import jobs") && At("Import jobs") < At("Database")
            && At("Database") < At("Sign out") && At("Sign out") < At("Create collection") && At("Create collection") < order.Count - 1,
            string.Join(" > ", order));
        f.Screenshot("keyboard");
        Press(Keys.Enter);
        f.TextOf(By.Id("collection-title"), t => t == "docs", "the docs page");
        var state = f.TextOf(Test("load-state"), t => t.Length > 0, "load state");

        // A confirmation opens on Enter with focus inside it; Escape cancels and nothing changes.
        TabUntil(e => e.Tag == "button" && e.Name is "Release" or "Load", "the load/release action");
        Press(Keys.Enter);
        f.Find(By.CssSelector("dialog[open]"));
        f.UntilTrue(d => (bool)((IJavaScriptExecutor)d).ExecuteScript("return document.querySelector('dialog[open]').contains(document.activeElement);")!,
            "focus inside the dialog");
        Assert.True(Focused().RingVisible, "the dialog's focused button shows its ring");
        Press(Keys.Escape);
        f.UntilTrue(d => d.FindElements(By.CssSelector("dialog[open]")).Count == 0, "the dialog closed");
        Assert.Equal(state, f.Find(Test("load-state")).Text);
    }

    [Fact]
    public void EveryTextOnThePages_MeetsWcagAaContrast()
    {
        f.SignIn("root", ConsoleFixture.RootPassword);
        foreach (var (route, ready) in Pages)
        {
            f.Go(route);
            f.Find(ready);
            var failures = (IReadOnlyCollection<object>)f.Browser.ExecuteScript(ContrastScript)!;
            Assert.True(failures.Count == 0, $"#/{route}: text below WCAG AA contrast:\n" + string.Join("\n", failures));
        }
    }

    [Fact]
    public void EveryPage_FitsALaptopScreen_AndLoadsNothingFromElsewhere()
    {
        f.SignIn("root", ConsoleFixture.RootPassword);
        foreach (var (route, ready) in Pages)
        {
            f.Go(route);
            f.Find(ready);
            // The browser window is 1366 x 900: nothing makes the page itself scroll sideways (wide tables scroll in
            // their own box).
            var widths = (IReadOnlyCollection<object>)f.Browser.ExecuteScript("return [document.documentElement.scrollWidth, document.documentElement.clientWidth];")!;
            var (scroll, client) = (Convert.ToInt64(widths.First(), CultureInfo.InvariantCulture), Convert.ToInt64(widths.Last(), CultureInfo.InvariantCulture));
            Assert.True(scroll <= client, $"#/{route} is {scroll} px wide in a {client} px window");
            // Every file the page loaded (script, stylesheet, images, calls) came from this server: no CDN, works offline.
            var foreign = (IReadOnlyCollection<object>)f.Browser.ExecuteScript(
                "return performance.getEntriesByType('resource').map(e => e.name).filter(n => new URL(n).origin !== location.origin);")!;
            Assert.True(foreign.Count == 0, $"#/{route} loaded from elsewhere: {string.Join(", ", foreign)}");
        }
        var loaded = (IReadOnlyCollection<object>)f.Browser.ExecuteScript("return performance.getEntriesByType('resource').map(e => new URL(e.name).pathname);")!;
        Assert.Contains("/console/app.js", loaded.Cast<string>());
    }

    /// <summary>Seven pages, each with an element that shows it has drawn.</summary>
    private static readonly (string Route, By Ready)[] Pages =
    [
        ("collections", Test("collections")), ("collection/docs", Test("indexes")), ("browse/docs", Test("rows")),
        ("health", By.CssSelector("figure.chart canvas")), ("users", By.TagName("table")), ("imports", By.TagName("h1")), ("create", By.TagName("form")),
    ];

    /// <summary>Every visible text of the page with its colour against the background it is drawn on (the nearest
    /// opaque background of it or an ancestor); answers those whose contrast ratio is below WCAG AA: 4.5:1, or 3:1 for
    /// large text (24 px, or 18.66 px bold). Disabled controls are exempt (WCAG 1.4.3), as the text of canvases is not
    /// in the DOM.</summary>
    private const string ContrastScript = """
        const rgb = (c) => (c.match(/[\d.]+/g) || []).map(Number);
        const lum = ([r, g, b]) => {
          const ch = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
          return 0.2126 * ch(r) + 0.7152 * ch(g) + 0.0722 * ch(b);
        };
        const background = (el) => {
          for (let e = el; e; e = e.parentElement) {
            const c = rgb(getComputedStyle(e).backgroundColor);
            if (c.length === 3 || (c.length === 4 && c[3] === 1)) return c.slice(0, 3);
          }
          return [255, 255, 255];
        };
        const failures = [];
        const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
          const el = node.parentElement;
          if (!node.textContent.trim() || !el || !el.getClientRects().length || el.closest('[disabled], .sr-only, option')) continue;
          const style = getComputedStyle(el);
          if (style.visibility === 'hidden') continue;
          const fg = lum(rgb(style.color)), bg = lum(background(el));
          const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
          const size = parseFloat(style.fontSize), bold = Number(style.fontWeight) >= 700;
          const needed = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
          if (ratio < needed) failures.push(`${ratio.toFixed(2)} < ${needed}: "${node.textContent.trim().slice(0, 40)}" (${style.color} on rgb(${background(el)}))`);
        }
        return failures;
        """;
}
