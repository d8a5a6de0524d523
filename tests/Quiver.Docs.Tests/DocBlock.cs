namespace Quiver.Docs.Tests;

/// <summary>What the runner does with a fenced block, decided by its info string (docs/testing.md, "Docs that run").</summary>
public enum BlockKind
{
    /// <summary>A C# program (a user's Program.cs), compiled against Quiver.Engine, Quiver.Client and Quiver.Embeddings and run.</summary>
    CSharp,

    /// <summary>A shell script run by bash -e in the page's folder.</summary>
    Shell,

    /// <summary>An ES module run by node with the official Milvus SDK installed beside it.</summary>
    Node,

    /// <summary>What the run block just before it prints, compared line by line.</summary>
    Output,

    /// <summary>A file the page's later blocks read, written into the page's folder under the name its info string gives.</summary>
    File,

    /// <summary>Shown only: a layout, a grammar, a synopsis, an illustration, a deliberate fragment.</summary>
    Shown,
}

/// <summary>One fenced block of a page.</summary>
/// <param name="Page">The page's path relative to the repository root.</param>
/// <param name="Line">The 1-based line of the opening fence.</param>
/// <param name="Info">The info string after the opening fence.</param>
/// <param name="Kind">What the runner does with it.</param>
/// <param name="Text">The block's lines, joined by '\n', with a final '\n'.</param>
/// <param name="FileName">For <see cref="BlockKind.File"/>: the file to write (relative to the page's folder).</param>
/// <param name="TimeoutSeconds">How long a run block may take before it fails.</param>
public sealed record DocBlock(string Page, int Line, string Info, BlockKind Kind, string Text, string? FileName, int TimeoutSeconds)
{
    /// <summary>Page and line, as a failure names the block.</summary>
    public string Where => $"{Page}:{Line}";

    /// <summary>Whether the runner runs it.</summary>
    public bool Runs => Kind is BlockKind.CSharp or BlockKind.Shell or BlockKind.Node;
}
