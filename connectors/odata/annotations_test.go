package odata

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/weftio/weft/connectors"
)

// A document that uses the Display vocabulary and declares lookups
// (ReferentialConstraint) gets the instance annotations the service sends
// with include_annotations in its output schemas: formatted values beside
// choices, numbers, dates and lookups, and the lookup's target table and
// navigation beside each foreign key. The answers carry them through.
func TestDataverseAnnotationsInOutputs(t *testing.T) {
	doc, err := os.ReadFile("testdata/own/dataverse_shape.xml")
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := Import("crm", doc, request(t))
	if err != nil {
		t.Fatal(err)
	}
	const fv, lk, an = "@OData.Community.Display.V1.FormattedValue", "@Microsoft.Dynamics.CRM.lookuplogicalname", "@Microsoft.Dynamics.CRM.associatednavigationproperty"
	props := func(op string) map[string]any {
		o := ops(c)[op]
		if o == nil {
			t.Fatalf("no %s in %v", op, names(c))
		}
		out := o.Output
		if items, ok := out["properties"].(map[string]any)["value"]; ok {
			out = items.(map[string]any)["items"].(map[string]any)
		}
		return out["properties"].(map[string]any)
	}
	p := props("get_contacts")
	for _, k := range []string{"_parentcustomerid_value" + lk, "_parentcustomerid_value" + an, "_parentcustomerid_value" + fv, "donotemail" + fv} {
		if p[k] == nil {
			t.Errorf("get_contacts output lacks %s", k)
		}
	}
	for _, k := range []string{"fullname" + fv, "donotemail" + lk, "contactid" + lk} {
		if p[k] != nil {
			t.Errorf("get_contacts output declares %s", k)
		}
	}
	if d, _ := p["_parentcustomerid_value"+lk].(map[string]any)["description"].(string); d == "" || !strings.Contains(d, "parentcustomerid_account") {
		t.Errorf("lookup description %q", d)
	}
	l := props("list_accounts")
	for _, k := range []string{"statuscode" + fv, "revenue" + fv, "createdon" + fv, "_primarycontactid_value" + lk} {
		if l[k] == nil {
			t.Errorf("list_accounts items lack %s", k)
		}
	}
	// A document that uses neither vocabulary gets none of them.
	trip, err := os.ReadFile("testdata/real/trippin_v4.xml")
	if err != nil {
		t.Fatal(err)
	}
	tc, _, err := Import("trip", trip, request(t))
	if err != nil {
		t.Fatal(err)
	}
	for k := range ops(tc)["get_People"].Output["properties"].(map[string]any) {
		if strings.Contains(k, "@") && k != "@odata.etag" {
			t.Errorf("TripPin declares %s", k)
		}
	}
	// The service's annotations reach the step's output as sent.
	var prefer string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		prefer = r.Header.Get("Prefer")
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"@odata.etag":"W/\"1\"","contactid":"c1","fullname":"Ann","donotemail":false,"donotemail` + fv + `":"Allow",` +
			`"_parentcustomerid_value":"a1","_parentcustomerid_value` + fv + `":"Contoso","_parentcustomerid_value` + lk + `":"account"}`))
	}))
	defer srv.Close()
	out, err := ops(c)["get_contacts"].Invoke(context.Background(), connectors.Call{Input: map[string]any{"contactid": "00000000-0000-0000-0000-000000000001", "include_annotations": "*"},
		Connection: &connectors.Connection{Name: "crm", Connector: "crm", BaseURL: srv.URL, AllowPrivate: true}})
	if err != nil {
		t.Fatal(err)
	}
	b := out.(map[string]any)["body"].(map[string]any)
	if prefer != `odata.include-annotations="*"` || b["_parentcustomerid_value"+lk] != "account" || b["_parentcustomerid_value"+fv] != "Contoso" || b["donotemail"+fv] != "Allow" {
		t.Fatalf("Prefer %q, body %v", prefer, b)
	}
}

// JSON CSDL carries the same: $HasStream, $ContainsTarget,
// $ReferentialConstraint and $Reference.
func TestJSONCSDLStreamsContainmentLookups(t *testing.T) {
	doc := `{"$Version":"4.0","$Reference":{"https://oasis-tcs.github.io/odata-vocabularies/vocabularies/OData.Community.Display.V1.json":{"$Include":[{"$Namespace":"OData.Community.Display.V1"}]}},
"$EntityContainer":"N.C","N":{"T":{"$Kind":"EntityType","$HasStream":true,"$Key":["ID"],"ID":{"$Type":"Edm.Int32"},"FK":{"$Type":"Edm.Int32","$Nullable":true},
"Owner":{"$Kind":"NavigationProperty","$Type":"N.T","$ReferentialConstraint":{"FK":"ID"}},
"Kids":{"$Kind":"NavigationProperty","$Type":"N.K","$Collection":true,"$ContainsTarget":true}},
"K":{"$Kind":"EntityType","$Key":["KID"],"KID":{"$Type":"Edm.String"},"Label":{"$Type":"Edm.String"}},
"C":{"$Kind":"EntityContainer","Ts":{"$Collection":true,"$Type":"N.T"}}}}`
	c, _, err := Import("j", []byte(doc), request(t))
	if err != nil {
		t.Fatal(err)
	}
	o := ops(c)
	for _, n := range []string{"get_Ts_media", "update_Ts_media", "get_Ts_Kids", "update_Ts_Kids", "delete_Ts_Kids"} {
		if o[n] == nil {
			t.Errorf("no %s in %v", n, names(c))
		}
	}
	if req := o["get_Ts_Kids"].Input["required"]; len(req.([]any)) != 2 {
		t.Errorf("get_Ts_Kids requires %v", req)
	}
	p := o["get_Ts"].Output["properties"].(map[string]any)
	if p["FK@OData.Community.Display.V1.FormattedValue"] == nil || p["ID@OData.Community.Display.V1.FormattedValue"] == nil {
		t.Errorf("annotations: %v", p)
	}
	if p["FK@Microsoft.Dynamics.CRM.lookuplogicalname"] != nil {
		t.Error("a term of a namespace the document does not use")
	}
}

// The sandbox answers the annotations a request asks for, as the
// document declares them: flows over a Dataverse-shaped service see
// formatted values and lookup targets offline.
func TestSandboxInstanceAnnotations(t *testing.T) {
	doc, err := os.ReadFile("testdata/own/dataverse_shape.xml")
	if err != nil {
		t.Fatal(err)
	}
	s := serve(t, doc)
	const acc, con = "00000000-0000-0000-0000-0000000000a1", "00000000-0000-0000-0000-0000000000c1"
	if err := s.box.Seed(map[string][]map[string]any{
		"accounts": {{"accountid": acc, "name": "Contoso", "statuscode": 1.0}},
		"contacts": {{"contactid": con, "fullname": "Ann", "donotemail": false, "_parentcustomerid_value": acc}},
	}); err != nil {
		t.Fatal(err)
	}
	const fv, lk, an = "@OData.Community.Display.V1.FormattedValue", "@Microsoft.Dynamics.CRM.lookuplogicalname", "@Microsoft.Dynamics.CRM.associatednavigationproperty"
	plain := body(s.must(t, "get_contacts", map[string]any{"contactid": con}))
	for k := range plain {
		if strings.Contains(k, "@") && k != "@odata.etag" {
			t.Errorf("unasked annotation %s", k)
		}
	}
	all := body(s.must(t, "get_contacts", map[string]any{"contactid": con, "include_annotations": "*"}))
	if all["_parentcustomerid_value"+lk] != "account" || all["_parentcustomerid_value"+an] != "parentcustomerid_account" ||
		all["donotemail"+fv] != "No" || all["_parentcustomerid_value"+fv] == nil || all["fullname"+fv] != nil {
		t.Fatalf("include *: %v", all)
	}
	some := values(s.must(t, "list_accounts", map[string]any{"include_annotations": "OData.Community.Display.V1.*"}))
	if len(some) != 1 || some[0].(map[string]any)["statuscode"+fv] != "1" {
		t.Fatalf("list with the Display namespace: %v", some)
	}
	only := body(s.must(t, "get_contacts", map[string]any{"contactid": con, "include_annotations": "*,-Microsoft.Dynamics.CRM.*"}))
	if only["_parentcustomerid_value"+lk] != nil || only["donotemail"+fv] != "No" {
		t.Fatalf("exclusion: %v", only)
	}
}

// A single-valued navigation (a lookup) is read with get_S_N: the related
// entity itself, here the account a contact was bound to on create.
func TestSingleValuedNavigation(t *testing.T) {
	doc, err := os.ReadFile("testdata/own/dataverse_shape.xml")
	if err != nil {
		t.Fatal(err)
	}
	s := serve(t, doc)
	const acc = "00000000-0000-0000-0000-0000000000a1"
	if err := s.box.Seed(map[string][]map[string]any{"accounts": {{"accountid": acc, "name": "Contoso"}}}); err != nil {
		t.Fatal(err)
	}
	s.must(t, "create_contacts", map[string]any{"contactid": "00000000-0000-0000-0000-0000000000c1", "fullname": "Ann",
		"bind": map[string]any{"parentcustomerid_account": "accounts(" + acc + ")"}})
	got := s.must(t, "get_contacts_parentcustomerid_account", map[string]any{"contactid": "00000000-0000-0000-0000-0000000000c1"})
	if p := s.seen[len(s.seen)-1].URL.Path; p != "/contacts(00000000-0000-0000-0000-0000000000c1)/parentcustomerid_account" {
		t.Errorf("path %s", p)
	}
	if body(got)["name"] != "Contoso" || body(got)["accountid"] != acc {
		t.Fatalf("related account: %v", got)
	}
	// A contact bound to nothing: no related entity (204), not an error.
	s.must(t, "create_contacts", map[string]any{"contactid": "00000000-0000-0000-0000-0000000000c2", "fullname": "Bob"})
	none := s.must(t, "get_contacts_parentcustomerid_account", map[string]any{"contactid": "00000000-0000-0000-0000-0000000000c2"})
	if none["status"] != int64(204) || len(body(none)) != 0 {
		t.Fatalf("unbound: %v", none)
	}
}
