import { useEffect, useState } from "preact/hooks";
import { consoleApi, rest } from "../api.js";
import { Cell, Confirm, ErrorBox } from "../components.jsx";

const PAGE_SIZES = [10, 25, 50, 100];

/** Rows of one collection through a filter, page by page, with chosen output fields; delete by filter (the matching
 * count shown first) for users who may delete. */
export function Browse({ arg: name }) {
  const [schema, setSchema] = useState(null);
  const [can, setCan] = useState({});
  const [fields, setFields] = useState([]);
  const [draft, setDraft] = useState("");
  const [filter, setFilter] = useState("");
  const [pageSize, setPageSize] = useState(10);
  const [page, setPage] = useState(0);
  const [result, setResult] = useState(null);
  const [error, setError] = useState(null);
  const [confirm, setConfirm] = useState(null);
  const [status, setStatus] = useState("");
  const [version, setVersion] = useState(0);

  useEffect(() => {
    Promise.all([rest("/collections/describe", { collectionName: name }), consoleApi("/session", { collection: name })]).then(([info, session]) => {
      setSchema(info);
      setCan(session.can);
      setFields(info.fields.map((f) => f.name));
    }, setError);
  }, [name]);

  const primary = schema?.fields.find((f) => f.primaryKey);
  const expression = filter.trim() || (primary ? (primary.type === "VarChar" ? `${primary.name} != ""` : `${primary.name} >= -9223372036854775808`) : "");

  useEffect(() => {
    if (!schema) return;
    (async () => {
      setError(null);
      try {
        const [counted, rows] = await Promise.all([
          rest("/entities/query", { collectionName: name, filter: expression, outputFields: ["count(*)"] }),
          rest("/entities/query", { collectionName: name, filter: expression, outputFields: fields, limit: pageSize, offset: page * pageSize }),
        ]);
        setResult({ total: counted[0]?.["count(*)"] ?? 0, rows });
      } catch (err) {
        setResult(null);
        setError(err);
      }
    })();
  }, [schema, filter, fields, pageSize, page, version]);

  const apply = (e) => {
    e.preventDefault();
    setPage(0);
    setFilter(draft);
  };
  const askDelete = async () => {
    setError(null);
    try {
      const counted = await rest("/entities/query", { collectionName: name, filter: expression, outputFields: ["count(*)"] });
      setConfirm({ count: counted[0]?.["count(*)"] ?? 0 });
    } catch (err) {
      setError(err);
    }
  };
  const doDelete = async () => {
    setConfirm(null);
    try {
      await rest("/entities/delete", { collectionName: name, filter: expression });
      setStatus(`Deleted the rows matching ${expression}.`);
      setPage(0);
      setVersion((v) => v + 1);
    } catch (err) {
      setError(err);
    }
  };

  if (!schema) return error ? <ErrorBox error={error} /> : <p aria-busy="true">Loading…</p>;
  const types = Object.fromEntries(schema.fields.map((f) => [f.name, f.type]));
  const shown = result && result.rows.length > 0 ? Object.keys(result.rows[0]) : fields;
  const pages = result ? Math.max(1, Math.ceil(result.total / pageSize)) : 1;
  return (
    <section aria-labelledby="browse-title">
      <div class="title-row">
        <h1 id="browse-title">Browse {name}</h1>
        <a class="button" href={`#/collection/${encodeURIComponent(name)}`}>Collection</a>
        <a class="button" href={`#/search/${encodeURIComponent(name)}`}>Search</a>
      </div>
      <form class="filter-form" onSubmit={apply}>
        <label for="filter">Filter expression</label>
        <input id="filter" class="mono" value={draft} onInput={(e) => setDraft(e.target.value)} placeholder={'e.g. category == "tech" and price < 200'}
          aria-describedby="filter-help" data-testid="filter" />
        <button type="submit" class="primary" data-testid="apply-filter">Apply</button>
        {can.Delete && <button type="button" class="danger" onClick={askDelete} data-testid="delete-by-filter">Delete matching rows…</button>}
        <p id="filter-help" class="muted">Milvus filter syntax; empty shows every row.</p>
      </form>
      <fieldset class="fields">
        <legend>Output fields</legend>
        {schema.fields.map((f) => (
          <label><input type="checkbox" checked={fields.includes(f.name)} data-testid={`field-${f.name}`}
            onChange={(e) => setFields(e.target.checked ? [...fields, f.name] : fields.filter((x) => x !== f.name))} /> {f.name}</label>
        ))}
      </fieldset>
      <p class="status" role="status" aria-live="polite">{status}</p>
      <ErrorBox error={error} filter={filter} />
      {result && (
        <>
          <div class="pager">
            <button type="button" disabled={page === 0} onClick={() => setPage(page - 1)} data-testid="prev">Previous</button>
            <span data-testid="page-info">Page {page + 1} of {pages} · rows {result.total === 0 ? 0 : page * pageSize + 1}–{page * pageSize + result.rows.length} of {result.total}</span>
            <button type="button" disabled={page + 1 >= pages} onClick={() => setPage(page + 1)} data-testid="next">Next</button>
            <label>Rows per page <select value={pageSize} onChange={(e) => { setPage(0); setPageSize(Number(e.target.value)); }}>{PAGE_SIZES.map((s) => <option value={s}>{s}</option>)}</select></label>
          </div>
          <div class="scroll">
            <table data-testid="rows">
              <thead><tr>{shown.map((f) => <th scope="col">{f}</th>)}</tr></thead>
              <tbody>
                {result.rows.map((row) => <tr>{shown.map((f) => <td><Cell value={row[f]} type={types[f]} /></td>)}</tr>)}
              </tbody>
            </table>
          </div>
        </>
      )}
      {confirm && (
        <Confirm title="Delete rows" confirmLabel={`Delete ${confirm.count} rows`} danger onConfirm={doDelete} onCancel={() => setConfirm(null)}>
          <p data-testid="delete-count">{confirm.count} rows match <code>{expression}</code>. Delete them? This cannot be undone.</p>
        </Confirm>
      )}
    </section>
  );
}
