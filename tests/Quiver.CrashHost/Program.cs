using System.Globalization;
using Quiver;
using Quiver.Testing;

// Usage: Quiver.CrashHost <folder> <seed> <steps>, or Quiver.CrashHost capped-search … (CappedSearchHost).
// Opens the folder and runs CrashWorkload.Script(seed, steps). Prints "BEGIN <step> <op>" before a step and
// "ACK <step> <op>" once the engine acknowledged it, flushing stdout after every line, then "DONE".
if (args.Length > 0 && args[0] == CappedSearchHost.Mode)
{
    return await CappedSearchHost.RunAsync(args[1..]);
}

if (args.Length != 3)
{
    Console.Error.WriteLine("usage: Quiver.CrashHost <folder> <seed> <steps>");
    return 2;
}

var folder = args[0];
var seed = int.Parse(args[1], CultureInfo.InvariantCulture);
var steps = int.Parse(args[2], CultureInfo.InvariantCulture);
var stdout = Console.Out;

await using (var db = await QuiverEngine.OpenAsync(folder, CrashWorkload.Options(seed)))
{
    stdout.WriteLine("READY");
    stdout.Flush();
    foreach (var op in CrashWorkload.Script(seed, steps))
    {
        stdout.WriteLine($"BEGIN {op.Step} {op}");
        stdout.Flush();
        await CrashWorkload.RunAsync(db, seed, op);
        stdout.WriteLine($"ACK {op.Step} {op}");
        stdout.Flush();
    }
}

stdout.WriteLine("DONE");
stdout.Flush();
return 0;
