package odata

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/weftio/weft/connectors"
)

// served imports doc and serves its sandbox; calls go through the http
// connector to a real listener, as a flow's would.
type served struct {
	c    *connectors.Connector
	box  *Sandbox
	conn *connectors.Connection
	mu   sync.Mutex
	seen []*http.Request
}

func serve(t *testing.T, doc []byte) *served {
	t.Helper()
	c, _, err := Import("svc", doc, request(t))
	if err != nil {
		t.Fatal(err)
	}
	box, err := NewSandbox("svc", doc)
	if err != nil {
		t.Fatal(err)
	}
	s := &served{c: c, box: box}
	srv := httptest.NewServer(http.StripPrefix("/svc", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.seen = append(s.seen, r.Clone(context.Background()))
		s.mu.Unlock()
		box.ServeHTTP(w, r)
	})))
	t.Cleanup(srv.Close)
	s.conn = &connectors.Connection{Name: "svc", Connector: "svc", BaseURL: srv.URL + "/svc", AllowPrivate: true}
	return s
}

func (s *served) call(t *testing.T, op string, in map[string]any) (map[string]any, error) {
	t.Helper()
	o := ops(s.c)[op]
	if o == nil {
		t.Fatalf("no operation %s (have %v)", op, names(s.c))
	}
	out, err := o.Invoke(context.Background(), connectors.Call{Input: in, Connection: s.conn})
	if err != nil {
		return nil, err
	}
	return out.(map[string]any), nil
}

func (s *served) must(t *testing.T, op string, in map[string]any) map[string]any {
	t.Helper()
	out, err := s.call(t, op, in)
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	return out
}

func body(out map[string]any) map[string]any { m, _ := out["body"].(map[string]any); return m }

func values(out map[string]any) []any { v, _ := body(out)["value"].([]any); return v }

