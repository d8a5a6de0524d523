import { useEffect, useState } from "preact/hooks";
import { consoleApi, rest } from "../api.js";
import { Confirm, ErrorBox, JsonValue, isVector } from "../components.jsx";
import { Indexes } from "./Indexes.jsx";

/** Every collection of the database with its rows, load state, indexes and aliases. */
export function Collections({ session }) {
  const [rows, setRows] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    (async () => {
      try {
        const names = await rest("/collections/list");
        const described = await Promise.all(names.map(async (name) => {
          const [info, stats] = await Promise.all([
            rest("/collections/describe", { collectionName: name }),
            rest("/collections/get_stats", { collectionName: name }).catch(() => ({ rowCount: null })),
          ]);
          return { name, info, rowCount: stats.rowCount };
        }));
        setRows(described);
      } catch (err) {
        setError(err);
      }
    })();
  }, []);
  return (
    <section aria-labelledby="collections-title">
      <div class="title-row">
        <h1 id="collections-title">Collections</h1>
        {session.can.CreateCollection && <a class="button primary" href="#/create" data-testid="create-collection">Create collection</a>}
      </div>
      <ErrorBox error={error} />
      {rows === null && !error && <p aria-busy="true">Loading…</p>}
      {rows && rows.length === 0 && <p>No collections in this database.</p>}
      {rows && rows.length > 0 && (
        <table data-testid="collections">
          <thead><tr><th scope="col">Name</th><th scope="col">Rows</th><th scope="col">Load state</th><th scope="col">Vector fields</th><th scope="col">Indexes</th><th scope="col">Aliases</th></tr></thead>
          <tbody>
            {rows.map((r) => (
              <tr>
                <th scope="row"><a href={`#/collection/${encodeURIComponent(r.name)}`}>{r.name}</a></th>
                <td class="num">{r.rowCount ?? "–"}</td>
                <td>{r.info.load || "–"}</td>
                <td>{r.info.fields.filter((f) => isVector(f.type)).map((f) => `${f.name} (${f.params.find((p) => p.key === "dim")?.value ?? "?"}-d)`).join(", ")}</td>
                <td>{r.info.indexes.map((i) => `${i.indexName} ${i.metricType}`).join(", ") || "none"}</td>
                <td>{r.info.aliases.join(", ") || "–"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** One collection: schema, counts, partitions, aliases, load state, properties, indexes with build progress, and the
 * actions the signed-in user may take. */
export function CollectionDetail({ arg: name }) {
  const [info, setInfo] = useState(null);
  const [partitions, setPartitions] = useState([]);
  const [rowCount, setRowCount] = useState(null);
  const [can, setCan] = useState({});
  const [error, setError] = useState(null);
  const [confirm, setConfirm] = useState(null);
  const [version, setVersion] = useState(0);
  const [status, setStatus] = useState("");
  const reload = () => setVersion((v) => v + 1);

  useEffect(() => {
    (async () => {
      try {
        const [described, stats, parts, session] = await Promise.all([
          rest("/collections/describe", { collectionName: name }),
          rest("/collections/get_stats", { collectionName: name }),
          rest("/partitions/list", { collectionName: name }),
          consoleApi("/session", { collection: name }),
        ]);
        setInfo(described);
        setRowCount(stats.rowCount);
        setCan(session.can);
        setPartitions(await Promise.all(parts.map(async (p) => ({
          name: p,
          rows: (await rest("/partitions/get_stats", { collectionName: name, partitionName: p }).catch(() => ({}))).rowCount,
        }))));
      } catch (err) {
        setError(err);
      }
    })();
  }, [version]);

  const act = (title, text, confirmLabel, danger, run) => setConfirm({ title, text, confirmLabel, danger, run });
  const runConfirmed = async () => {
    const { run, title } = confirm;
    setConfirm(null);
    setError(null);
    try {
      await run();
      setStatus(`${title}: done`);
      reload();
    } catch (err) {
      setError(err);
    }
  };

  if (error && !info) return <ErrorBox error={error} />;
  if (!info) return <p aria-busy="true">Loading…</p>;
  const loaded = info.load === "LoadStateLoaded" || info.load === "LoadStateLoading";
  return (
    <section aria-labelledby="collection-title">
      <div class="title-row">
        <h1 id="collection-title">{name}</h1>
        <a class="button" href={`#/browse/${encodeURIComponent(name)}`}>Browse data</a>
        <a class="button" href={`#/search/${encodeURIComponent(name)}`}>Search</a>
      </div>
      <p class="status" role="status" aria-live="polite">{status}</p>
      <ErrorBox error={error} />
      <dl class="facts" data-testid="facts">
        <dt>Rows</dt><dd data-testid="row-count">{rowCount}</dd>
        <dt>Load state</dt><dd data-testid="load-state">{info.load}</dd>
        <dt>Shards</dt><dd>{info.shardsNum}</dd>
        <dt>Consistency</dt><dd>{info.consistencyLevel}</dd>
        <dt>Dynamic field</dt><dd>{info.enableDynamicField ? "on" : "off"}</dd>
        <dt>Aliases</dt><dd>{info.aliases.join(", ") || "–"}</dd>
        <dt>Description</dt><dd>{info.description || "–"}</dd>
      </dl>
      <div class="actions">
        {!loaded && can.LoadCollection && (
          <button type="button" onClick={() => act("Load", `Load ${name} into memory for search and query?`, "Load", false,
            () => rest("/collections/load", { collectionName: name }))}>Load</button>
        )}
        {loaded && can.ReleaseCollection && (
          <button type="button" onClick={() => act("Release", `Release ${name}? Searches and queries on it fail until it is loaded again.`, "Release", true,
            () => rest("/collections/release", { collectionName: name }))}>Release</button>
        )}
        {can.DropCollection && (
          <button type="button" class="danger" data-testid="drop-collection" onClick={() => act("Drop collection",
            `Drop ${name} and every row in it? This cannot be undone.`, "Drop", true,
            async () => { await rest("/collections/drop", { collectionName: name }); location.hash = "#/collections"; })}>Drop collection</button>
        )}
      </div>

      <h2>Schema</h2>
      <table data-testid="schema">
        <thead><tr><th scope="col">Field</th><th scope="col">Type</th><th scope="col">Parameters</th><th scope="col">Flags</th></tr></thead>
        <tbody>
          {info.fields.map((f) => (
            <tr>
              <th scope="row">{f.name}</th>
              <td>{f.type}{f.elementType ? `<${f.elementType}>` : ""}</td>
              <td>{f.params.map((p) => `${p.key}=${p.value}`).join(", ")}</td>
              <td>{[f.primaryKey && "primary key", f.autoId && "auto id", f.partitionKey && "partition key", f.nullable && "nullable",
                f.defaultValue !== undefined && `default ${JSON.stringify(f.defaultValue)}`].filter(Boolean).join(", ")}</td>
            </tr>
          ))}
        </tbody>
      </table>

      <h2>Partitions</h2>
      <table>
        <thead><tr><th scope="col">Partition</th><th scope="col">Rows</th></tr></thead>
        <tbody>{partitions.map((p) => <tr><th scope="row">{p.name}</th><td class="num">{p.rows ?? "–"}</td></tr>)}</tbody>
      </table>

      <h2>Properties</h2>
      {info.properties.length === 0 ? <p>None.</p> : (
        <table><tbody>{info.properties.map((p) => <tr><th scope="row">{p.key}</th><td><JsonValue value={p.value} /></td></tr>)}</tbody></table>
      )}

      <Indexes name={name} info={info} can={can} act={act} version={version} reload={reload} />
      {confirm && (
        <Confirm title={confirm.title} confirmLabel={confirm.confirmLabel} danger={confirm.danger}
          onConfirm={runConfirmed} onCancel={() => setConfirm(null)}>
          <p>{confirm.text}</p>
        </Confirm>
      )}
    </section>
  );
}
