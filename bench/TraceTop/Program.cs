// Reads an EventPipe .nettrace with CPU samples (Microsoft-DotNETCore-SampleProfiler) and prints, for the samples whose
// stack contains a frame matching FILTER, the methods by exclusive and inclusive share. With ALLOC=TYPE it reads the
// runtime's GC/AllocationTick events instead (one per ~100 kB allocated, with the allocating stack; GC keyword 0x1 at
// level 5) of the objects whose type name contains TYPE, so that the same tables name where those bytes are allocated.
using Microsoft.Diagnostics.Tracing.Etlx;

var path = args[0];
var filter = args.Length > 1 ? args[1] : "";
var top = args.Length > 2 ? int.Parse(args[2]) : 40;
var etlx = TraceLog.CreateFromEventPipeDataFile(path);
using var log = new TraceLog(etlx);
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
