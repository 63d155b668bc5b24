import { lazy, Suspense, useEffect, useState, type ReactNode } from "react";
import { api, onUnauthorized, setCSRF, ApiError } from "./api";
import { useRoute, href, type Route } from "./router";
import { FlowsView } from "./views/flows";
import { BuilderView } from "./builder";
import { clearMe, useMe } from "./me";
import { mayInstallation } from "./lib/access";

// Every view but the flows list loads on first visit, so the first load stays small.
function lazyView<K extends string>(load: () => Promise<Record<K, (p: { route: Route }) => ReactNode>>, name: K) {
  const C = lazy(() => load().then((m) => ({ default: m[name] as (p: { route: Route }) => ReactNode })));
  return (r: Route) => (
    <Suspense fallback={<p className="muted">Loading…</p>}>
      <C route={r} />
    </Suspense>
  );
}
const TryView = lazy(() => import("./views/try"));

// Views register here: nav label, route prefix, component.
interface ViewDef {
  id: string;
  label: string;
  render: (r: Route) => ReactNode;
  /** the view fills the page (no padding, no page scroll) */
  full?: boolean;
  /** the permission (GET /api/me) without which the nav does not offer the view */
  need?: string;
  /** need is checked across the installation (a "*" binding), not in the default namespace */
  installation?: boolean;
}

const views: ViewDef[] = [
  { id: "builder", label: "Builder", render: (r) => <BuilderView route={r} />, full: true },
  { id: "flows", label: "Flows", render: (r) => <FlowsView route={r} /> },
  { id: "runs", label: "Runs", render: lazyView(() => import("./views/runs"), "RunsView") },
  { id: "dlq", label: "Dead letters", render: lazyView(() => import("./views/dlq"), "DLQView") },
  { id: "connectors", label: "Connectors", render: lazyView(() => import("./views/connectors"), "ConnectorsView") },
  { id: "connections", label: "Connections", render: lazyView(() => import("./views/connections"), "ConnectionsView") },
  { id: "mappings", label: "Mappings", render: lazyView(() => import("./views/mappings"), "MappingsView") },
  { id: "monitoring", label: "Monitoring", render: lazyView(() => import("./views/monitoring"), "MonitoringView") },
  { id: "mcp", label: "MCP", render: lazyView(() => import("./views/mcp"), "McpView") },
  { id: "apis", label: "APIs", render: lazyView(() => import("./views/apis"), "ApisView") },
  { id: "access", label: "Access", render: lazyView(() => import("./views/access"), "AccessView") },
  { id: "agents", label: "Agents", need: "agents.read", installation: true, render: lazyView(() => import("./views/agents"), "AgentsView") },
  { id: "audit", label: "Audit", need: "audit.read", installation: true, render: lazyView(() => import("./views/audit"), "AuditView") },
  { id: "try", label: "Try", render: (r) => <Suspense fallback={<p className="muted">Loading…</p>}><TryView route={r} /></Suspense> },
];

export function registerView(v: ViewDef) {
  views.push(v);
}

type Theme = "light" | "dark";

