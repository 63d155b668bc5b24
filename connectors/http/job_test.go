package http

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/weftio/weft/connectors"
)

// bulkAPI simulates an ingest job API in the style of Salesforce Bulk API
// 2.0: POST /jobs/ingest creates a job (state Open) and answers its id
// and contentUrl; PUT on the contentUrl uploads CSV (only while Open);
// PATCH {"state": "UploadComplete"} closes it; GET /jobs/ingest/{id}
// answers InProgress for `running` polls, then JobComplete (or Failed
// when the CSV has a row "fail"); successfulResults / failedResults are
// CSV. failUpload makes the first upload answer 503 once.
type bulkAPI struct {
	mu         sync.Mutex
	srv        *httptest.Server
	jobs       map[string]*bulkJob
	created    int
	running    int
	failUpload bool
	log        []string
}

type bulkJob struct {
	state string
	data  string
	polls int
}

func newBulk(t *testing.T, a *bulkAPI) *bulkAPI {
	a.jobs = map[string]*bulkJob{}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.log = append(a.log, r.Method+" "+r.URL.Path)
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(401)
			return
		}
		path := strings.TrimPrefix(r.URL.Path, "/services/data/v60.0")
		parts := strings.Split(strings.Trim(path, "/"), "/") // jobs ingest ID [batches|successfulResults|failedResults]
		if len(parts) < 2 || parts[0] != "jobs" || parts[1] != "ingest" {
			w.WriteHeader(404)
			return
		}
		if len(parts) == 2 && r.Method == "POST" {
			var spec map[string]any
			if err := json.NewDecoder(r.Body).Decode(&spec); err != nil || spec["object"] != "Account" {
				w.WriteHeader(400)
				return
			}
			a.created++
			id := fmt.Sprintf("750R%04d", a.created)
			a.jobs[id] = &bulkJob{state: "Open"}
			w.Header().Set("Content-Type", "application/json")
			_, _ = fmt.Fprintf(w, `{"id":%q,"state":"Open","object":"Account","contentUrl":"services/data/v60.0/jobs/ingest/%s/batches"}`, id, id)
			return
		}
		j := a.jobs[parts[2]]
		if j == nil {
			w.WriteHeader(404)
			return
		}
		switch {
		case len(parts) == 4 && parts[3] == "batches" && r.Method == "PUT":
			if a.failUpload {
				a.failUpload = false
				w.WriteHeader(503)
				return
			}
			if j.state != "Open" || r.Header.Get("Content-Type") != "text/csv" {
				w.WriteHeader(409)
				return
			}
			b, _ := io.ReadAll(r.Body)
			j.data += string(b)
			w.WriteHeader(201)
		case len(parts) == 3 && r.Method == "PATCH":
			var m map[string]any
			_ = json.NewDecoder(r.Body).Decode(&m)
			if m["state"] != "UploadComplete" || j.state != "Open" {
				w.WriteHeader(400)
				return
			}
			j.state = "UploadComplete"
			w.Header().Set("Content-Type", "application/json")
			_, _ = fmt.Fprintf(w, `{"id":%q,"state":"UploadComplete"}`, parts[2])
		case len(parts) == 3 && r.Method == "GET":
			if j.state == "UploadComplete" || j.state == "InProgress" {
				j.polls++
				j.state = "InProgress"
				if j.polls > a.running {
					j.state = "JobComplete"
					if strings.Contains(j.data, "\nfail") {
						j.state = "Failed"
					}
				}
			}
			w.Header().Set("Content-Type", "application/json")
			rows := strings.Count(strings.TrimSpace(j.data), "\n")
			_, _ = fmt.Fprintf(w, `{"id":%q,"state":%q,"numberRecordsProcessed":%d,"errorMessage":%q}`, parts[2], j.state, rows,
				map[bool]string{true: "InvalidBatch : bad row", false: ""}[j.state == "Failed"])
		case len(parts) == 4 && r.Method == "GET" && j.state == "JobComplete":
			w.Header().Set("Content-Type", "text/csv")
			lines := strings.Split(strings.TrimSpace(j.data), "\n")
			if parts[3] == "successfulResults" {
				out := "sf__Id,sf__Created," + lines[0] + "\n"
				for i, l := range lines[1:] {
					out += fmt.Sprintf("001R%04d,true,%s\n", i+1, l)
				}
				_, _ = io.WriteString(w, out)
			} else {
				_, _ = io.WriteString(w, "sf__Id,sf__Error,"+lines[0]+"\n")
			}
		default:
			w.WriteHeader(405)
		}
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func bulkInput(csv string) map[string]any {
	return map[string]any{
		"method": "POST", "url": "/services/data/v60.0/jobs/ingest", "body": map[string]any{"object": "Account", "operation": "insert", "contentType": "CSV"},
		"job": map[string]any{
			"then": []any{
				map[string]any{"method": "PUT", "url": "{job.contentUrl}", "raw": map[string]any{"content": csv, "content_type": "text/csv"}},
				map[string]any{"method": "PATCH", "url": "/services/data/v60.0/jobs/ingest/{job.id}", "body": map[string]any{"state": "UploadComplete"}},
			},
			"wait": map[string]any{"url": "/services/data/v60.0/jobs/ingest/{job.id}", "status_path": "state", "interval_seconds": 0.001,
				"running": []any{"UploadComplete", "InProgress"}, "succeeded": []any{"JobComplete"}, "failed": []any{"Failed"}, "canceled": []any{"Aborted"}},
			"results": map[string]any{
				"successful": map[string]any{"url": "/services/data/v60.0/jobs/ingest/{job.id}/successfulResults"},
				"failed":     map[string]any{"url": "/services/data/v60.0/jobs/ingest/{job.id}/failedResults"},
			},
		},
	}
}