func TestSandboxRoundTripV4(t *testing.T) {
	doc, err := os.ReadFile("testdata/real/trippin_v4.xml")
	if err != nil {
		t.Fatal(err)
	}
	s := serve(t, doc)
	s.box.PageSize = 5
	var people []map[string]any
	for i := 0; i < 23; i++ {
		p := map[string]any{"UserName": fmt.Sprintf("user%02d", i), "FirstName": fmt.Sprintf("First%d", i), "LastName": []string{"Smith", "O'Hara", "Jones"}[i%3],
			"Concurrency": float64(i)}
		if i == 1 {
			p["Trips"] = []any{map[string]any{"TripId": float64(7), "Name": "Lisbon", "Budget": 1200.0, "StartsAt": "2024-01-01T00:00:00Z", "EndsAt": "2024-01-05T00:00:00Z", "Tags": []any{}}}
		}
		people = append(people, p)
	}
	if err := s.box.Seed(map[string][]map[string]any{"People": people}); err != nil {
		t.Fatal(err)
	}
	// list with $filter (escaped quote), $expand and $count
	out := s.must(t, "list_People", map[string]any{"filter": []any{map[string]any{"property": "LastName", "value": "O'Hara"}}, "expand": []any{"Trips"}, "count": true, "orderby": []any{"UserName desc"}})
	if raw := s.seen[len(s.seen)-1].URL.RawQuery; !strings.Contains(raw, "$filter=LastName%20eq%20'O''Hara'") || strings.Contains(raw, "+") {
		t.Errorf("query string %s", raw)
	}
	vals := values(out)
	if len(vals) != 5 || body(out)["count"] != int64(8) || body(out)["next_link"] == nil {
		t.Fatalf("filtered page: %d values, count %v, next %v", len(vals), body(out)["count"], body(out)["next_link"])
	}
	if first := vals[0].(map[string]any); first["UserName"] != "user22" {
		t.Errorf("orderby: %v", first["UserName"])
	}
	var trips []any
	for _, v := range vals {
		if v.(map[string]any)["UserName"] == "user01" {
			trips, _ = v.(map[string]any)["Trips"].([]any)
		}
	}
	// user01 is on the second page of the descending order; fetch_all follows the next link.
	all := s.must(t, "list_People", map[string]any{"filter": []any{map[string]any{"property": "LastName", "value": "O'Hara"}}, "expand": []any{"Trips"}, "fetch_all": true})
	if n := len(values(all)); n != 8 || body(all)["pages"] != 2 {
		t.Fatalf("fetch_all: %d items in %v pages", n, body(all)["pages"])
	}
	for _, v := range values(all) {
		if v.(map[string]any)["UserName"] == "user01" {
			trips, _ = v.(map[string]any)["Trips"].([]any)
		}
	}
	if len(trips) != 1 {
		t.Errorf("expand Trips of user01: %v", trips)
	}
	capped := s.must(t, "list_People", map[string]any{"fetch_all": true, "max_items": 12})
	if n := len(values(capped)); n != 12 {
		t.Errorf("max_items: %d", n)
	}
	// top and skip
	if v := values(s.must(t, "list_People", map[string]any{"top": 3, "skip": 20})); len(v) != 3 {
		t.Errorf("top/skip: %d", len(v))
	}
	// navigation
	nav := s.must(t, "list_People_Trips", map[string]any{"UserName": "user01"})
	if len(values(nav)) != 1 {
		t.Errorf("navigation: %v", body(nav))
	}
	// create, get with ETag, update with it, then a stale one: 412
	created := s.must(t, "create_People", map[string]any{"UserName": "new", "FirstName": "N", "LastName": "Ew"})
	if created["status"] != int64(201) {
		t.Fatalf("create: %v", created)
	}
	got := s.must(t, "get_People", map[string]any{"UserName": "new"})
	tag, _ := body(got)["@odata.etag"].(string)
	if tag == "" {
		t.Fatalf("no etag: %v", body(got))
	}
	upd := s.must(t, "update_People", map[string]any{"UserName": "new", "FirstName": "Changed", "if_match": tag})
	newTag, _ := body(upd)["@odata.etag"].(string)
	if newTag == "" || newTag == tag {
		t.Errorf("update etag %q after %q", newTag, tag)
	}
	_, err = s.call(t, "update_People", map[string]any{"UserName": "new", "FirstName": "Lost", "if_match": tag})
	var ce *connectors.Error
	if !errors.As(err, &ce) || ce.Status != 412 || !strings.Contains(ce.Message, "ETag") {
		t.Fatalf("stale etag: %v", err)
	}
	if class, _ := connectors.Classify(err); class != connectors.Permanent {
		t.Errorf("412 is %s", class)
	}
	if b := body(s.must(t, "get_People", map[string]any{"UserName": "new"})); b["FirstName"] != "Changed" {
		t.Errorf("the stale update applied: %v", b["FirstName"])
	}
	// an OData error body becomes the Weft error's message
	_, err = s.call(t, "create_People", map[string]any{"UserName": "new", "FirstName": "Dup", "LastName": "X"})
	if err == nil || !strings.Contains(err.Error(), "OData error Conflict") || !strings.Contains(err.Error(), "exists") {
		t.Errorf("duplicate: %v", err)
	}
	// bind existing entities (v4 Nav@odata.bind; Dataverse lookups)
	s.must(t, "create_People", map[string]any{"UserName": "linked", "FirstName": "L", "LastName": "K", "bind": map[string]any{"Friends": []any{"People('user01')", "People('user02')"}}})
	if f := values(s.must(t, "list_People_Friends", map[string]any{"UserName": "linked"})); len(f) != 2 {
		t.Errorf("bound friends: %v", f)
	}
	for _, bad := range []map[string]any{{"Friends": []any{"People('nobody')"}}, {"Friends": []any{"Nope('x')"}}, {"Nope": "People('user01')"}, {"Friends": []any{"People('a')/x"}}} {
		if _, err := s.call(t, "create_People", map[string]any{"UserName": "bad", "FirstName": "B", "LastName": "D", "bind": bad}); err == nil {
			t.Errorf("bind %v accepted", bad)
		}
	}
	s.must(t, "get_People", map[string]any{"UserName": "linked", "include_annotations": "OData.Community.Display.V1.FormattedValue"})
	if last := s.seen[len(s.seen)-1]; last.Header.Get("Prefer") != `odata.include-annotations="OData.Community.Display.V1.FormattedValue"` {
		t.Errorf("Prefer %q", last.Header.Get("Prefer"))
	}
	if _, err := s.call(t, "get_People", map[string]any{"UserName": "linked", "include_annotations": "x\"\r\nEvil: 1"}); err == nil {
		t.Error("a header injection through include_annotations was accepted")
	}
	// delete
	s.must(t, "delete_People", map[string]any{"UserName": "new", "if_match": newTag})
	if _, err := s.call(t, "get_People", map[string]any{"UserName": "new"}); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("after delete: %v", err)
	}
	// inputs outside the document are refused before any request
	if _, err := s.call(t, "list_People", map[string]any{"filter": []any{map[string]any{"property": "Nope", "value": 1}}}); err == nil {
		t.Error("unknown filter property accepted")
	}
}