function useTheme(): [Theme, () => void] {
  const [t, setT] = useState<Theme>(() => (localStorage.getItem("weft.theme") as Theme) || (matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light"));
  useEffect(() => {
    document.documentElement.dataset.theme = t;
    localStorage.setItem("weft.theme", t);
  }, [t]);
  return [t, () => setT(t === "dark" ? "light" : "dark")];
}

export function App() {
  const route = useRoute();
  const [theme, toggle] = useTheme();
  const [needSignIn, setNeedSignIn] = useState(false);
  // null until GET /api/session answers: whether sign-in is required and done.
  const [session, setSession] = useState<{ required: boolean; authenticated: boolean } | null>(null);
  // Single sign-on, when the server offers it, and the provider's sign-out
  // page after signing out of Weft.
  const [sso, setSSO] = useState<SSOInfo | undefined>(undefined);
  const [providerSignOut, setProviderSignOut] = useState("");
  useEffect(() => onUnauthorized(() => setNeedSignIn(true)), []);
  useEffect(() => {
    api<{ required: boolean; authenticated: boolean; csrf_token?: string; sso?: SSOInfo }>("/api/session")
      .then((s) => {
        if (s.csrf_token) setCSRF(s.csrf_token);
        setSSO(s.sso);
        setSession({ required: s.required, authenticated: s.authenticated });
        if (s.required && !s.authenticated) setNeedSignIn(true);
      })
      .catch(() => setSession({ required: false, authenticated: true }));
  }, [needSignIn]);
  const { me } = useMe(!!session?.authenticated && !needSignIn);
  const signOut = async () => {
    try {
      const res = await api<{ end_session_url?: string }>("/api/session", { method: "DELETE" });
      setProviderSignOut(res.end_session_url ?? "");
    } finally {
      setCSRF("");
      clearMe();
      setNeedSignIn(true);
    }
  };
  const current = views.find((v) => v.id === route.parts[0]) ?? views[0];
  // A view the caller's role does not allow is left out of the nav (its
  // page still explains the refusal when opened by a link).
  const offered = views.filter(
    (v) => !v.need || !me || (v.installation ? mayInstallation(me, v.need) : me.permissions?.includes(v.need)) || v === current,
  );
  if (needSignIn)
    return (
      <SignIn
        sso={sso}
        providerSignOut={providerSignOut}
        onDone={() => {
          clearMe();
          setNeedSignIn(false);
        }}
      />
    );
  if (!session) return <p className="muted">Loading…</p>;
  return (
    <div className="shell">
      <nav className="nav" aria-label="Main">
        <a className="brand" href={href("/")}>Weft</a>
        {offered.map((v) => (
          <a key={v.id} href={href("/" + v.id)} aria-current={v === current ? "page" : undefined}>
            {v.label}
          </a>
        ))}
        <span className="grow" />
        {session.required && me && (
          <a className="nav-user" href={href("/access")} title="My account: tokens and roles">
            {me.principal.name || me.actor}
          </a>
        )}
        {session.required && (
          <button className="ghost" onClick={signOut}>
            Sign out
          </button>
        )}
        <button className="ghost" onClick={toggle} aria-label="Toggle light and dark theme" title="Theme">
          {theme === "dark" ? "☀" : "☾"}
        </button>
      </nav>
      <main className={current.full ? "main full" : "main"}>{current.render(route)}</main>
    </div>
  );
}

/** What GET /api/session says about single sign-on. */
type SSOInfo = { enabled: boolean; sign_in_url: string };

/** SignIn opens a cookie session (POST /api/session) for a local user
 * (name and password) or with the API token, or sends the browser to the
 * single-sign-on provider when the server has one. */
function SignIn({ onDone, sso, providerSignOut }: { onDone: () => void; sso?: SSOInfo; providerSignOut?: string }) {
  const [user, setUser] = useState("");
  const [password, setPassword] = useState("");
  const [token, setToken] = useState("");
  // A refused single sign-on comes back as /?sso_error=…: show why, once.
  const [err, setErr] = useState(() => new URLSearchParams(window.location.search).get("sso_error") ?? "");
  useEffect(() => {
    if (new URLSearchParams(window.location.search).has("sso_error")) {
      history.replaceState(null, "", window.location.pathname + window.location.hash);
    }
  }, []);
  const signIn = async (body: Record<string, string>) => {
    setErr("");
    try {
      const res = await api<{ csrf_token: string }>("/api/session", { body });
      setCSRF(res.csrf_token);
      setPassword("");
      setToken("");
      onDone();
    } catch (e) {
      setErr(e instanceof ApiError ? e.message : String(e));
    }
  };
  return (
    <div className="signin">
      <div className="card">
        <h1>Sign in to Weft</h1>
        {sso?.enabled && (
          <p className="signin-sso">
            <a className="button" href={sso.sign_in_url}>
              Sign in with SSO
            </a>
          </p>
        )}
        {providerSignOut && (
          <p className="muted">
            You are signed out of Weft. <a href={providerSignOut}>Sign out of your identity provider too</a>.
          </p>
        )}
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void signIn({ user, password });
          }}
        >
          <label>
            User name
            <input autoComplete="username" value={user} onChange={(e) => setUser(e.target.value)} autoFocus />
          </label>
          <label>
            Password
            <input type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} />
          </label>
          <button type="submit" disabled={!user || !password}>
            Sign in
          </button>
        </form>
        <form
          className="signin-token"
          onSubmit={(e) => {
            e.preventDefault();
            void signIn({ token });
          }}
        >
          <p className="muted">Or use the server's API token (<code>api_token</code> in its configuration).</p>
          <label>
            API token
            <input type="password" autoComplete="off" value={token} onChange={(e) => setToken(e.target.value)} />
          </label>
          <button type="submit" className="secondary" disabled={!token}>
            Sign in with the token
          </button>
        </form>
        {/* Single sign-on: the "Sign in with SSO" button (OpenID Connect) goes here, above the error. */}
        {err && (
          <p className="error" role="alert">
            {err}
          </p>
        )}
      </div>
    </div>
  );
}