func jobOf(in map[string]any) map[string]any { return in["job"].(map[string]any) }

func jobOp(t *testing.T) *connectors.Operation {
	return New(Options{}).Operations[0]
}

func TestBulkJobOneStep(t *testing.T) {
	a := newBulk(t, &bulkAPI{running: 2})
	conn := &connectors.Connection{Name: "sf", BaseURL: a.srv.URL, AllowPrivate: true, Auth: &connectors.Auth{Type: connectors.AuthBearer, Token: "tok"}}
	out, err := jobOp(t).Invoke(context.Background(), connectors.Call{IdempotencyKey: "run1:load", Connection: conn,
		Input: bulkInput("Name,Industry\nAcme,Retail\nGlobex,Energy\n")})
	if err != nil {
		t.Fatal(err)
	}
	top := out.(map[string]any)
	m := jobOf(top)
	res := m["results"].(map[string]any)
	if m["state"] != "JobComplete" || top["body"].(map[string]any)["id"] != "750R0001" || top["status"] != int64(200) || m["polls"] != int64(3) || m["resumed"] != false ||
		!strings.Contains(res["successful"].(string), "001R0002,true,Globex,Energy") || strings.Count(res["failed"].(string), "\n") != 1 ||
		m["final"].(map[string]any)["numberRecordsProcessed"] != float64(2) {
		t.Fatalf("%v", m)
	}
	want := "POST /services/data/v60.0/jobs/ingest,PUT /services/data/v60.0/jobs/ingest/750R0001/batches,PATCH /services/data/v60.0/jobs/ingest/750R0001," +
		"GET /services/data/v60.0/jobs/ingest/750R0001,GET /services/data/v60.0/jobs/ingest/750R0001,GET /services/data/v60.0/jobs/ingest/750R0001," +
		"GET /services/data/v60.0/jobs/ingest/750R0001/failedResults,GET /services/data/v60.0/jobs/ingest/750R0001/successfulResults"
	if got := strings.Join(a.log, ","); got != want {
		t.Fatalf("requests:\n%s\nwant\n%s", got, want)
	}
}

