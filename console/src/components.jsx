import { useEffect, useRef, useState } from "preact/hooks";
import { filterErrorPosition } from "./api.js";

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

/** Polls fn every ms while active; returns the latest value and error. */
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
  }, [...deps, active]);
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
