import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import "uplot/dist/uPlot.min.css";
import "./style.css";
import { ApiError, consoleApi, credential, database, rest, setCredential, setDatabase } from "./api.js";
import { ErrorBox } from "./components.jsx";
import { Collections, CollectionDetail } from "./pages/Collections.jsx";
import { CreateCollection } from "./pages/CreateCollection.jsx";
import { Browse } from "./pages/Browse.jsx";
import { Search } from "./pages/Search.jsx";
import { Health } from "./pages/Health.jsx";
import { Users } from "./pages/Users.jsx";
import { Imports } from "./pages/Imports.jsx";

/** The route in the URL fragment: #/page/arg. */
const parseRoute = () => {
  const [page, ...rest] = location.hash.replace(/^#\/?/, "").split("/");
  return { page: page || "collections", arg: rest.map(decodeURIComponent).join("/") };
};

function Login({ onSignedIn }) {
  const [mode, setMode] = useState("password");
  const [user, setUser] = useState("");
  const [password, setPassword] = useState("");
  const [key, setKey] = useState("");
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setCredential(mode === "password" ? `${user}:${password}` : key);
    try {
      onSignedIn(await consoleApi("/session"));
    } catch (err) {
      setCredential("");
      setError(err.status === 401 ? new ApiError(err.code, "Sign-in refused: check the user name and password, or the API key.") : err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="login">
      <form onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">Quiver console</h1>
        <fieldset>
          <legend>Sign in with</legend>
          <label><input type="radio" name="mode" checked={mode === "password"} onChange={() => setMode("password")} /> user and password</label>
          <label><input type="radio" name="mode" checked={mode === "key"} onChange={() => setMode("key")} /> API key</label>
        </fieldset>
        {mode === "password" ? (
          <>
            <label for="login-user">User</label>
            <input id="login-user" name="user" autocomplete="username" value={user} onInput={(e) => setUser(e.target.value)} required />
            <label for="login-password">Password</label>
            <input id="login-password" name="password" type="password" autocomplete="current-password" value={password}
              onInput={(e) => setPassword(e.target.value)} required />
          </>
        ) : (
          <>
            <label for="login-key">API key</label>
            <input id="login-key" name="apikey" type="password" value={key} onInput={(e) => setKey(e.target.value)} required />
          </>
        )}
        <button class="primary" type="submit" disabled={busy}>Sign in</button>
        <ErrorBox error={error} />
      </form>
    </main>
  );
}

function Nav({ session, route, onSignOut, onDatabase }) {
  const [databases, setDatabases] = useState([database()]);
  useEffect(() => {
    rest("/databases/list").then(setDatabases, () => setDatabases([database()]));
  }, []);
  const link = (page, label) => (
    <li><a href={`#/${page}`} aria-current={route.page === page ? "page" : undefined}>{label}</a></li>
  );
  return (
    <header>
      <span class="brand">Quiver</span>
      <nav aria-label="Pages">
        <ul>
          {link("collections", "Collections")}
          {link("health", "Health")}
          {link("imports", "Import jobs")}
          {session.can.SelectUser && session.authEnabled && link("users", "Users and roles")}
        </ul>
      </nav>
      <label class="db">
        Database{" "}
        <select value={database()} onChange={(e) => onDatabase(e.target.value)} data-testid="database">
          {databases.map((d) => <option value={d}>{d}</option>)}
        </select>
      </label>
      <span class="who" data-testid="who">{session.user ? `Signed in as ${session.user}` : "Authentication off"}</span>
      {session.authEnabled && <button type="button" onClick={onSignOut}>Sign out</button>}
    </header>
  );
}

function App() {
  const [session, setSession] = useState(undefined);
  const [error, setError] = useState(null);
  const [route, setRoute] = useState(parseRoute());
  const [dbVersion, setDbVersion] = useState(0);
  useEffect(() => {
    const onHash = () => setRoute(parseRoute());
    addEventListener("hashchange", onHash);
    return () => removeEventListener("hashchange", onHash);
  }, []);
  useEffect(() => {
    // A stored credential (or none, when authentication is off) may already be good.
    consoleApi("/session").then(setSession, (err) => {
      if (err.status === 401) {
        setCredential("");
        setSession(null);
      } else setError(err);
    });
  }, []);
  if (error) return <main><ErrorBox error={error} /></main>;
  if (session === undefined) return <main aria-busy="true">Loading…</main>;
  if (session === null) return <Login onSignedIn={setSession} />;
  // A new page, argument or database mounts the page afresh. The key must be its own attribute: the automatic JSX
  // runtime takes no key from a spread object.
  const pageKey = `${route.page}/${route.arg}/${dbVersion}`;
  const pages = {
    collections: Collections, collection: CollectionDetail, create: CreateCollection, browse: Browse, search: Search,
    health: Health, users: Users, imports: Imports,
  };
  const Page = pages[route.page] || Collections;
  return (
    <>
      <Nav session={session} route={route}
        onSignOut={() => { setCredential(""); setSession(null); location.hash = "#/"; }}
        onDatabase={(db) => { setDatabase(db); setDbVersion((v) => v + 1); location.hash = "#/collections"; }} />
      <main id="main"><Page key={pageKey} session={session} arg={route.arg} /></main>
    </>
  );
}

if (credential() === "" && sessionStorage.getItem("quiver.console.db") === null) setDatabase("default");
render(<App />, document.getElementById("app"));