func TestSandboxRoundTripSAPv2(t *testing.T) {
	doc, err := os.ReadFile("testdata/real/sap_api_business_partner.edmx")
	if err != nil {
		t.Fatal(err)
	}
	s := serve(t, doc)
	s.conn.Config = map[string]any{"sap_client": "100"}
	// Deep insert of a partner with an address (CSRF handshake first).
	out := s.must(t, "create_A_BusinessPartner", map[string]any{"BusinessPartner": "1000001", "BusinessPartnerCategory": "2", "OrganizationBPName1": "ACME GmbH",
		"to_BusinessPartnerAddress": []any{map[string]any{"BusinessPartner": "1000001", "AddressID": "1", "CityName": "Walldorf", "Country": "DE"}}})
	if out["status"] != int64(201) || body(out)["@odata.etag"] == nil {
		t.Fatalf("create: %v", out)
	}
	var fetched, withToken bool
	for _, r := range s.seen {
		if r.Header.Get("x-csrf-token") == "Fetch" {
			fetched = true
		}
		if r.Method == "POST" && r.Header.Get("x-csrf-token") != "" && r.Header.Get("x-csrf-token") != "Fetch" && strings.Contains(r.Header.Get("Cookie"), "SAP_SESSIONID") {
			withToken = true
		}
		if r.URL.Query().Get("sap-client") != "100" {
			t.Errorf("%s %s without sap-client", r.Method, r.URL)
		}
	}
	if !fetched || !withToken {
		t.Errorf("CSRF handshake: fetched %v, sent %v", fetched, withToken)
	}
	// An expired token: the sandbox answers 403, the runtime fetches anew and retries once.
	s.box.token = "rotated-token-value"
	s.must(t, "update_A_BusinessPartner", map[string]any{"BusinessPartner": "1000001", "OrganizationBPName2": "Walldorf"})
	// list with v2 filter literals, $expand as {"results": [...]}, $inlinecount
	l := s.must(t, "list_A_BusinessPartner", map[string]any{"filter": []any{map[string]any{"property": "OrganizationBPName1", "op": "startswith", "value": "ACME"}},
		"expand": []any{"to_BusinessPartnerAddress"}, "count": true})
	if len(values(l)) != 1 || body(l)["count"] != int64(1) {
		t.Fatalf("list: %v", body(l))
	}
	addr := values(l)[0].(map[string]any)["to_BusinessPartnerAddress"].(map[string]any)["results"].([]any)
	if len(addr) != 1 || addr[0].(map[string]any)["CityName"] != "Walldorf" {
		t.Errorf("expand: %v", addr)
	}
	// the v2 error body's message.value becomes the error message
	_, err = s.call(t, "create_A_BusinessPartner", map[string]any{"BusinessPartner": "1000001"})
	if err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("duplicate: %v", err)
	}
	// a set the document marks not creatable has no create operation
	if ops(s.c)["create_A_BPContactToAddress"] != nil {
		t.Error("create_A_BPContactToAddress exists")
	}
}