// An upload that fails retryably fails the step; the engine's retry (same
// idempotency key) continues the job it created instead of creating a
// second one.
func TestBulkJobRetryContinuesTheSameJob(t *testing.T) {
	a := newBulk(t, &bulkAPI{failUpload: true})
	conn := &connectors.Connection{Name: "sf", BaseURL: a.srv.URL, AllowPrivate: true, Auth: &connectors.Auth{Type: connectors.AuthBearer, Token: "tok"}}
	op := jobOp(t)
	call := connectors.Call{IdempotencyKey: "run2:load", Connection: conn, Input: bulkInput("Name\nAcme\n")}
	jobOf(call.Input)["then"].([]any)[0].(map[string]any)["url"] = "/services/data/v60.0/jobs/ingest/{job.id}/batches?api_key=secret-key"
	_, err := op.Invoke(context.Background(), call)
	firstErr := err
	var ce *connectors.Error
	if !errors.As(err, &ce) || ce.Class != connectors.Retryable || !strings.Contains(ce.Message, "job: then[0] (PUT") {
		t.Fatalf("first attempt: %v", err)
	}
	out, err := op.Invoke(context.Background(), call)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(firstErr.Error(), "secret-key") {
		t.Errorf("a query credential in the message: %v", firstErr)
	}
	m := jobOf(out.(map[string]any))
	if a.created != 1 || m["resumed"] != true || m["state"] != "JobComplete" || out.(map[string]any)["body"].(map[string]any)["id"] != "750R0001" {
		t.Fatalf("created %d jobs: %v", a.created, m)
	}
	// Done: the same key starts afresh (a new iteration's job).
	if _, err := op.Invoke(context.Background(), call); err != nil || a.created != 2 {
		t.Fatalf("after completion: %d jobs, %v", a.created, err)
	}
}

