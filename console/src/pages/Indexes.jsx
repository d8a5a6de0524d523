import { useState } from "preact/hooks";
import { consoleApi, rest } from "../api.js";
import { ErrorBox, NeedsLoad, ToolProgress, bytes, isVector, usePoll, useToolRun } from "../components.jsx";
import { Tune } from "./Tune.jsx";

const INDEX_TYPES = ["AUTOINDEX", "HNSW", "FLAT", "IVF_FLAT", "IVF_SQ8", "IVF_PQ", "DISKANN"];
const METRICS = ["L2", "IP", "COSINE"];
const fmt = (v, digits = 3) => (typeof v === "number" ? v.toFixed(digits) : "–");

/** Each sealed segment's part of one index build: rows, state, progress, the type built and its memory. */
function SegmentTable({ index }) {
  return (
    <details class="segments" data-testid={`segments-${index.indexName}`}>
      <summary>{index.segments.length} sealed segment{index.segments.length === 1 ? "" : "s"}: {index.segments.filter((s) => s.state === "Built").length} built</summary>
      <table>
        <caption class="sr-only">Segments of {index.indexName}</caption>
        <thead><tr><th scope="col">Segment</th><th scope="col">Rows</th><th scope="col">State</th><th scope="col">Progress</th><th scope="col">Type built</th><th scope="col">Memory</th></tr></thead>
        <tbody>
          {index.segments.map((s) => (
            <tr data-testid="segment-row" data-state={s.state}>
              <th scope="row">{s.segmentId}</th><td class="num">{s.rows}</td>
              <td class="reason">{s.state}{s.error ? `: ${s.error}` : ""}</td>
              <td><progress max="1" value={s.fraction} aria-label={`segment ${s.segmentId} progress`} /> {Math.round(s.fraction * 100)} %</td>
              <td>{s.indexType || "–"}</td><td class="num">{bytes(s.memoryBytes)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}

/** The toolbox's advice for the field, offered in the create-index form: the recommended type and parameters (with the
 * figures it was chosen on) and every candidate with its verdict; "Use" fills the form (type, parameters, the field's
 * metric). */
function Advice({ name, field, onUse }) {
  const [target, setTarget] = useState("0.95");
  const { run: start, busy, value: result, error, progress } = useToolRun("/advise");
  const run = () => start({ collection: name, field, targetRecall: Number(target) });
  const chosen = result?.recommended;
  return (
    <div class="advice" aria-live="polite">
      <label>Target recall <input type="number" step="0.01" min="0.01" max="1" value={target} onInput={(e) => setTarget(e.target.value)} data-testid="advise-recall" /></label>
      <button type="button" onClick={run} disabled={busy} data-testid="advise">{busy ? "Measuring candidates…" : "Advise an index"}</button>
      <ToolProgress progress={progress} label="Advise" />
      <ErrorBox error={error} />
      {result && (
        <div data-testid="advice">
          <p data-testid="advice-summary">{result.summary}</p>
          {chosen && (
            <button type="button" class="primary" data-testid="use-advice"
              onClick={() => onUse(chosen.indexType, JSON.stringify(chosen.buildParams), String(result.metric).toUpperCase())}>Use {chosen.indexType} {JSON.stringify(chosen.buildParams)}</button>
          )}
          <details>
            <summary>All candidates ({result.candidates.length}), measured on {result.sampleRows} rows</summary>
            <table>
              <thead><tr><th scope="col">Index</th><th scope="col">recall@{result.k}</th><th scope="col">Expected p50 ms</th><th scope="col">Index memory</th><th scope="col">Verdict</th></tr></thead>
              <tbody>
                {result.candidates.map((c) => (
                  <tr data-testid="advice-candidate"><th scope="row">{c.name}</th><td class="num">{c.measured ? fmt(c.sampleRecall) : "–"}</td>
                    <td class="num">{c.measured ? fmt(c.expectedP50Ms) : "–"}</td><td class="num">{bytes(c.indexBytes)}</td><td>{c.chosen ? "chosen: " : ""}{c.reason}</td></tr>
                ))}
              </tbody>
            </table>
          </details>
        </div>
      )}
    </div>
  );
}

/** How long until the index panel looks again, in ms (0: it stops): every second while a segment is queued or
 * building (an index is Failed as soon as one segment failed, while others may still be building); every 5 s while a
 * segment's build has failed, since the engine retries it after 30 s and the panel shows the retry without a reopen;
 * never once every segment is built. */
const nextIndexLook = (indexes) =>
  indexes.some((d) => d.state === "InProgress" || d.segments.some((seg) => seg.state === "Queued" || seg.state === "Building")) ? 1000
    : indexes.some((d) => d.segments.some((seg) => seg.state === "Failed")) ? 5000
      : 0;

/** The collection's indexes with build progress per segment and memory (polled while a build runs or a failed one
 * waits for its retry, through one console call that the per-user rate does not count); create (with the toolbox's
 * advice offered), drop, and tune. */
export function Indexes({ name, info, can, act, version, reload }) {
  const [look, setLook] = useState(1000);
  const loaded = info.load === "LoadStateLoaded" || info.load === "LoadStateLoading";
  const { value: indexes, error } = usePoll(async () => {
    const detail = await consoleApi("/indexes", { collection: name });
    setLook(nextIndexLook(detail.indexes));
    return detail.indexes.map((d) => ({ ...d, indexState: d.state, detail: d }));
  }, look, [name, version], look > 0);
  const vectorFields = info.fields.filter((f) => isVector(f.type)).map((f) => f.name);
  const [form, setForm] = useState({ field: vectorFields[0] || "", type: "HNSW", metric: "COSINE", params: '{"M": 16, "efConstruction": 200}' });
  const [formError, setFormError] = useState(null);
  const create = () => {
    let params;
    try {
      params = form.params.trim() ? JSON.parse(form.params) : {};
    } catch (err) {
      setFormError(new Error(`Build parameters are not JSON: ${err.message}`));
      return;
    }
    setFormError(null);
    act("Create index", `Build a ${form.type} index (${form.metric}) on ${form.field}? Segments are indexed in the background.`, "Create", false,
      async () => {
        await rest("/indexes/create", { collectionName: name, indexParams: [{ fieldName: form.field, indexName: form.field, indexType: form.type, metricType: form.metric, params }] });
        setLook(1000);
      });
  };
  return (
    <>
      <h2>Indexes</h2>
      <ErrorBox error={error} />
      {indexes && indexes.length === 0 && <p>No index: searches scan every row exactly.</p>}
      {indexes && indexes.length > 0 && (
        <table data-testid="indexes">
          <thead><tr><th scope="col">Index</th><th scope="col">Field</th><th scope="col">Type</th><th scope="col">Metric</th><th scope="col">Parameters</th><th scope="col">State</th><th scope="col">Build progress</th><th scope="col">Memory</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
          <tbody>
            {indexes.map((d) => {
              const done = d.totalRows > 0 ? d.indexedRows / d.totalRows : d.indexState === "Finished" ? 1 : 0;
              const built = d.detail && Object.entries(d.detail.builtTypes).map(([t, rows]) => `${t}: ${rows} rows`).join(", ");
              return (
                <tr data-testid={`index-${d.indexName}`}>
                  <th scope="row">{d.indexName}</th><td>{d.fieldName}</td><td>{d.indexType}{built && d.indexType === "AUTOINDEX" ? ` (${built})` : ""}</td><td>{d.metricType}</td>
                  <td data-testid="index-build-params">{Object.entries(d.params || {}).map(([k, v]) => `${k}=${v}`).join(", ") || "–"}</td>
                  <td data-testid="index-state" class="reason">{d.indexState}{d.failReason ? `: ${d.failReason}` : ""}</td>
                  <td>
                    <progress max="1" value={done} aria-label={`${d.indexName} build progress`} />{" "}
                    <span data-testid="index-progress">{d.indexedRows} / {d.totalRows} rows ({d.pendingRows} pending)</span>
                    {d.detail && d.detail.segments.length > 0 && <SegmentTable index={d.detail} />}
                  </td>
                  <td class="num" data-testid="index-memory">{d.detail ? bytes(d.detail.memoryBytes) : "–"}</td>
                  <td>{can.DropIndex && (
                    <button type="button" class="danger" onClick={() => act("Drop index", `Drop the index ${d.indexName}? Searches fall back to exact scans.`, "Drop", true,
                      () => rest("/indexes/drop", { collectionName: name, indexName: d.indexName }))}>Drop</button>
                  )}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {can.CreateIndex && vectorFields.length > 0 && (
        <form class="inline-form" aria-labelledby="create-index-title" onSubmit={(e) => { e.preventDefault(); create(); }}>
          <h3 id="create-index-title">Create an index</h3>
          <label>Field <select value={form.field} data-testid="index-field" onChange={(e) => setForm({ ...form, field: e.target.value })}>{vectorFields.map((f) => <option>{f}</option>)}</select></label>
          <label>Type <select value={form.type} data-testid="index-type" onChange={(e) => setForm({ ...form, type: e.target.value })}>{INDEX_TYPES.map((t) => <option>{t}</option>)}</select></label>
          <label>Metric <select value={form.metric} data-testid="index-metric" onChange={(e) => setForm({ ...form, metric: e.target.value })}>{METRICS.map((t) => <option>{t}</option>)}</select></label>
          <label>Build parameters (JSON) <input value={form.params} data-testid="index-params" onInput={(e) => setForm({ ...form, params: e.target.value })} /></label>
          <button type="submit" class="primary" data-testid="create-index">Create index</button>
          <ErrorBox error={formError} />
          <NeedsLoad name={name} loaded={loaded} canLoad={can.LoadCollection} what="advise" onLoaded={reload}>
            <Advice name={name} field={form.field} onUse={(type, params, metric) => setForm({ ...form, type, params, metric })} />
          </NeedsLoad>
        </form>
      )}
      {indexes && indexes.some((d) => d.indexState === "Finished") && (
        <NeedsLoad name={name} loaded={loaded} canLoad={can.LoadCollection} what="tune" onLoaded={reload}>
          <Tune name={name} fields={indexes.filter((d) => d.indexState === "Finished").map((d) => d.fieldName)} canSave={can.AlterCollection} />
        </NeedsLoad>
      )}
    </>
  );
}