// A $batch change set that fails half-way applies nothing; one that
// succeeds applies everything.
func TestSandboxBatchChangeSet(t *testing.T) {
	for _, file := range []string{"testdata/real/trippin_v4.xml", "testdata/real/sap_api_business_partner.edmx"} {
		doc, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		s := serve(t, doc)
		set, key, create, update := "People", "UserName", "create_People", "update_People"
		rec := func(k string) map[string]any {
			return map[string]any{"UserName": k, "FirstName": "F", "LastName": "L"}
		}
		if strings.Contains(file, "sap_") {
			set, key, create, update = "A_BusinessPartner", "BusinessPartner", "create_A_BusinessPartner", "update_A_BusinessPartner"
			rec = func(k string) map[string]any {
				return map[string]any{"BusinessPartner": k, "OrganizationBPName1": "Org " + k}
			}
		}
		_ = set
		_, err = s.call(t, "batch", map[string]any{"requests": []any{
			map[string]any{"operation": create, "input": rec("a1")},
			map[string]any{"operation": create, "input": rec("a2")},
			map[string]any{"operation": update, "input": map[string]any{key: "missing"}},
		}})
		var ce *connectors.Error
		if !errors.As(err, &ce) || ce.Status != 404 || !strings.Contains(ce.Message, "nothing in it was applied") {
			t.Fatalf("%s: failing change set: %v", file, err)
		}
		if _, err := s.call(t, "get_"+set, map[string]any{key: "a1"}); err == nil {
			t.Fatalf("%s: a1 was created by a failed change set", file)
		}
		out := s.must(t, "batch", map[string]any{"requests": []any{
			map[string]any{"operation": create, "input": rec("b1")},
			map[string]any{"operation": create, "input": rec("b2")},
		}})
		resps := body(out)["responses"].([]any)
		if len(resps) != 2 || resps[0].(map[string]any)["status"] != 201 {
			t.Fatalf("%s: %v", file, resps)
		}
		for _, k := range []string{"b1", "b2"} {
			s.must(t, "get_"+set, map[string]any{key: k})
		}
		// reads outside a change set
		out = s.must(t, "batch", map[string]any{"atomic": false, "requests": []any{
			map[string]any{"operation": "get_" + set, "input": map[string]any{key: "b1"}},
			map[string]any{"operation": "list_" + set, "input": map[string]any{"top": 1}},
		}})
		if r := body(out)["responses"].([]any); len(r) != 2 || r[0].(map[string]any)["body"].(map[string]any)[key] != "b1" {
			t.Fatalf("%s: reads: %v", file, r)
		}
	}
}

