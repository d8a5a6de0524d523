import { useState } from "preact/hooks";
import { rest } from "../api.js";
import { Confirm, ErrorBox } from "../components.jsx";

const SCALAR_TYPES = ["Int64", "Int32", "Int16", "Int8", "Bool", "Float", "Double", "VarChar", "JSON"];

/** Creates a collection from a form (primary key, one vector field, scalar fields, index) or from a pasted REST
 * create body or Milvus schema JSON, after a confirmation showing what will be sent. */
export function CreateCollection() {
  const [mode, setMode] = useState("form");
  const [form, setForm] = useState({ name: "", pk: "id", pkType: "Int64", autoId: false, vector: "vector", dim: 128, metric: "COSINE", index: "AUTOINDEX", dynamic: true });
  const [scalars, setScalars] = useState([]);
  const [pasted, setPasted] = useState("");
  const [error, setError] = useState(null);
  const [pending, setPending] = useState(null);

  const fromForm = () => ({
    collectionName: form.name,
    schema: {
      autoId: form.autoId,
      enableDynamicField: form.dynamic,
      fields: [
        { fieldName: form.pk, dataType: form.pkType, isPrimary: true, ...(form.pkType === "VarChar" ? { elementTypeParams: { max_length: 256 } } : {}) },
        { fieldName: form.vector, dataType: "FloatVector", elementTypeParams: { dim: Number(form.dim) } },
        ...scalars.filter((s) => s.name).map((s) => ({ fieldName: s.name, dataType: s.type, nullable: s.nullable,
          ...(s.type === "VarChar" ? { elementTypeParams: { max_length: Number(s.maxLength) || 256 } } : {}) })),
      ],
    },
    indexParams: [{ fieldName: form.vector, indexName: form.vector, indexType: form.index, metricType: form.metric }],
  });

  const fromPasted = () => {
    let body;
    try {
      body = JSON.parse(pasted);
    } catch (err) {
      throw new Error(`The pasted schema is not JSON: ${err.message}`);
    }
    // A bare schema ({fields: [...]}) or a whole create request ({collectionName, schema, indexParams}).
    if (Array.isArray(body.fields)) {
      const { indexParams, ...schema } = body;
      body = indexParams ? { schema, indexParams } : { schema };
    }
    return { ...body, collectionName: body.collectionName || form.name };
  };

  const review = (e) => {
    e.preventDefault();
    setError(null);
    try {
      setPending(mode === "form" ? fromForm() : fromPasted());
    } catch (err) {
      setError(err);
    }
  };
  const create = async () => {
    const body = pending;
    setPending(null);
    try {
      await rest("/collections/create", body);
      location.hash = `#/collection/${encodeURIComponent(body.collectionName)}`;
    } catch (err) {
      setError(err);
    }
  };
  const set = (key) => (e) => setForm({ ...form, [key]: e.target.type === "checkbox" ? e.target.checked : e.target.value });
  return (
    <section aria-labelledby="create-title">
      <h1 id="create-title">Create a collection</h1>
      <form onSubmit={review} class="create-form">
        <fieldset>
          <legend>Define it with</legend>
          <label><input type="radio" name="mode" checked={mode === "form"} onChange={() => setMode("form")} /> this form</label>
          <label><input type="radio" name="mode" checked={mode === "json"} onChange={() => setMode("json")} data-testid="mode-json" /> pasted schema JSON</label>
        </fieldset>
        <label>Name <input value={form.name} onInput={set("name")} required={mode === "form"} data-testid="new-name" /></label>
        {mode === "form" ? (
          <>
            <div class="grid">
              <label>Primary key <input value={form.pk} onInput={set("pk")} required /></label>
              <label>Key type <select value={form.pkType} onChange={set("pkType")}><option>Int64</option><option>VarChar</option></select></label>
              <label><input type="checkbox" checked={form.autoId} onChange={set("autoId")} /> generate keys (auto id)</label>
              <label>Vector field <input value={form.vector} onInput={set("vector")} required /></label>
              <label>Dimension <input type="number" min="1" max="32768" value={form.dim} onInput={set("dim")} required data-testid="new-dim" /></label>
              <label>Metric <select value={form.metric} onChange={set("metric")}><option>COSINE</option><option>L2</option><option>IP</option></select></label>
              <label>Index <select value={form.index} onChange={set("index")}><option>AUTOINDEX</option><option>HNSW</option><option>FLAT</option><option>IVF_FLAT</option><option>DISKANN</option></select></label>
              <label><input type="checkbox" checked={form.dynamic} onChange={set("dynamic")} /> dynamic field (undeclared keys kept)</label>
            </div>
            <h2>Scalar fields</h2>
            {scalars.map((s, i) => (
              <div class="grid" role="group" aria-label={`scalar field ${i + 1}`}>
                <label>Name <input value={s.name} onInput={(e) => setScalars(scalars.map((x, j) => (j === i ? { ...x, name: e.target.value } : x)))} /></label>
                <label>Type <select value={s.type} onChange={(e) => setScalars(scalars.map((x, j) => (j === i ? { ...x, type: e.target.value } : x)))}>{SCALAR_TYPES.map((t) => <option>{t}</option>)}</select></label>
                {s.type === "VarChar" && <label>Max length <input type="number" value={s.maxLength} onInput={(e) => setScalars(scalars.map((x, j) => (j === i ? { ...x, maxLength: e.target.value } : x)))} /></label>}
                <label><input type="checkbox" checked={s.nullable} onChange={(e) => setScalars(scalars.map((x, j) => (j === i ? { ...x, nullable: e.target.checked } : x)))} /> nullable</label>
                <button type="button" onClick={() => setScalars(scalars.filter((_, j) => j !== i))}>Remove</button>
              </div>
            ))}
            <button type="button" onClick={() => setScalars([...scalars, { name: "", type: "VarChar", maxLength: 256, nullable: false }])}>Add a scalar field</button>
          </>
        ) : (
          <label class="wide">Schema JSON (a REST create body, or a schema with <code>fields</code>)
            <textarea class="mono" rows="14" value={pasted} onInput={(e) => setPasted(e.target.value)} data-testid="schema-json" required /></label>
        )}
        <div><button type="submit" class="primary" data-testid="review-create">Review and create</button></div>
      </form>
      <ErrorBox error={error} />
      {pending && (
        <Confirm title="Create collection" confirmLabel="Create" onConfirm={create} onCancel={() => setPending(null)}>
          <p>This request will be sent to <code>/v2/vectordb/collections/create</code>:</p>
          <pre class="scroll">{JSON.stringify(pending, null, 2)}</pre>
        </Confirm>
      )}
    </section>
  );
}
