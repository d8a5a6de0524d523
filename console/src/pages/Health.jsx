import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import { consoleApi } from "../api.js";
import { ErrorBox, bytes, usePoll } from "../components.jsx";

const WARN = "#a15c00";
const FAIL = "#b00020";

/** A threshold drawn as a dashed horizontal series. */
const thresholdSeries = (label, color) => ({ label, stroke: color, dash: [6, 4], width: 1.5, points: { show: false } });

/** One time-series chart; redrawn with new data in place. */
function Chart({ title, id, series, data, yLabel, yFormat, log }) {
  const box = useRef(null);
  const plot = useRef(null);
  useEffect(() => {
    const width = Math.max(320, box.current.clientWidth);
    plot.current = new uPlot({
      title, width, height: 220,
      // Thresholds sit far above healthy values (ms, MiB): a log scale keeps both readable.
      scales: { x: { time: true }, y: log ? { distr: 3, log: 10 } : {} },
      axes: [{}, { label: yLabel, values: yFormat ? (_, ticks) => ticks.map(yFormat) : undefined, size: 70 }],
      series: [{}, ...series],
    }, data, box.current);
    const resize = () => plot.current.setSize({ width: Math.max(320, box.current.clientWidth), height: 220 });
    addEventListener("resize", resize);
    return () => {
      removeEventListener("resize", resize);
      plot.current.destroy();
    };
  }, [series.length]);
  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);
  return <figure class="chart" data-testid={id} aria-label={title}><div ref={box} /></figure>;
}

/** Server health from the server's own metrics: call and search rates, error rate, search latency percentiles, memory,
 * WAL and compaction activity and the live recall estimate over time, with `quiver health`'s thresholds marked. */
