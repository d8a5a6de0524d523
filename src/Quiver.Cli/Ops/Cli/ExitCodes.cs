namespace Quiver.Cli.Ops.Cli;

/// <summary>The exit codes every operator command shares (documented in docs/operations.md).</summary>
internal static class ExitCodes
{
    /// <summary>The command did everything it was asked.</summary>
    public const int Ok = 0;

    /// <summary>The command failed: bad arguments, an unreadable file, a refused call. Nothing was half-done
    /// (a resumable import can be resumed).</summary>
    public const int Failed = 1;

    /// <summary>The command ran but a check it makes did not pass: <c>health</c> found a threshold breached,
    /// <c>tune</c> found no setting meeting the target, <c>restore --verify</c> found damage.</summary>
    public const int CheckFailed = 2;

    /// <summary>The command finished but rejected some input rows (skipped with a report, as asked).</summary>
    public const int RowsRejected = 3;
}