func TestBulkJobFailedAndBadInput(t *testing.T) {
	a := newBulk(t, &bulkAPI{})
	conn := &connectors.Connection{Name: "sf", BaseURL: a.srv.URL, AllowPrivate: true, Auth: &connectors.Auth{Type: connectors.AuthBearer, Token: "tok"}}
	op := jobOp(t)
	_, err := op.Invoke(context.Background(), connectors.Call{IdempotencyKey: "k", Connection: conn, Input: bulkInput("Name\nfail\n")})
	var ce *connectors.Error
	if !errors.As(err, &ce) || ce.Class != connectors.Permanent || !strings.Contains(ce.Message, "ended Failed") ||
		ce.Body.(map[string]any)["errorMessage"] != "InvalidBatch : bad row" {
		t.Fatalf("failed job: %v", err)
	}
	for _, c := range []struct {
		name string
		in   func(map[string]any)
		want string
	}{
		{"unknown field", func(m map[string]any) { jobOf(m)["upload"] = 1 }, `unknown field "upload"`},
		{"not an object", func(m map[string]any) { m["job"] = "x" }, "job: must be an object"},
		{"with paginate", func(m map[string]any) { m["paginate"] = map[string]any{"style": "link"} }, "cannot be combined with paginate"},
		{"paginate outside results", func(m map[string]any) {
			jobOf(m)["then"].([]any)[0].(map[string]any)["paginate"] = map[string]any{"style": "link"}
		}, "paginate is allowed in results only"},
		{"missing placeholder", func(m map[string]any) {
			jobOf(m)["then"].([]any)[1].(map[string]any)["url"] = "/jobs/{job.jobId}"
		}, "the create answer has no job.jobId"},
		{"bad wait", func(m map[string]any) { jobOf(m)["wait"].(map[string]any)["running"] = "x" }, "wait:"},
		{"too many", func(m map[string]any) { jobOf(m)["then"] = make([]any, maxJobThen+1) }, "at most 20"},
	} {
		in := bulkInput("Name\nAcme\n")
		c.in(in)
		_, err := op.Invoke(context.Background(), connectors.Call{Connection: conn, Input: in})
		if !errors.As(err, &ce) || ce.Class != connectors.Permanent || !strings.Contains(ce.Message, c.want) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	// A job whose answer is a state nobody listed is not taken as done
	// (InProgress is a built-in running state, JobComplete is no state).
	in := bulkInput("Name\nAcme\n")
	jobOf(in)["wait"].(map[string]any)["running"] = []any{}
	jobOf(in)["wait"].(map[string]any)["succeeded"] = []any{}
	_, err = op.Invoke(context.Background(), connectors.Call{Connection: conn, Input: in})
	if err == nil || !strings.Contains(err.Error(), `state "JobComplete" is not a final one`) {
		t.Fatalf("unlisted state: %v", err)
	}
}

// The job's requests keep the connection's origin rule: a create answer
// naming another host's URL is refused, the token not sent there.
func TestBulkJobOtherOriginRefused(t *testing.T) {
	var hit bool
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hit = true }))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"id":"1","contentUrl":%q}`, other.URL+"/upload")
	}))
	defer srv.Close()
	conn := &connectors.Connection{Name: "sf", BaseURL: srv.URL, AllowPrivate: true, Auth: &connectors.Auth{Type: connectors.AuthBearer, Token: "tok"}}
	in := map[string]any{"url": "/jobs", "job": map[string]any{"then": []any{map[string]any{"method": "PUT", "url": "{job.contentUrl}", "raw": map[string]any{"content": "x", "content_type": "text/csv"}}}}}
	_, err := jobOp(t).Invoke(context.Background(), connectors.Call{Connection: conn, Input: in})
	if err == nil || !strings.Contains(err.Error(), "sends its credentials only to") || hit {
		t.Fatalf("%v (other host hit: %v)", err, hit)
	}
}

// A GraphQL bulk operation in the style of Shopify's: a mutation starts
// it, a POSTed query polls its status, and the result file's URL is in
// the last status answer ({final.…}). Polls carry no Idempotency-Key (a
// cached answer to the first would never change).
func TestBulkJobGraphQLStyle(t *testing.T) {
	var mu sync.Mutex
	polls := 0
	var pollKeys []string
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path == "/files/bulk-1.jsonl" && r.Method == "GET" {
			w.Header().Set("Content-Type", "application/jsonl")
			_, _ = io.WriteString(w, "{\"id\":\"gid://shop/Product/1\"}\n{\"id\":\"gid://shop/Product/2\"}\n")
			return
		}
		var q struct {
			Query string `json:"query"`
		}
		if r.Method != "POST" || r.URL.Path != "/graphql" || json.NewDecoder(r.Body).Decode(&q) != nil {
			w.WriteHeader(400)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.Contains(q.Query, "bulkOperationRunQuery"):
			_, _ = io.WriteString(w, `{"data":{"bulkOperationRunQuery":{"bulkOperation":{"id":"gid://shop/BulkOperation/1","status":"CREATED"},"userErrors":[]}}}`)
		case strings.Contains(q.Query, "currentBulkOperation"):
			polls++
			pollKeys = append(pollKeys, r.Header.Get("Idempotency-Key"))
			if polls < 3 {
				_, _ = io.WriteString(w, `{"data":{"currentBulkOperation":{"id":"gid://shop/BulkOperation/1","status":"RUNNING","url":null}}}`)
				return
			}
			_, _ = fmt.Fprintf(w, `{"data":{"currentBulkOperation":{"id":"gid://shop/BulkOperation/1","status":"COMPLETED","url":%q}}}`, srv.URL+"/files/bulk-1.jsonl")
		default:
			w.WriteHeader(400)
		}
	}))
	defer srv.Close()
	conn := &connectors.Connection{Name: "shop", BaseURL: srv.URL, AllowPrivate: true, Auth: &connectors.Auth{Type: connectors.AuthBearer, Token: "tok"}}
	in := map[string]any{"url": "/graphql", "body": map[string]any{"query": `mutation { bulkOperationRunQuery(query: "{ products { edges { node { id } } } }") { bulkOperation { id status } userErrors { message } } }`},
		"job": map[string]any{
			"wait": map[string]any{"method": "POST", "url": "/graphql", "body": map[string]any{"query": "{ currentBulkOperation { id status url } }"},
				"status_path": "data.currentBulkOperation.status", "interval_seconds": 0.001,
				"running": []any{"CREATED", "RUNNING", "CANCELING"}, "succeeded": []any{"COMPLETED"}, "failed": []any{"FAILED", "EXPIRED"}, "canceled": []any{"CANCELED"}},
			"results": map[string]any{"records": map[string]any{"url": "{final.data.currentBulkOperation.url}"}},
		}}
	out, err := jobOp(t).Invoke(context.Background(), connectors.Call{IdempotencyKey: "run9:export", Connection: conn, Input: in})
	if err != nil {
		t.Fatal(err)
	}
	m := jobOf(out.(map[string]any))
	if m["state"] != "COMPLETED" || m["polls"] != int64(3) || !strings.Contains(m["results"].(map[string]any)["records"].(string), "Product/2") {
		t.Fatalf("%v", m)
	}
	for _, k := range pollKeys {
		if k != "" {
			t.Errorf("a status poll carried Idempotency-Key %q", k)
		}
	}
	// {final.…} outside results has nothing to name.
	in["job"].(map[string]any)["then"] = []any{map[string]any{"url": "{final.x}"}}
	if _, err := jobOp(t).Invoke(context.Background(), connectors.Call{Connection: conn, Input: in}); err == nil || !strings.Contains(err.Error(), "only results, after a wait") {
		t.Errorf("final in then: %v", err)
	}
}
