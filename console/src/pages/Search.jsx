import { useEffect, useState } from "preact/hooks";
import { rest } from "../api.js";
import { Cell, ErrorBox, isVector } from "../components.jsx";

/** Test ids of sub-request i: the first keeps the plain names. */
const tid = (base, i) => (i === 0 ? base : `${base}-${i}`);

/** One vector field's query: the field, where its query comes from (a stored row's vector, a pasted vector, or text
 * when a function such as TextEmbedding or BM25 writes the field), and the row id, vector or text. */
function SubRequest({ i, sub, fields, textFields, primary, onChange, onRemove }) {
  const set = (patch) => onChange({ ...sub, ...patch });
  const canText = textFields.has(sub.field);
  const kind = sub.kind === "text" && !canText ? "row" : sub.kind;
  return (
    <fieldset class="subrequest" data-testid={tid("subrequest", i)}>
      <legend>{i === 0 ? "Query" : `Query ${i + 1}`}</legend>
      <label>Vector field <select value={sub.field} onChange={(e) => set({ field: e.target.value, kind: textFields.has(e.target.value) ? "text" : kind === "text" ? "row" : kind })}
        data-testid={tid("search-field", i)}>{fields.map((f) => <option>{f.name}</option>)}</select></label>
      <span role="radiogroup" aria-label={`query ${i + 1} from`} class="grid-inline">
        <label><input type="radio" name={`mode-${i}`} checked={kind === "row"} onChange={() => set({ kind: "row" })} data-testid={tid("mode-row", i)} /> a stored row's vector</label>
        <label><input type="radio" name={`mode-${i}`} checked={kind === "paste"} onChange={() => set({ kind: "paste" })} data-testid={tid("mode-paste", i)} /> a pasted vector</label>
        {canText && <label><input type="radio" name={`mode-${i}`} checked={kind === "text"} onChange={() => set({ kind: "text" })} data-testid={tid("mode-text", i)} /> text ({textFields.get(sub.field)})</label>}
      </span>
      {kind === "row" && <label>{primary.name} of the row <input value={sub.rowId} onInput={(e) => set({ rowId: e.target.value })} data-testid={tid("row-id", i)} required /></label>}
      {kind === "paste" && <label class="wide">Vector (JSON array) <textarea class="mono" rows="3" value={sub.pasted} onInput={(e) => set({ pasted: e.target.value })} data-testid={tid("vector", i)} required /></label>}
      {kind === "text" && <label class="wide">Text <input value={sub.text} onInput={(e) => set({ text: e.target.value })} data-testid={tid("query-text", i)} required /></label>}
      {onRemove && <button type="button" onClick={onRemove} data-testid={tid("remove-subrequest", i)}>Remove query {i + 1}</button>}
    </fieldset>
  );
}

/** Search in one collection: by a stored row's vector, a pasted one, or text where a function writes the field; several
 * fields at once as a hybrid search fused by RRF or weights; a filter and top-k; results with scores; on demand, the
 * recall of this search against the exact search (the same request with `exact` in every part). */