export function Health() {
  const { value, error } = usePoll(() => consoleApi("/metrics"), 2000, []);
  if (!value) return error ? <ErrorBox error={error} /> : <p aria-busy="true">Loading…</p>;
  const s = value.samples;
  const t = value.thresholds || {};
  const times = s.map((x) => x.t / 1000);
  const line = (v) => s.map(() => (v === null || v === undefined ? null : v));
  const latest = s[s.length - 1] || {};
  const lat = [times, s.map((x) => x.p50), s.map((x) => x.p95), s.map((x) => x.p99)];
  const latSeries = [
    // Points too: a short burst of searches is one or two samples, which a line alone would not show.
    { label: "p50 ms", stroke: "#1f77b4", width: 2, points: { show: true, size: 5 } },
    { label: "p95 ms", stroke: "#6a3d9a", width: 2, points: { show: true, size: 5 } },
    { label: "p99 ms", stroke: "#d62728", width: 2, points: { show: true, size: 5 } },
  ];
  for (const [key, name] of [["search.p99_ms", "p99"], ["search.p95_ms", "p95"], ["search.p50_ms", "p50"]]) {
    if (t[key]?.warn != null) { lat.push(line(t[key].warn)); latSeries.push(thresholdSeries(`${name} warn`, WARN)); }
    if (t[key]?.fail != null) { lat.push(line(t[key].fail)); latSeries.push(thresholdSeries(`${name} fail`, FAIL)); }
  }
  const err = [times, s.map((x) => x.errorRate)];
  const errSeries = [{ label: "error rate", stroke: "#d62728", width: 2, points: { show: true, size: 4 } }];
  if (t.error_rate?.warn != null) { err.push(line(t.error_rate.warn)); errSeries.push(thresholdSeries("warn", WARN)); }
  if (t.error_rate?.fail != null) { err.push(line(t.error_rate.fail)); errSeries.push(thresholdSeries("fail", FAIL)); }
  const mib = (n) => (n == null ? null : n / 1048576);
  const mem = [times, s.map((x) => mib(x.workingSet)), s.map((x) => mib(x.gcHeap))];
  const memSeries = [{ label: "working set MiB", stroke: "#2ca02c", width: 2 }, { label: "managed heap MiB", stroke: "#17becf", width: 2 }];
  const limit = latest.memoryLimit;
  if (limit && t["memory.fraction"]?.warn != null) { mem.push(line(mib(limit * t["memory.fraction"].warn))); memSeries.push(thresholdSeries("warn", WARN)); }
  if (limit && t["memory.fraction"]?.fail != null) { mem.push(line(mib(limit * t["memory.fraction"].fail))); memSeries.push(thresholdSeries("fail", FAIL)); }
  const rate = [times, s.map((x) => x.qps), s.map((x) => x.searchQps)];
  const rateSeries = [{ label: "calls/s", stroke: "#1f77b4", width: 2 }, { label: "searches/s", stroke: "#ff7f0e", width: 2 }];
  // Write path: per-second rates of the interval from the engine's meter.
  const perSecond = (key) => s.map((x) => x[key] / (value.intervalMs / 1000));
  const writes = [times, perSecond("walFsyncs"), perSecond("rowsWritten"), perSecond("rowsDeleted"), perSecond("compactionRows")];
  const writeSeries = [
    { label: "WAL fsyncs/s", stroke: "#1f77b4", width: 2, points: { show: true, size: 4 } },
    { label: "rows written/s", stroke: "#2ca02c", width: 2 },
    { label: "rows deleted/s", stroke: "#d62728", width: 2 },
    { label: "rows compacted/s", stroke: "#6a3d9a", width: 2, points: { show: true, size: 4 } },
  ];
  // Live recall: one series per collection the recall monitor has samples for.
  const recallKeys = [...new Set(s.flatMap((x) => Object.keys(x.recall || {})))].sort().slice(0, 8);
  const palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#6a3d9a", "#8c564b", "#17becf", "#7f7f7f", "#bcbd22"];
  const rec = [times, ...recallKeys.map((k) => s.map((x) => x.recall?.[k] ?? null))];
  const recSeries = recallKeys.map((k, i) => ({ label: k, stroke: palette[i], width: 2, points: { show: true, size: 4 } }));
  if (recallKeys.length > 0) {
    if (t.recall?.warn != null) { rec.push(line(t.recall.warn)); recSeries.push(thresholdSeries("warn", WARN)); }
    if (t.recall?.fail != null) { rec.push(line(t.recall.fail)); recSeries.push(thresholdSeries("fail", FAIL)); }
  }
  const fmt = (v, digits = 1) => (v === null || v === undefined ? "–" : v.toFixed(digits));
  const searches = s.reduce((sum, x) => sum + x.searches, 0);
  const sum = (key) => s.reduce((total, x) => total + (x[key] || 0), 0);
  return (
    <section aria-labelledby="health-title">
      <h1 id="health-title">Server health</h1>
      <p>One sample every {value.intervalMs / 1000} s from the server's own metrics, the last {s.length} shown. Dashed lines are
        <code> quiver health</code>'s thresholds (warn, fail).</p>
      <ErrorBox error={error} />
      <table class="summary" data-testid="health-summary">
        <caption>Latest sample</caption>
        <tbody>
          <tr><th scope="row">Calls per second</th><td data-testid="latest-qps">{fmt(latest.qps)}</td>
            <th scope="row">Searches per second</th><td data-testid="latest-search-qps">{fmt(latest.searchQps)}</td></tr>
          <tr><th scope="row">Search p50 / p95 / p99 (ms)</th><td>{fmt(latest.p50, 2)} / {fmt(latest.p95, 2)} / {fmt(latest.p99, 2)}</td>
            <th scope="row">Error rate</th><td>{latest.errorRate == null ? "–" : (latest.errorRate * 100).toFixed(2) + " %"}</td></tr>
          <tr><th scope="row">Working set</th><td>{bytes(latest.workingSet)} of {bytes(latest.memoryLimit)}</td>
            <th scope="row">Searches in the window</th><td data-testid="window-searches">{searches}</td></tr>
          <tr><th scope="row">WAL fsyncs / rows written in the window</th><td data-testid="window-writes">{sum("walFsyncs")} / {sum("rowsWritten")}</td>
            <th scope="row">Compaction merges / rows in the window</th><td data-testid="window-compaction">{sum("compactionMerges")} / {sum("compactionRows")}</td></tr>
        </tbody>
      </table>
      <table class="summary" data-testid="recall-summary">
        <caption>Live recall estimate (searches re-run exactly by the server's recall monitor)</caption>
        <tbody>
          {Object.keys(latest.recall || {}).length === 0 && <tr><td>No estimate yet: the monitor samples a share of searches (Monitoring:RecallSampleRate).</td></tr>}
          {Object.entries(latest.recall || {}).sort().map(([k, v]) => (
            <tr data-testid="recall-row"><th scope="row">{k}</th><td class="num">{v.toFixed(4)}</td></tr>
          ))}
        </tbody>
      </table>
      <div class="charts">
        <Chart id="chart-rate" title="Throughput" series={rateSeries} data={rate} yLabel="per second" />
        <Chart id="chart-latency" title="Search latency (log scale)" series={latSeries} data={lat} yLabel="ms" log />
        <Chart id="chart-errors" title="Error rate" series={errSeries} data={err} yLabel="fraction" />
        <Chart id="chart-memory" title="Memory (log scale)" series={memSeries} data={mem} yLabel="MiB" log />
        <Chart id="chart-writes" title="WAL and compaction" series={writeSeries} data={writes} yLabel="per second" />
        {recallKeys.length > 0 && <Chart id="chart-recall" title="Live recall estimate" series={recSeries} data={rec} yLabel="recall@k" />}
      </div>
    </section>
  );
}
