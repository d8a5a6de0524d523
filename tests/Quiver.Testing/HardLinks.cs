using System.Diagnostics;

namespace Quiver.Testing;

/// <summary>Hard links for tests (.NET has no API that makes one).</summary>
public static class HardLinks
{
    /// <summary>Makes <paramref name="link"/> a second name of the existing file <paramref name="target"/> (with
    /// <c>ln</c>); throws when <c>ln</c> fails.</summary>
    public static void Create(string target, string link)
    {
        using var ln = Process.Start("ln", [target, link]) ?? throw new InvalidOperationException("ln did not start");
        ln.WaitForExit();
        if (ln.ExitCode != 0)
        {
            throw new InvalidOperationException($"ln {target} {link} exited with {ln.ExitCode}");
        }
    }
}