export function Search({ arg: name }) {
  const [schema, setSchema] = useState(null);
  const [subs, setSubs] = useState([]);
  const [filter, setFilter] = useState("");
  const [topK, setTopK] = useState(10);
  const [ranker, setRanker] = useState({ strategy: "rrf", k: "60", weights: "" });
  const [outputs, setOutputs] = useState([]);
  const [results, setResults] = useState(null);
  const [recall, setRecall] = useState(null);
  const [request, setRequest] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    rest("/collections/describe", { collectionName: name }).then((info) => {
      setSchema(info);
      const written = new Set((info.functions || []).flatMap((fn) => fn.outputFieldNames));
      const first = info.fields.find((f) => isVector(f.type))?.name || "";
      setSubs([{ field: first, kind: written.has(first) ? "text" : "row", rowId: "", pasted: "", text: "" }]);
      setOutputs(info.fields.filter((f) => !isVector(f.type) && !f.primaryKey).map((f) => f.name).slice(0, 4));
    }, setError);
  }, [name]);

  if (!schema) return error ? <ErrorBox error={error} /> : <p aria-busy="true">Loading…</p>;
  const primary = schema.fields.find((f) => f.primaryKey);
  const vectorFields = schema.fields.filter((f) => isVector(f.type));
  const types = Object.fromEntries(schema.fields.map((f) => [f.name, f.type]));
  // Output field -> "TextEmbedding from overview", for the fields a function writes.
  const textFields = new Map((schema.functions || []).flatMap((fn) => fn.outputFieldNames.map((o) => [o, `${fn.type} of ${fn.inputFieldNames.join(", ")}`])));
  const hybrid = subs.length > 1;

  /** The `data` of one sub-request: the row's vector, the pasted vector, or the text. */
  const dataOf = async (sub, i) => {
    const kind = sub.kind === "text" && !textFields.has(sub.field) ? "row" : sub.kind;
    const which = hybrid ? ` (query ${i + 1})` : "";
    if (kind === "text") {
      if (!sub.text.trim()) throw new Error(`Give the text to search for${which}.`);
      return sub.text;
    }
    if (kind === "paste") {
      let vector;
      try {
        vector = JSON.parse(sub.pasted);
      } catch (err) {
        throw new Error(`The pasted vector${which} is not JSON: ${err.message}`);
      }
      if (!Array.isArray(vector) || vector.some((v) => typeof v !== "number")) throw new Error(`The pasted vector${which} must be a JSON array of numbers.`);
      return vector;
    }
    const id = primary.type === "VarChar" ? sub.rowId : sub.rowId.trim();
    const rows = await rest("/entities/get", { collectionName: name, id: primary.type === "VarChar" ? [id] : [Number.isSafeInteger(Number(id)) ? Number(id) : id], outputFields: [sub.field] });
    if (rows.length === 0) throw new Error(`No row has ${primary.name} = ${sub.rowId}${which}.`);
    return rows[0][sub.field];
  };

  /** The REST body and path of this search, with `extra` search params in every part. */
  const build = async (extra) => {
    const limit = Number(topK);
    const parts = await Promise.all(subs.map(async (sub, i) => {
      const part = { annsField: sub.field, data: [await dataOf(sub, i)], limit };
      if (filter.trim()) part.filter = filter;
      if (extra) part.searchParams = { params: extra };
      return part;
    }));
    if (!hybrid) return { path: "/entities/search", body: { collectionName: name, ...parts[0], outputFields: outputs } };
    let rerank;
    if (ranker.strategy === "rrf") rerank = { strategy: "rrf", params: { k: Number(ranker.k) } };
    else {
      const weights = ranker.weights.split(",").map((w) => Number(w.trim()));
      if (weights.length !== subs.length || weights.some((w) => !Number.isFinite(w))) throw new Error(`Give ${subs.length} weights, one per query, separated by commas.`);
      rerank = { strategy: "weighted", params: { weights } };
    }
    return { path: "/entities/hybrid_search", body: { collectionName: name, search: parts, rerank, limit, outputFields: outputs } };
  };

  const search = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setRecall(null);
    try {
      const built = await build(null);
      setRequest(built);
      setResults(await rest(built.path, built.body));
    } catch (err) {
      setResults(null);
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const checkRecall = async () => {
    setBusy(true);
    try {
      const exactBody = request.path === "/entities/search"
        ? { ...request.body, searchParams: { params: { exact: true } } }
        : { ...request.body, search: request.body.search.map((p) => ({ ...p, searchParams: { params: { exact: true } } })) };
      const exact = await rest(request.path, exactBody);
      const expected = new Set(exact.map((r) => String(r.id)));
      const found = results.filter((r) => expected.has(String(r.id))).length;
      setRecall({ found, of: expected.size, value: expected.size === 0 ? 1 : found / expected.size });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const update = (i) => (sub) => setSubs(subs.map((s, j) => (j === i ? sub : s)));
  const unused = vectorFields.find((f) => !subs.some((s) => s.field === f.name));
  const shown = results && results.length > 0 ? Object.keys(results[0]).filter((k) => k !== "distance") : [];
  return (
    <section aria-labelledby="search-title">
      <div class="title-row">
        <h1 id="search-title">Search {name}</h1>
        <a class="button" href={`#/collection/${encodeURIComponent(name)}`}>Collection</a>
        <a class="button" href={`#/browse/${encodeURIComponent(name)}`}>Browse data</a>
      </div>
      <form class="search-form" onSubmit={search}>
        {subs.map((sub, i) => (
          <SubRequest i={i} sub={sub} fields={vectorFields} textFields={textFields} primary={primary} onChange={update(i)}
            onRemove={i > 0 ? () => setSubs(subs.filter((_, j) => j !== i)) : null} />
        ))}
        {unused && (
          <button type="button" data-testid="add-subrequest"
            onClick={() => setSubs([...subs, { field: unused.name, kind: textFields.has(unused.name) ? "text" : "row", rowId: "", pasted: "", text: "" }])}>
            Add a query on {unused.name} (hybrid search)
          </button>
        )}
        {hybrid && (
          <fieldset>
            <legend>Fuse the results by</legend>
            <label><input type="radio" name="ranker" checked={ranker.strategy === "rrf"} onChange={() => setRanker({ ...ranker, strategy: "rrf" })} data-testid="ranker-rrf" /> reciprocal rank (RRF)</label>
            <label>k <input type="number" min="1" max="16384" value={ranker.k} onInput={(e) => setRanker({ ...ranker, k: e.target.value })} data-testid="rrf-k" /></label>
            <label><input type="radio" name="ranker" checked={ranker.strategy === "weighted"} onChange={() => setRanker({ ...ranker, strategy: "weighted" })} data-testid="ranker-weighted" /> weighted scores</label>
            <label>Weights (one per query) <input value={ranker.weights} onInput={(e) => setRanker({ ...ranker, weights: e.target.value })} placeholder="0.7, 0.3" data-testid="weights" /></label>
          </fieldset>
        )}
        <label class="wide">Filter <input class="mono" value={filter} onInput={(e) => setFilter(e.target.value)} data-testid="search-filter" /></label>
        <label>Top k <input type="number" min="1" max="16384" value={topK} onInput={(e) => setTopK(e.target.value)} data-testid="topk" /></label>
        <fieldset class="fields">
          <legend>Output fields</legend>
          {schema.fields.filter((f) => !f.primaryKey).map((f) => (
            <label><input type="checkbox" checked={outputs.includes(f.name)}
              onChange={(e) => setOutputs(e.target.checked ? [...outputs, f.name] : outputs.filter((x) => x !== f.name))} /> {f.name}</label>
          ))}
        </fieldset>
        <button type="submit" class="primary" disabled={busy} data-testid="run-search">{hybrid ? "Hybrid search" : "Search"}</button>
      </form>
      <ErrorBox error={error} filter={error && filter ? filter : undefined} />
      {results && (
        <>
          <div class="title-row">
            <h2>{results.length} results</h2>
            <button type="button" onClick={checkRecall} disabled={busy} data-testid="check-recall">Compare with exact search</button>
            {recall && <span data-testid="recall" role="status">recall@{topK} = {recall.value.toFixed(3)} ({recall.found} of {recall.of} exact neighbours found)</span>}
          </div>
          <div class="scroll">
            <table data-testid="results">
              <thead><tr><th scope="col">Rank</th><th scope="col">{hybrid ? "Fused score" : "Score (distance)"}</th>{shown.map((k) => <th scope="col">{k}</th>)}</tr></thead>
              <tbody>
                {results.map((r, i) => (
                  <tr data-id={String(r.id)}>
                    <td class="num">{i + 1}</td><td class="num">{typeof r.distance === "number" ? r.distance.toFixed(5) : r.distance}</td>
                    {shown.map((k) => <td><Cell value={r[k]} type={types[k]} /></td>)}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
