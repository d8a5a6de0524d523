using System.Globalization;
using System.Text.Json;

namespace Quiver.Bench;

/// <summary>Collects the figures of one run: printed as <c>name: value</c> lines as they come, and written as one JSON
/// object with <c>--json</c>.</summary>
internal sealed class Report
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };
    private readonly Dictionary<string, object?> _values = new(StringComparer.Ordinal);

    public void Set(string name, object? value) => _values[name] = value;

    /// <summary>Records a figure and prints it with its unit. A figure that is not a finite number (a variant with no
    /// index has no indexed QPS; a ratio over it) is recorded as null: JSON has no NaN, and System.Text.Json refuses one
    /// with an ArgumentException (which Program.cs reports as a usage error, exit 2): session 28's 1M <c>vectortypes</c>
    /// run with the exact-only <c>int8_flat</c> variant printed its figures and then ended so, without its file.</summary>
    public void Print(string name, double value, string unit, string format = "F1")
    {
        _values[name] = double.IsFinite(value) ? Math.Round(value, 6) : null;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-28} {value.ToString(format, CultureInfo.InvariantCulture),14} {unit}"));
    }

    public void WriteJson(string? path)
    {
        if (path is null)
        {
            return;
        }

        File.WriteAllText(path, JsonSerializer.Serialize(_values, Indented) + "\n");
        Console.WriteLine($"wrote {path}");
    }

    public static string Machine() =>
        string.Create(CultureInfo.InvariantCulture, $"{Environment.ProcessorCount} logical cpus, {Environment.OSVersion}, .NET {Environment.Version}, " +
            $"Vector512 {System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated}");
}
