using System.Text;
using Quiver.Testing;
using Quiver.Toolbox.Formats;

namespace Quiver.Cli.Tests.Ops.Import;

/// <summary>Runs alone: it counts the bytes every thread of the process allocates.</summary>
[CollectionDefinition(nameof(JsonlAllocationCollection), DisableParallelization = true)]
public sealed class JsonlAllocationCollection;

/// <summary>The JSON Lines reader holds at most <see cref="JsonlReader.MaxLineChars"/> characters of a line: a longer
/// line is an error row naming it, read past without being kept, and the lines after it are read as before.</summary>
[Collection(nameof(JsonlAllocationCollection))]
public sealed class JsonlLineLimitTests
{
    private static async Task<List<SourceRow>> ReadAsync(string file)
    {
        var rows = new List<SourceRow>();
        await using var reader = new JsonlReader(file);
        await foreach (var row in reader.ReadAsync(0, CancellationToken.None))
        {
            rows.Add(row);
        }

        return rows;
    }

    /// <summary>Lines ended by \r\n, \r and \n (a terminator split across the reader's 64 Ki buffer too), a blank line,
    /// a line of exactly the limit (a row) and one character over it (an error row): every row is numbered by its line
    /// and read as <see cref="StreamReader"/> splits lines.</summary>
    [Fact]
    public async Task LinesUpToTheLimit_AreRows_ALongerLine_IsAnErrorRow_AndReadingGoesOn()
    {
        using var dir = new TempFolder();
        var file = dir.Sub("rows.jsonl");
        var exact = "{\"s\":\"" + new string('a', JsonlReader.MaxLineChars - 8) + "\"}";
        Assert.Equal(JsonlReader.MaxLineChars, exact.Length);
        var first = "{\"id\":1,\"pad\":\"" + new string('p', (1 << 16) - 18) + "\"}";
        Assert.Equal((1 << 16) - 1, first.Length);
        var text = first + "\r\n" + "{\"id\":2}\r\n\n" + exact + "\n" + new string('x', JsonlReader.MaxLineChars + 1) + "\r" + "{\"id\":5}";
        await File.WriteAllTextAsync(file, text, new UTF8Encoding(false));

        var rows = await ReadAsync(file);
        Assert.Equal([1L, 2, 4, 5, 6], rows.Select(r => r.Number));
        Assert.Equal(1L, ((System.Text.Json.JsonElement)rows[0].Values!["id"]!).GetInt64());
        Assert.Equal(2L, ((System.Text.Json.JsonElement)rows[1].Values!["id"]!).GetInt64());
        Assert.Null(rows[2].Error);
        Assert.Equal(JsonlReader.MaxLineChars - 8, ((System.Text.Json.JsonElement)rows[2].Values!["s"]!).GetString()!.Length);
        Assert.Equal("line 5: longer than 16,777,216 characters; a line holds one row and may be at most that long", rows[3].Error);
        Assert.Equal(5L, ((System.Text.Json.JsonElement)rows[4].Values!["id"]!).GetInt64());

        // The same lines as StreamReader splits them (the blank line 3 is not a row).
        var expected = new List<string>();
        using (var reader = new StringReader(text))
        {
            while (reader.ReadLine() is { } line)
            {
                expected.Add(line);
            }
        }

        Assert.Equal(6, expected.Count);
        Assert.Equal("", expected[2]);
    }

    /// <summary>A file of 64 Mi characters with no line break: one error row, and reading it allocates less than one
    /// UTF-16 copy of the line (2 bytes per character; StreamReader's ReadLine built the line in a StringBuilder and
    /// then a string, at least 4). Here about 1 byte per character: the kept 16 Mi characters, twice.</summary>
    [Fact]
    public async Task AFileWithNoLineBreak_IsOneErrorRow_ReadWithoutHoldingTheLine()
    {
        using var dir = new TempFolder();
        var file = dir.Sub("one.jsonl");
        const int Length = 64 * 1024 * 1024;
        await using (var stream = File.Create(file))
        {
            var block = Encoding.ASCII.GetBytes(new string('x', 1 << 20));
            for (var i = 0; i < Length / block.Length; i++)
            {
                await stream.WriteAsync(block);
            }
        }

        var before = GC.GetTotalAllocatedBytes(precise: true);
        var rows = await ReadAsync(file);
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        var row = Assert.Single(rows);
        Assert.Equal("line 1: longer than 16,777,216 characters; a line holds one row and may be at most that long", row.Error);
        Assert.True(allocated < 2L * Length, $"reading {Length:N0} characters on one line allocated {allocated:N0} bytes");
    }
}