// Functions and actions: how the calls are written, and the sandbox's
// answers (a value of the return type, nothing changed).
func TestCallShapes(t *testing.T) {
	doc, err := os.ReadFile("testdata/real/trippin_v4.xml")
	if err != nil {
		t.Fatal(err)
	}
	s := serve(t, doc)
	if err := s.box.Seed(map[string][]map[string]any{"People": {{"UserName": "ann", "FirstName": "A", "LastName": "L"}},
		"Airports": {{"IcaoCode": "KSAN", "Name": "San Diego", "IataCode": "SAN"}}}); err != nil {
		t.Fatal(err)
	}
	last := func() *http.Request { return s.seen[len(s.seen)-1] }
	answers := map[string]func(map[string]any) bool{
		"GetNearestAirport":              func(b map[string]any) bool { return b["IcaoCode"] == "KSAN" },
		"ResetDataSource":                func(b map[string]any) bool { return len(b) == 0 },
		"People_ShareTrip":               func(b map[string]any) bool { return len(b) == 0 },
		"People_Trips_GetInvolvedPeople": func(b map[string]any) bool { v, _ := b["value"].([]any); return len(v) == 1 },
		"People_GetFriendsTrips":         func(b map[string]any) bool { _, ok := b["value"].([]any); return ok },
	}
	cases := []struct {
		op      string
		in      map[string]any
		method  string
		uri     string
		hasBody bool
	}{
		{"GetNearestAirport", map[string]any{"lat": 33.1, "lon": -117.5}, "GET", "/GetNearestAirport(lat=33.1,lon=-117.5)", false},
		{"ResetDataSource", map[string]any{}, "POST", "/ResetDataSource", false},
		{"People_ShareTrip", map[string]any{"UserName": "ann", "userName": "bob", "tripId": 7}, "POST", "/People('ann')/Microsoft.OData.SampleService.Models.TripPin.ShareTrip", true},
		{"People_Trips_GetInvolvedPeople", map[string]any{"UserName": "ann", "Trips_TripId": 7}, "GET", "/People('ann')/Trips(7)/Microsoft.OData.SampleService.Models.TripPin.GetInvolvedPeople()", false},
		{"People_GetFriendsTrips", map[string]any{"UserName": "ann", "userName": "O'Neil"}, "GET", "/People('ann')/Microsoft.OData.SampleService.Models.TripPin.GetFriendsTrips(userName='O''Neil')", false},
	}
	for _, c := range cases {
		if ops(s.c)[c.op] == nil {
			t.Errorf("no %s (have %v)", c.op, names(s.c))
			continue
		}
		out, err := s.call(t, c.op, c.in)
		if err != nil || !answers[c.op](body(out)) {
			t.Errorf("%s: %v %v", c.op, out, err)
		}
		r := last()
		uri, _ := url.PathUnescape(r.URL.EscapedPath())
		if r.Method != c.method || uri != c.uri {
			t.Errorf("%s: %s %s, want %s %s", c.op, r.Method, uri, c.method, c.uri)
		}
	}
	if h := ops(s.c)["GetNearestAirport"].Hints; !h.ReadOnly {
		t.Errorf("a v4 function is read-only: %+v", h)
	}
	if h := ops(s.c)["People_ShareTrip"].Hints; h.ReadOnly {
		t.Errorf("an action is not read-only: %+v", h)
	}
	if _, err := s.call(t, "GetNearestAirport", map[string]any{"lat": "1 or 1", "lon": 1}); err == nil || strings.Contains(err.Error(), "400") {
		t.Errorf("a non-number reached the service: %v", err)
	}
	// The sandbox checks a call against the document, as a service would.
	for _, c := range []struct{ method, path, body, want string }{
		{"GET", "/GetNearestAirport(lat=1)", "", "needs parameter lon"},
		{"GET", "/GetNearestAirport(lat='x',lon=1)", "", "want a number"},
		{"GET", "/GetNearestAirport(lat=1,lon=2,alt=3)", "", `no parameter \"alt\"`},
		{"POST", "/GetNearestAirport(lat=1,lon=2)", "", "takes GET"},
		{"GET", "/ResetDataSource", "", "takes POST"},
		{"POST", "/People('ann')/Microsoft.OData.SampleService.Models.TripPin.ShareTrip", `{"userName": "bob"}`, "needs parameter tripId"},
		{"POST", "/People('ann')/Microsoft.OData.SampleService.Models.TripPin.ShareTrip", `{"userName": "bob", "tripId": 1.5}`, "want an integer"},
		{"GET", "/People('nobody')/Microsoft.OData.SampleService.Models.TripPin.GetFavoriteAirline()", "", "no People"},
		{"GET", "/People('ann')/Microsoft.OData.SampleService.Models.TripPin.GetFavoriteAirline()", "", "Airlines set is empty"},
		{"GET", "/ShareTrip", "", "is bound"},
	} {
		req := httptest.NewRequest(c.method, c.path, strings.NewReader(c.body))
		rec := httptest.NewRecorder()
		s.box.ServeHTTP(rec, req)
		if rec.Code < 400 || !strings.Contains(rec.Body.String(), c.want) {
			t.Errorf("%s %s: %d %s, want an error saying %q", c.method, c.path, rec.Code, rec.Body.String(), c.want)
		}
	}
}

