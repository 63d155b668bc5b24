package http

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/weftio/weft/connectors"
)

// recorder is an upstream that remembers every request it saw.
type recorder struct {
	*httptest.Server
	mu   sync.Mutex
	seen []*http.Request
}

func newRecorder(t *testing.T, h func(w http.ResponseWriter, r *http.Request)) *recorder {
	rec := &recorder{}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.seen = append(rec.seen, r.Clone(context.Background()))
		rec.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{}`)
	}))
	t.Cleanup(rec.Close)
	return rec
}

func (r *recorder) requests() []*http.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*http.Request(nil), r.seen...)
}

// credentialed lists one connection per way a connection can carry a
// credential, all pointing at base.
func credentialed(base, tokenURL string) map[string]*connectors.Connection {
	mk := func(a *connectors.Auth, h map[string]string) *connectors.Connection {
		return &connectors.Connection{Name: "crm", Connector: "http", BaseURL: base, AllowPrivate: true, Auth: a, Headers: h}
	}
	return map[string]*connectors.Connection{
		"bearer":             mk(&connectors.Auth{Type: connectors.AuthBearer, Token: "bearer-SECRET-1"}, nil),
		"api key header":     mk(&connectors.Auth{Type: connectors.AuthAPIKey, Value: "apikey-SECRET-2"}, nil),
		"custom key header":  mk(&connectors.Auth{Type: connectors.AuthAPIKey, Header: "X-Tracker-Key", Value: "tracker-SECRET-3"}, nil),
		"api key query":      mk(&connectors.Auth{Type: connectors.AuthAPIKey, Query: "api_key", Value: "query-SECRET-4"}, nil),
		"basic":              mk(&connectors.Auth{Type: connectors.AuthBasic, Username: "u", Password: "basic-SECRET-5"}, nil),
		"connection headers": mk(nil, map[string]string{"X-Org": "org-SECRET-6", "Cookie": "sid=cookie-SECRET-7"}),
		"client credentials": mk(&connectors.Auth{Type: connectors.AuthClientCredentials, TokenURL: tokenURL, ClientID: "cid", ClientSecret: "cs-SECRET-8"}, nil),
	}
}

// leaks reports any credential of the table above that r carries.
func leaks(r *http.Request) []string {
	var out []string
	dump := r.URL.String()
	for k, v := range r.Header {
		dump += "\n" + k + ": " + strings.Join(v, ",")
	}
	for _, s := range []string{"SECRET", "Basic ", "Bearer ", "oauth-access-token"} {
		if strings.Contains(dump, s) {
			out = append(out, s)
		}
	}
	return out
}

func tokenServer(t *testing.T) *recorder {
	return newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"access_token":"oauth-access-token","token_type":"Bearer","expires_in":3600}`)
	})
}

