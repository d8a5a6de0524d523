namespace Quiver.Samples.HandbookQa;

/// <summary>One section of a Markdown file: the file's name, the section's heading and its text on one line.</summary>
internal sealed record Passage(long Id, string Source, string Section, string Text)
{
    /// <summary>Every <c>## </c> section of every <c>.md</c> file of <paramref name="folder"/>, files in name order.</summary>
    public static Passage[] Read(string folder)
    {
        var passages = new List<Passage>();
        foreach (var file in Directory.GetFiles(folder, "*.md").Order(StringComparer.Ordinal))
        {
            var sections = File.ReadAllText(file).Split("\n## ");
            foreach (var section in sections.Skip(1))
            {
                var lines = section.Trim().Split('\n');
                passages.Add(new Passage(passages.Count + 1, Path.GetFileName(file), lines[0].Trim(),
                    string.Join(' ', lines.Skip(1).Select(l => l.Trim())).Trim()));
            }
        }

        return [.. passages];
    }
}
