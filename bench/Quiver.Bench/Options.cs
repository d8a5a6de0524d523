using System.Globalization;

namespace Quiver.Bench;

/// <summary><c>--name value</c> pairs after the subcommand; every option takes a value.</summary>
internal sealed class CommandLine
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public CommandLine(IEnumerable<string> args)
    {
        using var e = args.GetEnumerator();
        while (e.MoveNext())
        {
            var name = e.Current;
            if (!name.StartsWith("--", StringComparison.Ordinal) || !e.MoveNext())
            {
                throw new ArgumentException($"expected --name value, got '{name}'");
            }

            _values[name[2..]] = e.Current;
        }
    }

    public string? Text(string name) => _values.TryGetValue(name, out var v) ? v : null;

    public string Text(string name, string fallback) => Text(name) ?? fallback;

    public int Int(string name, int fallback) =>
        _values.TryGetValue(name, out var v) ? int.Parse(v, NumberStyles.Integer, CultureInfo.InvariantCulture) : fallback;

    /// <summary>Fails on options that no benchmark read, so that a typo does not silently run the defaults.</summary>
    public void RejectUnknown(params string[] known)
    {
        foreach (var name in _values.Keys)
        {
            if (Array.IndexOf(known, name) < 0)
            {
                throw new ArgumentException($"unknown option --{name}; known: {string.Join(", ", known.Select(k => "--" + k))}");
            }
        }
    }
}
