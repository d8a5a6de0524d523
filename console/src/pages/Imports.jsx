import { useState } from "preact/hooks";
import { rest } from "../api.js";
import { ErrorBox, usePoll } from "../components.jsx";

/** Bulk import jobs of the database with their progress (polled while one runs), and a form to start one from files
 * under the server's import root. */
export function Imports({ session }) {
  const [version, setVersion] = useState(0);
  const [running, setRunning] = useState(true);
  const { value, error } = usePoll(async () => {
    const listed = await rest("/jobs/import/list", {}, { poll: true });
    setRunning(listed.records.some((r) => r.state === "Pending" || r.state === "Importing"));
    return listed.records;
  }, 1000, [version], running);
  const [form, setForm] = useState({ collection: "", files: "" });
  const [formError, setFormError] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    setFormError(null);
    try {
      const files = form.files.split(/\n|,/).map((f) => f.trim()).filter(Boolean);
      await rest("/jobs/import/create", { collectionName: form.collection, files });
      setRunning(true);
      setVersion((v) => v + 1);
    } catch (err) {
      setFormError(err);
    }
  };
  return (
    <section aria-labelledby="imports-title">
      <h1 id="imports-title">Import jobs</h1>
      <ErrorBox error={error} />
      {value && value.length === 0 && <p>No import jobs in this database.</p>}
      {value && value.length > 0 && (
        <table data-testid="imports">
          <thead><tr><th scope="col">Job</th><th scope="col">Collection</th><th scope="col">State</th><th scope="col">Progress</th></tr></thead>
          <tbody>
            {value.map((j) => (
              <tr><th scope="row">{j.jobId}</th><td>{j.collectionName}</td><td>{j.state}</td>
                <td><progress max="100" value={j.progress} aria-label={`job ${j.jobId} progress`} /> {j.progress} %</td></tr>
            ))}
          </tbody>
        </table>
      )}
      {session.can.Import && (
        <form class="inline-form" onSubmit={submit}>
          <h2>Start an import</h2>
          <label>Collection <input value={form.collection} onInput={(e) => setForm({ ...form, collection: e.target.value })} data-testid="import-collection" required /></label>
          <label class="wide">Files under the server's import root (one a line) <textarea class="mono" rows="3" value={form.files} onInput={(e) => setForm({ ...form, files: e.target.value })} data-testid="import-files" required /></label>
          <button type="submit" class="primary" data-testid="start-import">Import</button>
          <ErrorBox error={formError} />
        </form>
      )}
    </section>
  );
}