// A v2 service's function imports (SAP's m:HttpMethod, parameters in the
// query string, results in the d envelope) answer values of their types.
func TestSandboxFunctionImportsV2(t *testing.T) {
	doc, err := os.ReadFile("testdata/real/sap_cloudsdk_test_v2.edmx")
	if err != nil {
		t.Fatal(err)
	}
	box, err := NewSandbox("svc", doc)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		method, path string
		status       int
		want         string
	}{
		{"GET", "/TestFunctionImportEdmReturnType", 200, `{"d":{"TestFunctionImportEdmReturnType":false}}`},
		{"GET", "/TestFunctionImportEdmReturnTypeCollection", 200, `{"d":{"results":[]}}`},
		{"GET", "/TestFunctionImportEntityReturnTypeCollection", 200, `"results":[]`},
		{"POST", "/TestFunctionImportNoReturnType", 204, ""},
		{"GET", "/TestFunctionImportNoReturnType", 405, "takes POST"},
	} {
		req := httptest.NewRequest(c.method, "/"+c.path[1:], nil)
		if c.method == "POST" {
			req.Header.Set("X-CSRF-Token", box.token)
		}
		rec := httptest.NewRecorder()
		box.ServeHTTP(rec, req)
		if rec.Code != c.status || !strings.Contains(rec.Body.String(), c.want) {
			t.Errorf("%s %s: %d %s, want %d %s", c.method, c.path, rec.Code, rec.Body.String(), c.status, c.want)
		}
	}
}

// A v4 request with respond_async: 202 Accepted and a status monitor,
// polled as one step until it answers with the request's own response
// (application/http); an error inside it is the step's error.
func TestSandboxRespondAsync(t *testing.T) {
	doc, err := os.ReadFile("testdata/real/trippin_v4.xml")
	if err != nil {
		t.Fatal(err)
	}
	s := serve(t, doc)
	for _, op := range []string{"create_People", "update_People", "delete_People"} {
		props, _ := ops(s.c)[op].Input["properties"].(map[string]any)
		if props[asyncInput] == nil {
			t.Fatalf("%s has no %s input", op, asyncInput)
		}
	}
	if props, _ := ops(s.c)["list_People"].Input["properties"].(map[string]any); props[asyncInput] != nil {
		t.Fatal("a read offers respond_async")
	}
	created := s.must(t, "create_People", map[string]any{"UserName": "later", "FirstName": "L", "LastName": "Ater", asyncInput: true})
	if created["status"] != int64(201) || body(created)["UserName"] != "later" {
		t.Fatalf("async create: %v", created)
	}
	lr, _ := created["long_running"].(map[string]any)
	if lr == nil || lr["polls"] != int64(2) || !strings.Contains(fmt.Sprint(lr["operation_url"]), "/svc/$async/") {
		t.Fatalf("long_running %v", lr)
	}
	s.mu.Lock()
	seen := s.seen[len(s.seen)-3:]
	s.mu.Unlock()
	if seen[0].Method != "POST" || seen[0].Header.Get("Prefer") != "respond-async" || seen[1].Method != "GET" || !strings.HasPrefix(seen[1].URL.Path, "/$async/") || seen[2].URL.Path != seen[1].URL.Path {
		t.Fatalf("requests: %s %s %v, %s %s, %s %s", seen[0].Method, seen[0].URL.Path, seen[0].Header, seen[1].Method, seen[1].URL.Path, seen[2].Method, seen[2].URL.Path)
	}
	tag, _ := body(s.must(t, "get_People", map[string]any{"UserName": "later"}))["@odata.etag"].(string)
	s.must(t, "update_People", map[string]any{"UserName": "later", "FirstName": "Changed", "if_match": tag, asyncInput: true})
	// A stale ETag fails inside the asynchronous request: a permanent 412.
	_, err = s.call(t, "update_People", map[string]any{"UserName": "later", "FirstName": "Lost", "if_match": tag, asyncInput: true})
	var ce *connectors.Error
	if !errors.As(err, &ce) || ce.Status != 412 || !strings.Contains(ce.Message, "ETag") {
		t.Fatalf("stale etag, async: %v", err)
	}
	if class, _ := connectors.Classify(err); class != connectors.Permanent {
		t.Errorf("412 is %s", class)
	}
	if b := body(s.must(t, "get_People", map[string]any{"UserName": "later"})); b["FirstName"] != "Changed" {
		t.Errorf("first name %v", b["FirstName"])
	}
	del := s.must(t, "delete_People", map[string]any{"UserName": "later", asyncInput: true})
	if del["status"] != int64(204) {
		t.Fatalf("async delete: %v", del)
	}
	if _, err := s.call(t, "get_People", map[string]any{"UserName": "later"}); err == nil {
		t.Error("deleted entity still there")
	}
	// A monitor is collected once.
	resp, err := http.Get(s.conn.BaseURL + seen[1].URL.Path)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("a collected monitor answers %d", resp.StatusCode)
	}
}

