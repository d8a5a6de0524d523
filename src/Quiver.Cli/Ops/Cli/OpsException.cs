namespace Quiver.Cli.Ops.Cli;

/// <summary>A failure an operator command reports as one line (<c>quiver CMD: error: MESSAGE</c>) and exit code
/// <see cref="ExitCodes.Failed"/>: bad input files, a damaged backup, a missing collection. The message names the
/// problem (file, line or row, field, value).</summary>
internal sealed class OpsException : Exception
{
    /// <summary>A failure with its message.</summary>
    public OpsException(string message)
        : base(message)
    {
    }

    /// <summary>A failure with its message and cause.</summary>
    public OpsException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
