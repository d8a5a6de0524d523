import { useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import { ErrorBox, ToolProgress, useToolRun } from "../components.jsx";

/** The sweep's recall against QPS, one point per setting in QPS order, the target dashed, the chosen setting marked. */
function TuneCurve({ result }) {
  const box = useRef(null);
  useEffect(() => {
    const runs = [...result.sweep].sort((a, b) => a.qps - b.qps);
    const data = [
      runs.map((r) => r.qps),
      runs.map((r) => r.recall),
      runs.map((r) => (r.chosen ? r.recall : null)),
      runs.map(() => (result.goal === "recall" ? result.target : null)),
    ];
    const plot = new uPlot({
      title: `recall@${result.k} against QPS (${result.indexType})`,
      width: Math.max(320, Math.min(760, box.current.clientWidth)), height: 260,
      scales: { x: { time: false } },
      axes: [{ label: "queries per second (one client)" }, { label: `recall@${result.k}`, size: 60 }],
      series: [
        { label: "QPS", value: (_, v) => (v == null ? "–" : v.toFixed(0)) },
        { label: "sweep", stroke: "#1f77b4", width: 2, points: { show: true, size: 7 } },
        { label: "chosen", stroke: "#d62728", width: 0, points: { show: true, size: 12, fill: "#d62728" } },
        { label: "target", stroke: "#a15c00", dash: [6, 4], width: 1.5, points: { show: false } },
      ],
    }, data, box.current);
    return () => plot.destroy();
  }, [result]);
  return <figure class="chart" data-testid="tune-curve" aria-label={`recall against QPS for ${result.sweep.length} settings`}><div ref={box} /></figure>;
}

/** `quiver tune` from the page: sweeps the index's search parameter on the collection's own rows, shows each setting's
 * recall and speed, the curve, and the chosen setting (saved as the field's default search parameters on request). */
export function Tune({ name, fields, canSave }) {
  const [field, setField] = useState(fields[0]);
  const [target, setTarget] = useState("0.95");
  const [queries, setQueries] = useState("100");
  const [save, setSave] = useState(false);
  const { run: start, busy, value: result, error, progress } = useToolRun("/tune");
  const run = (e) => {
    e.preventDefault();
    start({ collection: name, field, targetRecall: Number(target), sample: Number(queries), save });
  };
  return (
    <section aria-labelledby="tune-title">
      <h2 id="tune-title">Tune search parameters</h2>
      <form class="inline-form" onSubmit={run}>
        <label>Field <select value={field} onChange={(e) => setField(e.target.value)} data-testid="tune-field">{fields.map((f) => <option>{f}</option>)}</select></label>
        <label>Target recall <input type="number" step="0.01" min="0.01" max="1" value={target} onInput={(e) => setTarget(e.target.value)} data-testid="tune-recall" /></label>
        <label>Queries <input type="number" min="2" max="100000" value={queries} onInput={(e) => setQueries(e.target.value)} data-testid="tune-queries" /></label>
        {canSave && <label><input type="checkbox" checked={save} onChange={(e) => setSave(e.target.checked)} data-testid="tune-save" /> save the choice as the field's default</label>}
        <button type="submit" class="primary" disabled={busy} data-testid="run-tune">{busy ? "Sweeping…" : "Run tune"}</button>
      </form>
      <ToolProgress progress={progress} label="Tune" />
      <ErrorBox error={error} />
      {result && (
        <div data-testid="tune-result" aria-live="polite">
          <p data-testid="tune-summary">{result.summary}</p>
          {result.tunable && (
            <>
              <TuneCurve result={result} />
              <table data-testid="tune-sweep">
                <thead><tr><th scope="col">Setting</th><th scope="col">recall@{result.k}</th><th scope="col">p50 ms</th><th scope="col">p95 ms</th><th scope="col">QPS</th><th scope="col">Meets target</th></tr></thead>
                <tbody>
                  {result.sweep.map((r) => (
                    <tr data-chosen={r.chosen ? "true" : undefined}>
                      <th scope="row">{r.effective}{r.chosen ? " (chosen)" : ""}</th><td class="num">{r.recall.toFixed(4)}</td><td class="num">{r.p50Ms.toFixed(3)}</td>
                      <td class="num">{r.p95Ms.toFixed(3)}</td><td class="num">{r.qps.toFixed(0)}</td><td>{r.meetsTarget ? "yes" : "no"}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {result.savedProperty && <p role="status">Saved: {result.savedProperty} = {result.savedValue}</p>}
            </>
          )}
        </div>
      )}
    </section>
  );
}
