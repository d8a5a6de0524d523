using Quiver.Bench;

const string Usage = """
    usage: Quiver.Bench <command> [--option value ...]
      ingest --dim 768 --rows N --batch B --policy Always|Interval|Never [--clients C] [--dir D] [--json out.json]
      flat   --data fashion-mnist [--data-dir D] --queries Q --k 10 [--batch 100] [--json out.json]
      server [--base B.fvecs --queries Q.fvecs --groundtruth G.ivecs | --synthetic N:D:SEED] [--nq 1000] [--k 10]
             [--M 16] [--efc 200] [--ef 16,24,32,48,64,96,128,192,256] [--recall 0.95] [--clients 1,16] [--recall-cpu-share 0.05] [--grpc-client inproc,process] [--md out.md] [--json out.json]
      hnsw   BASE.fvecs QUERIES.fvecs GT.ivecs --metric L2|IP|COSINE --M 16 --efc 200 --ef 10,20,40 --k 10 [--threads 1] [--json out.json]
      segments [--rows 100000] [--dim 128] [--splits 1,2,4,8] [--M 16] [--efc 200] [--ef 64] [--k 10] [--nq 300] [--rounds 5] [--threads 2] [--json out.json]
      serverpath [--base B --queries Q --groundtruth G | --synthetic N:D:SEED] [--nq 2000] [--k 10] [--ef 16] [--rounds 3] [--stages 0,1,..] [--interleave N]
      scale  [--sets synthetic-100000x128-s42,...] [--data-dir bench/data] [--nq 1000] [--ks 10,100] [--filters none,1,99]
             [--clients 1,10,20] [--transports embedded,grpc,rest] [--M 16] [--efc 200] [--ef 64] [--out bench/results/scale]
      ingestpath [--dims 128,768] [--rows 100000] [--batch 1000] [--md out.md]
      filters [--set synthetic-100000x128-s42] [--data-dir bench/data] [--nq 200] [--k 10] [--ef 64] [--M 16] [--efc 100]
              [--percents 1,5,20,50,90,99] [--md bench/results/filters-SET.md] [--reopen true]
      filter-scan [--rows 1000000] [--calls 200] [--filters "tag < 50;tag % 7 == 3;..."] [--md bench/results/filter-scan.md]
      grpcload --address http://127.0.0.1:PORT --queries Q.fvecs [--nq N] [--k 10] [--ef 16] [--clients 1] [--rpc search|checkhealth]   (server's child)
      reopen [--rows 1000000 | 100000,1000000] [--dim 128] [--rounds 3] [--dir D] [--json out.json]
      vectortypes [--rows 50000] [--dim 128] [--bits 256] [--nq 200] [--k 10] [--recall 0.95] [--rounds 3] [--variants a,b] [--M 16] [--efc 40] [--json out.json]
      sparse [--rows 100000] [--vocab 30000] [--nnz 60] [--qnnz 12] [--nq 200] [--k 10] [--dir D] [--md out.md]
      bm25   [--root /usr/share/doc] [--max-passages 50000] [--passage-words 200] [--nq 500] [--nq-reference 50] [--k 10] [--dir D] [--md out.md] [--peer fts5_bm25.py]
      overgraph --set synthetic-1000000x128-s42-q1000 [--data-dir bench/data] --dir D [--build true [--M 16] [--efc 100] [--max-mb N]]
                [--ef 64,128] [--k 10] [--nq 1000] [--rounds 5] [--mode both|embedded --seconds S] [--label L] [--json out.json]
      loadlanes --dir D [--build true [--rows 200000] [--segments 4]] [--big-dim 384] [--small-dim 16] [--rounds 2] [--label L]
      keyfilter [--keys 100000,1000000] [--probes 2000000] [--rounds 5] [--json out.json]
      embedbatch [--tokens 16,64,128,256] [--batches 1,4,8,16,32] [--texts 64] [--rounds 3] [--threads 0] [--md out.md]
    Figures are printed as 'name value unit' lines; --json writes them as one object.
    """;

if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
{
    Console.WriteLine(Usage);
    return args.Length == 0 ? 2 : 0;
}

try
{
    if (args[0] == "hnsw")
    {
        return HnswBench.Run(args[1..]);
    }

    if (args[0] == "ivf") return IvfBench.Run(args[1..]);

    var options = new CommandLine(args.Skip(1));
    return args[0] switch
    {
        "ingest" => await IngestBench.RunAsync(options),
        "flat" => await FlatBench.RunAsync(options),
        "server" => await ServerBench.RunAsync(options),
        "segments" => SegmentsBench.Run(options),
        "serverpath" => await ServerPath.RunAsync(options),
        "scale" => await ScaleBench.RunAsync(options),
        "ingestpath" => await IngestPath.RunAsync(options),
        "filters" => await FilterBench.RunAsync(options),
        "filter-scan" => await FilterScanBench.RunAsync(options),
        "grpcload" => await GrpcLoad.RunAsync(options),
        "reopen" => await ReopenBench.RunAsync(options),
        "vectortypes" => await VectorTypesBench.RunAsync(options),
        "sparse" => await SparseBench.RunAsync(options),
        "bm25" => await Bm25Bench.RunAsync(options),
        "embedbatch" => await EmbeddingBatchBench.RunAsync(options),
        "keyfilter" => await KeyFilterBench.RunAsync(options),
        "overgraph" => await OverGraph.RunAsync(options),
        "loadlanes" => await LoadLanesBench.RunAsync(options),
        _ => Fail($"unknown command '{args[0]}'"),
    };
}
catch (ArgumentException e)
{
    return Fail(e.Message);
}

static int Fail(string message)
{
    Console.Error.WriteLine(message);
    Console.Error.WriteLine(Usage);
    return 2;
}
