import { useEffect, useState } from "preact/hooks";
import { rest } from "../api.js";
import { Cell, ErrorBox } from "../components.jsx";

/** Vector search in one collection: by a stored row's vector or a pasted one, with a filter and top-k; results with
 * scores; on demand, the recall of this search against the exact search (the same request with `exact`). */
export function Search({ arg: name }) {
  const [schema, setSchema] = useState(null);
  const [mode, setMode] = useState("row");
  const [field, setField] = useState("");
  const [rowId, setRowId] = useState("");
  const [pasted, setPasted] = useState("");
  const [filter, setFilter] = useState("");
  const [topK, setTopK] = useState(10);
  const [outputs, setOutputs] = useState([]);
  const [results, setResults] = useState(null);
  const [recall, setRecall] = useState(null);
  const [request, setRequest] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    rest("/collections/describe", { collectionName: name }).then((info) => {
      setSchema(info);
      setField(info.fields.find((f) => /Vector$/.test(f.type))?.name || "");
      setOutputs(info.fields.filter((f) => !/Vector$/.test(f.type) && !f.primaryKey).map((f) => f.name).slice(0, 4));
    }, setError);
  }, [name]);

  if (!schema) return error ? <ErrorBox error={error} /> : <p aria-busy="true">Loading…</p>;
  const primary = schema.fields.find((f) => f.primaryKey);
  const vectorFields = schema.fields.filter((f) => /Vector$/.test(f.type));
  const types = Object.fromEntries(schema.fields.map((f) => [f.name, f.type]));

  const queryVector = async () => {
    if (mode === "paste") {
      let vector;
      try {
        vector = JSON.parse(pasted);
      } catch (err) {
        throw new Error(`The pasted vector is not JSON: ${err.message}`);
      }
      if (!Array.isArray(vector) || vector.some((v) => typeof v !== "number")) throw new Error("The pasted vector must be a JSON array of numbers.");
      return vector;
    }
    const id = primary.type === "VarChar" ? rowId : rowId.trim();
    const rows = await rest("/entities/get", { collectionName: name, id: primary.type === "VarChar" ? [id] : [Number.isSafeInteger(Number(id)) ? Number(id) : id], outputFields: [field] });
    if (rows.length === 0) throw new Error(`No row has ${primary.name} = ${rowId}.`);
    return rows[0][field];
  };

  const search = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setRecall(null);
    try {
      const body = { collectionName: name, annsField: field, data: [await queryVector()], limit: Number(topK), outputFields: outputs };
      if (filter.trim()) body.filter = filter;
      setRequest(body);
      setResults(await rest("/entities/search", body));
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
      const exact = await rest("/entities/search", { ...request, searchParams: { params: { exact: true } } });
      const expected = new Set(exact.map((r) => String(r.id)));
      const found = results.filter((r) => expected.has(String(r.id))).length;
      setRecall({ found, of: expected.size, value: expected.size === 0 ? 1 : found / expected.size });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const shown = results && results.length > 0 ? Object.keys(results[0]).filter((k) => k !== "distance") : [];
  return (
    <section aria-labelledby="search-title">
      <div class="title-row">
        <h1 id="search-title">Search {name}</h1>
        <a class="button" href={`#/collection/${encodeURIComponent(name)}`}>Collection</a>
        <a class="button" href={`#/browse/${encodeURIComponent(name)}`}>Browse data</a>
      </div>
      <form class="search-form" onSubmit={search}>
        <fieldset>
          <legend>Query vector</legend>
          <label><input type="radio" name="mode" checked={mode === "row"} onChange={() => setMode("row")} data-testid="mode-row" /> a stored row's vector</label>
          <label><input type="radio" name="mode" checked={mode === "paste"} onChange={() => setMode("paste")} data-testid="mode-paste" /> a pasted vector</label>
        </fieldset>
        <label>Vector field <select value={field} onChange={(e) => setField(e.target.value)}>{vectorFields.map((f) => <option>{f.name}</option>)}</select></label>
        {mode === "row" ? (
          <label>{primary.name} of the row <input value={rowId} onInput={(e) => setRowId(e.target.value)} data-testid="row-id" required /></label>
        ) : (
          <label class="wide">Vector (JSON array) <textarea class="mono" rows="3" value={pasted} onInput={(e) => setPasted(e.target.value)} data-testid="vector" required /></label>
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
        <button type="submit" class="primary" disabled={busy} data-testid="run-search">Search</button>
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
              <thead><tr><th scope="col">Rank</th><th scope="col">Score (distance)</th>{shown.map((k) => <th scope="col">{k}</th>)}</tr></thead>
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
