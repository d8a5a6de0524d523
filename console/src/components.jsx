import { useEffect, useRef, useState } from "preact/hooks";
import { consoleApi, consolePost, filterErrorPosition, rest } from "./api.js";

/** A failed call's message in an alert region; a filter error also shows the filter with a caret under its position. */
export function ErrorBox({ error, filter }) {
  if (!error) return null;
  const position = filter !== undefined ? filterErrorPosition(error.message) : null;
  return (
    <div class="error" role="alert" data-testid="error">
      <strong>{error.code !== undefined && error.code !== -1 ? `Error ${error.code}: ` : "Error: "}</strong>
      {error.message}
      {position !== null && (
        <pre class="caret" data-testid="filter-caret" aria-label={`problem at character ${position + 1} of the filter`}>
          {filter + "\n" + " ".repeat(Math.min(position, filter.length)) + "^"}
        </pre>
      )}
    </div>
  );
}

/** A confirmation dialog (the native modal dialog: focus is trapped, Escape cancels). */
export function Confirm({ title, children, confirmLabel, danger, onConfirm, onCancel, busy }) {
  const ref = useRef(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
  }, []);
  return (
    <dialog ref={ref} class="confirm" aria-labelledby="confirm-title" onCancel={(e) => { e.preventDefault(); onCancel(); }}>
      <h2 id="confirm-title">{title}</h2>
      <div>{children}</div>
      <div class="buttons">
        <button type="button" onClick={onCancel}>Cancel</button>
        <button type="button" class={danger ? "danger" : "primary"} onClick={onConfirm} disabled={busy} data-testid="confirm">
          {confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

/** A vector as its first values and its dimension; the whole vector on demand. */
export function VectorValue({ value }) {
  if (!Array.isArray(value)) return <span>{String(value)}</span>;
  const head = value.slice(0, 4).map((v) => (typeof v === "number" ? v.toFixed(3) : String(v))).join(", ");
  return (
    <details class="vector">
      <summary>[{head}{value.length > 4 ? ", …" : ""}] <span class="muted">dim {value.length}</span></summary>
      <code>{JSON.stringify(value)}</code>
    </details>
  );
}

/** A JSON value, indented, folded when long. */
export function JsonValue({ value }) {
  const text = JSON.stringify(value, null, 2);
  if (text === undefined) return <span class="muted">null</span>;
  if (text.length <= 60) return <code>{JSON.stringify(value)}</code>;
  return (
    <details class="json">
      <summary><code>{JSON.stringify(value).slice(0, 50)}…</code></summary>
      <pre>{text}</pre>
    </details>
  );
}

/** One cell of a result table, by the field's type. */
export function Cell({ value, type }) {
  if (value === null || value === undefined) return <span class="muted">null</span>;
  if (type && /Vector/.test(type)) return <VectorValue value={value} />;
  if (type === "JSON" && typeof value === "string") {
    // REST v2 sends JSON fields as JSON text, as Milvus does.
    try {
      return <JsonValue value={JSON.parse(value)} />;
    } catch {
      return <span>{value}</span>;
    }
  }
  if (type === "JSON" || type === "Array" || typeof value === "object") return <JsonValue value={value} />;
  return <span>{String(value)}</span>;
}

/** Polls fn every ms while active (a change of ms or active looks at once and goes on at the new pace); returns the
 * latest value and error. */
export function usePoll(fn, ms, deps, active = true) {
  const [state, setState] = useState({ value: undefined, error: null });
  useEffect(() => {
    let stopped = false;
    let timer;
    const tick = async () => {
      try {
        const value = await fn();
        if (!stopped) setState({ value, error: null });
      } catch (error) {
        if (!stopped) setState((s) => ({ value: s.value, error }));
      }
      if (!stopped && active) timer = setTimeout(tick, ms);
    };
    tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [...deps, active, ms]);
  return state;
}

/** Formats a byte count. */
export const bytes = (n) => {
  if (n === null || n === undefined) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
};

/** True for a vector field's REST type name (FloatVector, SparseFloatVector, ...). */
export const isVector = (type) => /Vector$/.test(type || "");

/** An action that takes a while and answers a value: `run(fn)` clears the last answer and error, shows busy, and keeps
 * what `fn` returns or throws. Returns { run, busy, value, error }. */
export function useRun() {
  const [state, setState] = useState({ busy: false, value: null, error: null });
  const run = async (fn) => {
    setState({ busy: true, value: null, error: null });
    try {
      const value = await fn();
      setState({ busy: false, value, error: null });
    } catch (error) {
      setState({ busy: false, value: null, error });
    }
  };
  return { run, ...state };
}

/** A fresh id for one advise or tune run (crypto.getRandomValues works on plain http too, randomUUID does not). */
const newRunId = () => Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");

/** Runs the console tool at `path` (`/advise`, `/tune`) with `body` and, while it runs, polls where it stands
 * (`GET /console/api/progress`) every half second. Returns { run(body), busy, value, error, progress }: the tool's
 * `result`, and its latest progress (null when it is not running). */
export function useToolRun(path) {
  const { run: start, busy, value, error } = useRun();
  const [progress, setProgress] = useState(null);
  const run = (body) => start(async () => {
    const runId = newRunId();
    let running = true;
    const poll = async () => {
      while (running) {
        try {
          const state = await consoleApi("/progress", { run: runId });
          if (running && state.state !== "unknown") setProgress(state);
        } catch {
          // A missed look is no reason to stop the run; the next one may answer.
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    };
    poll();
    try {
      return (await consolePost(path, { ...body, runId })).result;
    } finally {
      running = false;
      setProgress(null);
    }
  });
  return { run, busy, value, error, progress };
}

/** Where a running advise or tune stands: the stage with its counter and a progress bar, the time so far, the latest
 * notes. */
export function ToolProgress({ progress, label }) {
  if (!progress) return null;
  const known = progress.total !== null && progress.total !== undefined;
  const count = progress.stage === null ? "" : known
    ? `${progress.done.toLocaleString("en")} of ${progress.total.toLocaleString("en")} ${progress.unit}`
    : `${progress.done.toLocaleString("en")} ${progress.unit}`;
  return (
    <div class="tool-progress" role="status" aria-live="polite" data-testid="tool-progress">
      <p>
        <strong>{label}: </strong>
        <span data-testid="tool-stage">{progress.state === "waiting" ? "waiting for another advise or tune run to finish" : progress.stage ?? "starting"}</span>
        {count && <> — <span data-testid="tool-count">{count}</span></>} ({(progress.elapsedMs / 1000).toFixed(1)} s)
      </p>
      {progress.stage !== null && <progress max={known ? Math.max(1, progress.total) : undefined} value={known ? progress.done : undefined} aria-label={`${label} progress`} />}
      {progress.notes.length > 0 && <ul class="notes">{progress.notes.slice(-3).map((n) => <li>{n}</li>)}</ul>}
    </div>
  );
}

/** Advise and tune read the collection with queries and searches, which the server answers only on a loaded collection
 * (code 101, as Milvus). Says so when it is not loaded, and offers to load it first (confirmed) to users who may; to
 * others, says why it is not offered. Renders `children` (the tool's form) only when the collection is loaded. */
export function NeedsLoad({ name, loaded, canLoad, what, onLoaded, children }) {
  const [asking, setAsking] = useState(false);
  const [error, setError] = useState(null);
  if (loaded) return children;
  const load = async () => {
    setAsking(false);
    try {
      await rest("/collections/load", { collectionName: name });
      onLoaded();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <div class="needs-load" data-testid="needs-load">
      <p>{name} is not loaded: {what} reads its rows with queries and searches, which need the collection loaded.
        {canLoad ? "" : " You may not load it (your role lacks Load): ask someone who may."}</p>
      {canLoad && <button type="button" onClick={() => setAsking(true)} data-testid="load-for-tool">Load {name} first</button>}
      <ErrorBox error={error} />
      {asking && (
        <Confirm title="Load" confirmLabel="Load" onConfirm={load} onCancel={() => setAsking(false)}>
          <p>Load {name} into memory for search and query, so that {what} can read it?</p>
        </Confirm>
      )}
    </div>
  );
}
