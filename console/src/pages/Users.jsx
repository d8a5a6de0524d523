import { useEffect, useState } from "preact/hooks";
import { rest } from "../api.js";
import { Confirm, ErrorBox } from "../components.jsx";

/** Users with their roles and roles with their grants, for administrators: create and drop users, grant and revoke
 * roles. */
export function Users({ session }) {
  const [users, setUsers] = useState(null);
  const [roles, setRoles] = useState([]);
  const [error, setError] = useState(null);
  const [version, setVersion] = useState(0);
  const [confirm, setConfirm] = useState(null);
  const [form, setForm] = useState({ user: "", password: "", role: "" });
  const [status, setStatus] = useState("");
  useEffect(() => {
    (async () => {
      try {
        const names = await rest("/users/list");
        setUsers(await Promise.all(names.map(async (u) => ({ name: u, roles: await rest("/users/describe", { userName: u }).catch(() => []) }))));
        const roleNames = await rest("/roles/list");
        setRoles(await Promise.all(roleNames.map(async (r) => ({ name: r, grants: await rest("/roles/describe", { roleName: r }).catch(() => []) }))));
      } catch (err) {
        setError(err);
      }
    })();
  }, [version]);
  const run = async (what, fn) => {
    setError(null);
    try {
      await fn();
      setStatus(`${what}: done`);
      setVersion((v) => v + 1);
    } catch (err) {
      setError(err);
    }
  };
  if (!session.can.SelectUser) return <p>Only administrators see users and roles.</p>;
  return (
    <section aria-labelledby="users-title">
      <h1 id="users-title">Users and roles</h1>
      <p class="status" role="status" aria-live="polite">{status}</p>
      <ErrorBox error={error} />
      <h2>Users</h2>
      <table data-testid="users">
        <thead><tr><th scope="col">User</th><th scope="col">Roles</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
        <tbody>
          {(users || []).map((u) => (
            <tr>
              <th scope="row">{u.name}</th>
              <td>{u.roles.map((r) => (
                <span class="tag">{r}{session.can.OperateUserRole && u.name !== "root" && (
                  <button type="button" class="link" aria-label={`revoke ${r} from ${u.name}`}
                    onClick={() => run("Revoke role", () => rest("/users/revoke_role", { userName: u.name, roleName: r }))}>×</button>
                )}</span>
              ))}</td>
              <td>{session.can.CreateCredential && u.name !== "root" && (
                <button type="button" class="danger" onClick={() => setConfirm(u.name)}>Drop</button>
              )}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {session.can.CreateCredential && (
        <form class="inline-form" onSubmit={(e) => { e.preventDefault(); run("Create user", () => rest("/users/create", { userName: form.user, password: form.password })); }}>
          <h3>Create a user</h3>
          <label>Name <input value={form.user} onInput={(e) => setForm({ ...form, user: e.target.value })} required autocomplete="off" /></label>
          <label>Password <input type="password" value={form.password} onInput={(e) => setForm({ ...form, password: e.target.value })} required autocomplete="new-password" /></label>
          <button type="submit" class="primary">Create user</button>
        </form>
      )}
      {session.can.OperateUserRole && (
        <form class="inline-form" onSubmit={(e) => { e.preventDefault(); run("Grant role", () => rest("/users/grant_role", { userName: form.user, roleName: form.role })); }}>
          <h3>Grant a role</h3>
          <label>User <select value={form.user} onChange={(e) => setForm({ ...form, user: e.target.value })}><option value="">choose…</option>{(users || []).map((u) => <option>{u.name}</option>)}</select></label>
          <label>Role <select value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value })}><option value="">choose…</option>{roles.map((r) => <option>{r.name}</option>)}</select></label>
          <button type="submit" class="primary">Grant</button>
        </form>
      )}
      <h2>Roles</h2>
      <table data-testid="roles">
        <thead><tr><th scope="col">Role</th><th scope="col">Grants (database · object · privilege)</th></tr></thead>
        <tbody>
          {roles.map((r) => (
            <tr><th scope="row">{r.name}</th><td>{r.grants.length === 0 ? <span class="muted">none listed</span> : r.grants.map((g) => (
              <span class="tag">{g.dbName} · {g.objectType} {g.objectName} · {g.privilege}</span>
            ))}</td></tr>
          ))}
        </tbody>
      </table>
      {confirm && (
        <Confirm title="Drop user" confirmLabel="Drop" danger onCancel={() => setConfirm(null)}
          onConfirm={() => { const u = confirm; setConfirm(null); run("Drop user", () => rest("/users/drop", { userName: u })); }}>
          <p>Drop the user {confirm}? Its credentials stop working at once.</p>
        </Confirm>
      )}
    </section>
  );
}
