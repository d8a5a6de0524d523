// Every call the console makes: REST v2 (/v2/vectordb/...) and the two read-only console endpoints, each with the
// signed-in credential as `Authorization: Bearer`, so the server authenticates, authorizes and audits it as any client.
const KEY = "quiver.console.credential";
const DB_KEY = "quiver.console.db";

/** The credential of this tab ("user:password" or an API key), kept in sessionStorage: gone when the tab closes. */
export const credential = () => sessionStorage.getItem(KEY) || "";
export const setCredential = (value) => (value ? sessionStorage.setItem(KEY, value) : sessionStorage.removeItem(KEY));
export const database = () => sessionStorage.getItem(DB_KEY) || "default";
export const setDatabase = (db) => sessionStorage.setItem(DB_KEY, db);

/** A refused call: the Milvus code, its message and the HTTP status. */
export class ApiError extends Error {
  constructor(code, message, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

async function call(method, url, body, poll = false) {
  const headers = { Accept: "application/json" };
  // A progress read repeated while something runs: the server does not count it against the user's rate.
  if (poll) headers["X-Quiver-Console-Poll"] = "1";
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const token = credential();
  if (token) headers.Authorization = "Bearer " + token;
  const response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  let json;
  try {
    json = await response.json();
  } catch {
    throw new ApiError(-1, `the server answered HTTP ${response.status} without JSON`, response.status);
  }
  if (json.code !== 0) throw new ApiError(json.code, json.message || `code ${json.code}`, response.status);
  return json.data;
}

/** POST /v2/vectordb{path} in the chosen database; `poll` marks a progress read the page repeats (import jobs). */
export const rest = (path, body = {}, { poll = false } = {}) => call("POST", "/v2/vectordb" + path, { dbName: database(), ...body }, poll);

/** GET /console/api{path}?query. */
export const consoleApi = (path, query = {}) => {
  const params = new URLSearchParams({ db: database(), ...query });
  return call("GET", `/console/api${path}?${params}`);
};

/** POST /console/api{path} with a JSON body, in the chosen database (the advise and tune tools). */
export const consolePost = (path, body) => call("POST", `/console/api${path}?${new URLSearchParams({ db: database() })}`, body);

/** The character position a filter error names ("... at position 7 ..."), or null. */
export const filterErrorPosition = (message) => {
  const match = /at position (\d+)/.exec(message || "");
  return match ? Number(match[1]) : null;
};
