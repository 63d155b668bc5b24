package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// The reference server-everything (stdio) federated: its resource
// templates are served as weft:// templates that read through Weft; a
// client subscribed to one of its resources through Weft gets the
// upstream's notifications/resources/updated under the weft:// URI; and
// a resource the upstream registers (resources/list_changed) reaches
// Weft's clients at once as Weft's own resources/list_changed, on both
// protocol eras.
func TestMCPFederationEverythingNotifications(t *testing.T) {
	node, index := everything(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "weft.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("mcp:\n  upstreams:\n    commands: [%q]\n", node)), 0o600)
	srv := startServer(t, fmt.Sprintf("127.0.0.1:%d", freePort(t)), []string{"WEFT_DATA_DIR=" + filepath.Join(dir, "data")}, "--config", cfg)
	cli := func(args ...string) string {
		t.Helper()
		out, err := srv.cli(args...)
		if err != nil {
			t.Fatalf("weft %s: %v\n%s\n%s", strings.Join(args, " "), err, out, srv.logs())
		}
		return out
	}
	cli("connector", "add-mcp", "evs", "--command", node+" "+index+" stdio")
	keyOut := cli("mcp", "keys", "create", "notify", "--scopes", "all")
	key := strings.TrimSpace(keyOut[strings.LastIndex(strings.TrimSpace(keyOut), "\n")+1:])
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	for _, era := range []string{"2025-11-25", "2026-07-28"} {
		t.Run(era, func(t *testing.T) {
			var mu sync.Mutex
			var updated []string
			listChanged := make(chan time.Time, 64)
			c := sdk.NewClient(&sdk.Implementation{Name: "weft-e2e", Version: "1"}, &sdk.ClientOptions{
				ResourceUpdatedHandler: func(_ context.Context, r *sdk.ResourceUpdatedNotificationRequest) {
					mu.Lock()
					updated = append(updated, r.Params.URI)
					mu.Unlock()
				},
				ResourceListChangedHandler: func(context.Context, *sdk.ResourceListChangedRequest) {
					listChanged <- time.Now()
				},
			})
			s, err := c.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: srv.URL + "/mcp", HTTPClient: &http.Client{Transport: bearerTransport{key}}}, &sdk.ClientSessionOptions{ProtocolVersion: era})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			// The upstream's resources and templates, once listed.
			var res string
			for deadline := time.Now().Add(30 * time.Second); res == ""; time.Sleep(300 * time.Millisecond) {
				rl, err := s.ListResources(ctx, nil)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range rl.Resources {
					if strings.HasPrefix(r.URI, "weft://mcp/evs/resource?uri=") {
						res = r.URI
						break
					}
				}
				if res == "" && time.Now().After(deadline) {
					t.Fatalf("no evs resource through the gateway\n%s", srv.logs())
				}
			}
			var tpl string
			for deadline := time.Now().Add(20 * time.Second); tpl == ""; time.Sleep(300 * time.Millisecond) {
				tl, err := s.ListResourceTemplates(ctx, nil)
				if err != nil {
					t.Fatal(err)
				}
				for _, x := range tl.ResourceTemplates {
					if strings.HasPrefix(x.URITemplate, "weft://mcp/evs/resource?uri=demo%3A%2F%2Fresource%2Fdynamic%2Ftext%2F{") {
						tpl = x.URITemplate
					}
				}
				if tpl == "" && time.Now().After(deadline) {
					t.Fatalf("the upstream's templates are not in resources/templates/list: %+v", tl.ResourceTemplates)
				}
			}
			// Expanded as a client does, it reads through Weft.
			u := tpl[:strings.Index(tpl, "{")] + "3"
			rr, err := s.ReadResource(ctx, &sdk.ReadResourceParams{URI: u})
			if err != nil || len(rr.Contents) != 1 || !strings.HasPrefix(rr.Contents[0].Text, "Resource 3: This is a plaintext resource") {
				t.Fatalf("templated resource %s: %v %+v", u, err, rr)
			}

			// Subscribed through Weft: the upstream's updates arrive under
			// the weft:// URI (server-everything sends one at once, then
			// every 5 s, once toggled on).
			if err := s.Subscribe(ctx, &sdk.SubscribeParams{URI: res}); err != nil {
				t.Fatalf("subscribe %s: %v", res, err)
			}
			toggle := func() {
				if r, err := s.CallTool(ctx, &sdk.CallToolParams{Name: "evs__toggle-subscriber-updates", Arguments: map[string]any{}}); err != nil || r.IsError {
					t.Fatalf("toggle: %v %+v", err, r)
				}
			}
			toggle()
			for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
				mu.Lock()
				got := append([]string(nil), updated...)
				mu.Unlock()
				if len(got) > 0 {
					if got[0] != res {
						t.Fatalf("resources/updated for %q, subscribed %q", got[0], res)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no notifications/resources/updated through Weft\n%s", srv.logs())
				}
			}
			toggle() // off again (it is per upstream session, shared by both eras' runs)
			if era == "2025-11-25" {
				// (On 2026-07-28 the SDK unsubscribes by cancelling the
				// subscriptions/listen stream with notifications/cancelled,
				// which the gateway's mcp-go refuses with 400 and the client
				// then closes: a known gap, docs/mcp.md.)
				if err := s.Unsubscribe(ctx, &sdk.UnsubscribeParams{URI: res}); err != nil {
					t.Fatalf("unsubscribe: %v", err)
				}
			}

			// A resource the upstream registers: its resources/list_changed
			// makes Weft list again now (not at the next 15 s poll), and
			// Weft's clients get their own list_changed.
			for len(listChanged) > 0 {
				<-listChanged
			}
			name := "weft-" + strings.ReplaceAll(era, "-", "") + ".txt.gz"
			start := time.Now()
			if r, err := s.CallTool(ctx, &sdk.CallToolParams{Name: "evs__gzip-file-as-resource", Arguments: map[string]any{
				"name": name, "data": "data:text/plain;base64,aGVsbG8gd2VmdA==", "outputType": "resourceLink"}}); err != nil || r.IsError {
				t.Fatalf("gzip: %v %+v", err, r)
			}
			want := "weft://mcp/evs/resource?uri=" + strings.ReplaceAll("demo%3A%2F%2Fresource%2Fsession%2F"+name, "+", "%2B")
			for deadline := time.Now().Add(6 * time.Second); ; time.Sleep(100 * time.Millisecond) {
				rl, err := s.ListResources(ctx, nil)
				if err != nil {
					t.Fatal(err)
				}
				found := false
				for _, r := range rl.Resources {
					found = found || r.URI == want
				}
				if found {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the resource the upstream registered is not listed within 6 s (%s)", want)
				}
			}
			select {
			case at := <-listChanged:
				t.Logf("%s: resources/list_changed reached Weft's client %s after the upstream registered the resource", era, at.Sub(start).Round(time.Millisecond))
			case <-time.After(5 * time.Second):
				t.Fatal("no notifications/resources/list_changed from Weft")
			}
		})
	}
}