// OData v2 has no asynchronous requests: no respond_async input.
func TestRespondAsyncNotOnV2(t *testing.T) {
	doc, err := os.ReadFile("testdata/real/odatademo_v2.edmx")
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := Import("svc", doc, request(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range c.Operations {
		if props, _ := o.Input["properties"].(map[string]any); props[asyncInput] != nil {
			t.Fatalf("%s offers respond_async on a v2 service", o.Name)
		}
	}
}

// A contained entity (TripPin's Trips: ContainsTarget) has no entity set:
// get, update (If-Match, 412 when stale) and delete go through its parent,
// by both keys.
func TestSandboxContainedByKey(t *testing.T) {
	doc, err := os.ReadFile("testdata/real/trippin_v4.xml")
	if err != nil {
		t.Fatal(err)
	}
	s := serve(t, doc)
	trip := func(id float64, name string) map[string]any {
		return map[string]any{"TripId": id, "Name": name, "Budget": 10.0, "StartsAt": "2024-01-01T00:00:00Z", "EndsAt": "2024-01-05T00:00:00Z", "Tags": []any{}}
	}
	if err := s.box.Seed(map[string][]map[string]any{"People": {
		{"UserName": "ann", "FirstName": "A", "LastName": "N", "Concurrency": 1.0, "Trips": []any{trip(7, "Lisbon"), trip(8, "Porto")}},
		{"UserName": "bob", "FirstName": "B", "LastName": "O", "Concurrency": 2.0, "Trips": []any{trip(9, "Oslo")}},
	}}); err != nil {
		t.Fatal(err)
	}
	got := s.must(t, "get_People_Trips", map[string]any{"UserName": "ann", "Trips_TripId": 8})
	if p := s.seen[len(s.seen)-1].URL.EscapedPath(); p != "/People('ann')/Trips(8)" {
		t.Errorf("path %s", p)
	}
	tag, _ := body(got)["@odata.etag"].(string)
	if body(got)["Name"] != "Porto" || tag == "" {
		t.Fatalf("get: %v", body(got))
	}
	// Bob's trip is not among Ann's.
	if _, err := s.call(t, "get_People_Trips", map[string]any{"UserName": "ann", "Trips_TripId": 9}); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("another parent's trip: %v", err)
	}
	s.must(t, "update_People_Trips", map[string]any{"UserName": "ann", "Trips_TripId": 8, "Name": "Porto 2", "if_match": tag})
	_, err = s.call(t, "update_People_Trips", map[string]any{"UserName": "ann", "Trips_TripId": 8, "Name": "Lost", "if_match": tag})
	var ce *connectors.Error
	if !errors.As(err, &ce) || ce.Status != 412 {
		t.Fatalf("stale etag: %v", err)
	}
	if b := body(s.must(t, "get_People_Trips", map[string]any{"UserName": "ann", "Trips_TripId": 8})); b["Name"] != "Porto 2" {
		t.Errorf("after update: %v", b)
	}
	if _, err := s.call(t, "update_People_Trips", map[string]any{"UserName": "ann", "Trips_TripId": 8, "Nope": 1}); err == nil {
		t.Error("an unknown input was accepted")
	}
	s.must(t, "delete_People_Trips", map[string]any{"UserName": "ann", "Trips_TripId": 7})
	if v := values(s.must(t, "list_People_Trips", map[string]any{"UserName": "ann"})); len(v) != 1 || v[0].(map[string]any)["TripId"] != float64(8) {
		t.Errorf("after delete: %v", v)
	}
	if _, err := s.call(t, "get_People_Trips", map[string]any{"UserName": "ann", "Trips_TripId": 7}); err == nil {
		t.Error("a deleted trip is still there")
	}
}

// A media entity (HasStream) gets its stream read and replaced at $value,
// as base64 in flows; a stale If-Match is 412 there too.
func TestSandboxMediaStream(t *testing.T) {
	doc, err := os.ReadFile("testdata/real/trippin_v4.xml")
	if err != nil {
		t.Fatal(err)
	}
	s := serve(t, doc)
	if err := s.box.Seed(map[string][]map[string]any{"Photos": {{"Id": 5.0, "Name": "beach"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.call(t, "get_Photos_media", map[string]any{"Id": 5}); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("no stream yet: %v", err)
	}
	png := "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
	tag, _ := body(s.must(t, "get_Photos", map[string]any{"Id": 5}))["@odata.etag"].(string)
	up := s.must(t, "update_Photos_media", map[string]any{"Id": 5, "content_base64": png, "content_type": "image/png", "if_match": tag})
	last := s.seen[len(s.seen)-1]
	if last.Method != "PUT" || last.URL.Path != "/Photos(5)/$value" || last.Header.Get("Content-Type") != "image/png" || up["status"] != int64(204) {
		t.Fatalf("upload: %s %s %s %v", last.Method, last.URL.Path, last.Header.Get("Content-Type"), up)
	}
	got := s.must(t, "get_Photos_media", map[string]any{"Id": 5})
	if got["body"] != png || got["body_encoding"] != "base64" || got["headers"].(map[string]any)["content-type"] != "image/png" {
		t.Fatalf("download: %v", got)
	}
	if _, err := s.call(t, "update_Photos_media", map[string]any{"Id": 5, "content_base64": png, "if_match": tag}); err == nil || !strings.Contains(err.Error(), "412") {
		t.Errorf("stale etag: %v", err)
	}
	for _, bad := range []map[string]any{{"Id": 5, "content_base64": "not base64!"}, {"Id": 5, "content_base64": png, "content_type": "a\r\nX-Evil: 1"}, {"Id": 5, "content_base64": png, "Nope": 1}} {
		if _, err := s.call(t, "update_Photos_media", bad); err == nil {
			t.Errorf("accepted %v", bad)
		}
	}
}

// v2 server-driven paging: fetch_all follows d.__next (SAP's sandbox
// pages by $skiptoken) until the list ends, and a filter holds on every
// page.
func TestSandboxFetchAllV2Next(t *testing.T) {
	doc, err := os.ReadFile("testdata/real/sap_api_business_partner.edmx")
	if err != nil {
		t.Fatal(err)
	}
	s := serve(t, doc)
	s.box.PageSize = 4
	var partners []map[string]any
	for i := 0; i < 11; i++ {
		partners = append(partners, map[string]any{"BusinessPartner": fmt.Sprintf("10%02d", i), "BusinessPartnerCategory": []string{"1", "2"}[i%2]})
	}
	if err := s.box.Seed(map[string][]map[string]any{"A_BusinessPartner": partners}); err != nil {
		t.Fatal(err)
	}
	first := s.must(t, "list_A_BusinessPartner", map[string]any{})
	if n, _ := body(first)["next_link"].(string); len(values(first)) != 4 || !strings.Contains(n, "skiptoken") {
		t.Fatalf("first page: %d values, next %v", len(values(first)), body(first)["next_link"])
	}
	all := s.must(t, "list_A_BusinessPartner", map[string]any{"fetch_all": true, "filter": []any{map[string]any{"property": "BusinessPartnerCategory", "value": "2"}}})
	if n := len(values(all)); n != 5 || body(all)["pages"] != 2 {
		t.Fatalf("fetch_all over __next: %d items in %v pages", n, body(all)["pages"])
	}
	for _, v := range values(all) {
		if v.(map[string]any)["BusinessPartnerCategory"] != "2" {
			t.Errorf("filter lost on a later page: %v", v)
		}
	}
}
