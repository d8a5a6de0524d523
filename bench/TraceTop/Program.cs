// Reads an EventPipe .nettrace with CPU samples (Microsoft-DotNETCore-SampleProfiler) and prints, for the samples whose
// stack contains a frame matching FILTER, the methods by exclusive and inclusive share.
// With ALLOC=large (or ALLOC=all) it reads the runtime's allocation ticks instead (GC keyword at verbose level: one event
// about every 100 KB allocated, carrying the type and the stack of the allocation that crossed it) and prints the bytes
// they account for by type and by the call chain's first frames matching FILTER (large: objects on the large object heap).
// With ALLOC=TYPE (any other value) it takes the allocation ticks of the objects whose type name contains TYPE in place
// of CPU samples, so that the same exclusive/inclusive tables name where those bytes are allocated.
using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

var path = args[0];
var filter = args.Length > 1 ? args[1] : "";
var top = args.Length > 2 ? int.Parse(args[2]) : 40;
var etlx = TraceLog.CreateFromEventPipeDataFile(path);
using var log = new TraceLog(etlx);
if (Environment.GetEnvironmentVariable("ALLOC") is { } alloc and ("large" or "all"))
{
    var byType = new Dictionary<string, long>();
    var bySite = new Dictionary<string, long>();
    long sum = 0;
    var ticks = 0;
    foreach (var e in log.Events)
    {
        if (e is not GCAllocationTickTraceData tick || (alloc == "large" && tick.AllocationKind != GCAllocationKind.Large)) continue;
        ticks++;
        sum += tick.AllocationAmount64;
        var type = tick.TypeName ?? "?";
        byType[type] = byType.GetValueOrDefault(type) + tick.AllocationAmount64;
        var frames = new List<string>();
        for (var s = e.CallStack(); s is not null && frames.Count < 6; s = s.Caller)
        {
            var m = s.CodeAddress.FullMethodName;
            if (!string.IsNullOrEmpty(m) && (filter.Length == 0 || m.Contains(filter))) frames.Add(m.Length > 90 ? m[..90] : m);
        }
        var site = $"{type} <- {string.Join(" <- ", frames)}";
        bySite[site] = bySite.GetValueOrDefault(site) + tick.AllocationAmount64;
    }
    Console.WriteLine($"allocation ticks ({alloc}): {ticks}, {sum / 1048576.0:F1} MiB accounted");
    Console.WriteLine("-- by type");
    foreach (var (t, n) in byType.OrderByDescending(p => p.Value).Take(top)) Console.WriteLine($"{100.0 * n / sum,6:F2}% {n / 1048576.0,9:F1} MiB {t}");
    Console.WriteLine($"-- by site (frames matching '{filter}')");
    foreach (var (t, n) in bySite.OrderByDescending(p => p.Value).Take(top)) Console.WriteLine($"{100.0 * n / sum,6:F2}% {n / 1048576.0,9:F1} MiB {t}");
    return;
}

var exclusive = new Dictionary<string, int>();
var inclusive = new Dictionary<string, int>();
var total = 0;
var chains = new Dictionary<string, int>();
var within = 0;
var all = 0;
var allocType = Environment.GetEnvironmentVariable("ALLOC");
foreach (var e in log.Events)
{
    if (allocType is null ? e.ProviderName != "Microsoft-DotNETCore-SampleProfiler"
        : !e.EventName.Contains("AllocationTick") || !(e.PayloadByName("TypeName") as string ?? "").Contains(allocType)) continue;
    var stack = e.CallStack();
    if (stack is null) continue;
    all++;
    var frames = new List<string>();
    for (var s = stack; s is not null; s = s.Caller)
    {
        var m = s.CodeAddress.FullMethodName;
        if (string.IsNullOrEmpty(m)) m = "?" + s.CodeAddress.ModuleName;
        frames.Add(m);
    }
    if (filter.Length > 0 && !frames.Any(f => f.Contains(filter))) continue;
    // Skip idle/wait frames: a sample is taken of every managed thread, running or not.
    total++;
    if (Environment.GetEnvironmentVariable("INSIDE") is { } inside && frames.Any(f => f.StartsWith(inside, StringComparison.Ordinal)))
    {
        within++;
    }
    if (Environment.GetEnvironmentVariable("LEAF") is { } leaf && frames[0].Contains(leaf))
    {
        var chain = string.Join(" <- ", frames.Take(6).Select(f => f.Length > 70 ? f[..70] : f));
        chains[chain] = chains.GetValueOrDefault(chain) + 1;
    }
    exclusive[frames[0]] = exclusive.GetValueOrDefault(frames[0]) + 1;
    foreach (var f in frames.Distinct()) inclusive[f] = inclusive.GetValueOrDefault(f) + 1;
}
Console.WriteLine($"samples: {all} with stacks, {total} under '{filter}'");
if (Environment.GetEnvironmentVariable("INSIDE") is { } prefix) Console.WriteLine($"{100.0 * within / total:F2}% of them have a frame starting '{prefix}'");
Console.WriteLine("-- exclusive");
foreach (var (m, n) in exclusive.OrderByDescending(p => p.Value).Take(top)) Console.WriteLine($"{100.0 * n / total,6:F2}% {n,7} {m}");
Console.WriteLine("-- inclusive");
foreach (var (m, n) in inclusive.OrderByDescending(p => p.Value).Take(top)) Console.WriteLine($"{100.0 * n / total,6:F2}% {n,7} {m}");
foreach (var (c, n) in chains.OrderByDescending(p => p.Value).Take(15)) Console.WriteLine($"{n,6} {c}");