// F05: a connection's credentials go only to its own origin. An absolute
// url to another origin (another host, port or scheme; however spelled) is
// refused before anything is sent, for every kind of credential, and a
// paging Link header cannot lead them elsewhere either.
func TestIssue16_F05_CredentialsOnlyToOwnOrigin(t *testing.T) {
	own := newRecorder(t, nil)
	other := newRecorder(t, nil)
	tok := tokenServer(t)
	otherPort := other.URL[strings.LastIndex(other.URL, ":")+1:]
	op := New(Options{}).Operations[0]
	elsewhere := []string{
		other.URL + "/steal",
		strings.Replace(other.URL, "http://", "HTTP://", 1) + "/steal",
		"http://localhost:" + otherPort + "/steal",
		own.URL[len("http://"):] + "@127.0.0.1:" + otherPort + "/steal", // no scheme: a path under base_url, never a host
		"http://" + own.URL[len("http://"):] + "@127.0.0.1:" + otherPort + "/steal",
		"http://[::ffff:127.0.0.1]:" + otherPort + "/steal",
		strings.Replace(own.URL, "http://", "https://", 1) + "/x", // same host and port, other scheme
	}
	for name, conn := range credentialed(own.URL+"/v1", tok.URL+"/token") {
		for _, u := range elsewhere {
			_, err := op.Invoke(context.Background(), connectors.Call{Input: map[string]any{"url": u}, Connection: conn})
			if u == elsewhere[3] {
				// A scheme-less url is a path on the connection's own origin.
				if err != nil {
					t.Fatalf("%s: path %q: %v", name, u, err)
				}
				continue
			}
			class, _ := connectors.Classify(err)
			if err == nil || class != connectors.Permanent || !strings.Contains(err.Error(), "another origin") {
				t.Fatalf("%s: url %q: want a permanent refusal, got %v", name, u, err)
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Fatalf("%s: the refusal echoes a secret: %v", name, err)
			}
		}
		// Its own origin, however spelled, still works and gets the credential.
		for _, u := range []string{"orders", own.URL + "/v1/orders", strings.Replace(own.URL, "http://", "HTTP://", 1) + "/v1/orders"} {
			if _, err := op.Invoke(context.Background(), connectors.Call{Input: map[string]any{"url": u}, Connection: conn}); err != nil {
				t.Fatalf("%s: own origin %q: %v", name, u, err)
			}
		}
	}
	if n := len(other.requests()); n != 0 {
		t.Fatalf("the other origin received %d requests; it must receive none", n)
	}
	var withCreds int
	for _, r := range own.requests() {
		if len(leaks(r)) > 0 {
			withCreds++
		}
	}
	if withCreds == 0 {
		t.Fatal("the own origin never received the credentials")
	}

	// A connection with credentials but no base_url has no origin to send them to.
	nobase := &connectors.Connection{Name: "nobase", Connector: "http", AllowPrivate: true, Auth: &connectors.Auth{Type: connectors.AuthBearer, Token: "bearer-SECRET-9"}}
	if _, err := op.Invoke(context.Background(), connectors.Call{Input: map[string]any{"url": other.URL}, Connection: nobase}); err == nil || !strings.Contains(err.Error(), "no base_url") {
		t.Fatalf("credentials without base_url: %v", err)
	}
	// A connection without credentials may call anywhere.
	plain := &connectors.Connection{Name: "plain", Connector: "http", BaseURL: own.URL, AllowPrivate: true}
	if _, err := op.Invoke(context.Background(), connectors.Call{Input: map[string]any{"url": other.URL + "/ok"}, Connection: plain}); err != nil {
		t.Fatalf("plain connection: %v", err)
	}

	// Paging: a Link header pointing at another origin is refused, not followed with the token.
	pager := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Link", "<"+other.URL+"/page2>; rel=\"next\"")
		fmt.Fprint(w, `[1,2]`)
	})
	conn := &connectors.Connection{Name: "pager", Connector: "http", BaseURL: pager.URL, AllowPrivate: true, Auth: &connectors.Auth{Type: connectors.AuthBearer, Token: "bearer-SECRET-10"}}
	_, err := op.Invoke(context.Background(), connectors.Call{Input: map[string]any{"url": "items", "paginate": map[string]any{"style": "link"}}, Connection: conn})
	if err == nil || !strings.Contains(err.Error(), "another origin") {
		t.Fatalf("paging to another origin: %v", err)
	}
	for _, r := range other.requests() {
		if l := leaks(r); len(l) > 0 {
			t.Fatalf("other origin got %v via paging: %s %v", l, r.URL, r.Header)
		}
	}
}

// F10: on a redirect to another origin every credential is stripped: the
// standard headers, the connection's own headers and API-key header, any
// header named like a credential, and the API-key query parameter. A
// redirect within the origin keeps them; the address guard still applies.
func TestIssue16_F10_RedirectStripsEveryCredential(t *testing.T) {
	other := newRecorder(t, nil)
	tok := tokenServer(t)
	own := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/away":
			// Echo the query (API-key parameter included) into the Location, as careless servers do.
			http.Redirect(w, r, other.URL+"/landing?"+r.URL.RawQuery, http.StatusTemporaryRedirect)
		case "/v1/home":
			http.Redirect(w, r, "/v1/landing?"+r.URL.RawQuery, http.StatusFound)
		default:
			fmt.Fprint(w, `{}`)
		}
	})
	op := New(Options{}).Operations[0]
	for name, conn := range credentialed(own.URL+"/v1", tok.URL+"/token") {
		before := len(other.requests())
		in := map[string]any{"url": "away", "headers": map[string]any{"X-Session-Token": "session-SECRET-11", "X-Trace": "t1"}}
		if _, err := op.Invoke(context.Background(), connectors.Call{Input: in, Connection: conn}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := other.requests()
		if len(got) != before+1 {
			t.Fatalf("%s: the redirect was not followed", name)
		}
		r := got[len(got)-1]
		if l := leaks(r); len(l) > 0 {
			t.Fatalf("%s: cross-origin redirect carried %v: %s %v", name, l, r.URL, r.Header)
		}
		if r.Header.Get("X-Trace") != "t1" {
			t.Fatalf("%s: ordinary headers must survive the redirect: %v", name, r.Header)
		}
		// Within the origin the credential follows.
		if _, err := op.Invoke(context.Background(), connectors.Call{Input: map[string]any{"url": "home"}, Connection: conn}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		mine := own.requests()
		if last := mine[len(mine)-1]; last.URL.Path != "/v1/landing" || len(leaks(last)) == 0 {
			t.Fatalf("%s: same-origin redirect lost the credential: %s %v", name, last.URL, last.Header)
		}
	}
	// Redirects stay bounded.
	loop := newRecorder(t, func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, r.URL.Path+"x", http.StatusFound) })
	plain := &connectors.Connection{Name: "loop", Connector: "http", BaseURL: loop.URL, AllowPrivate: true}
	if _, err := op.Invoke(context.Background(), connectors.Call{Input: map[string]any{"url": "/r"}, Connection: plain}); err == nil || !strings.Contains(err.Error(), "stopped after 5 redirects") {
		t.Fatalf("redirect loop: %v", err)
	}
}
