package odata

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/weftio/weft"
	"github.com/weftio/weft/connectors"
	httpconn "github.com/weftio/weft/connectors/http"
)

func request(t testing.TB) *connectors.Operation {
	t.Helper()
	return httpconn.New(httpconn.Options{}).Operations[0]
}

// sapDoc is a small SAP-style v2 service: sap: annotations, an
// association, a function import.
const sapDoc = `<?xml version="1.0" encoding="utf-8"?>
<edmx:Edmx Version="1.0" xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx" xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata" xmlns:sap="http://www.sap.com/Protocols/SAPData">
 <edmx:DataServices m:DataServiceVersion="2.0">
  <Schema Namespace="ZBP" xml:lang="en" sap:schema-version="1" xmlns="http://schemas.microsoft.com/ado/2008/09/edm">
   <EntityType Name="Partner" sap:label="Business Partner">
    <Key><PropertyRef Name="PartnerID"/></Key>
    <Property Name="PartnerID" Type="Edm.String" Nullable="false" MaxLength="10" sap:label="Partner" sap:updatable="false"/>
    <Property Name="Name" Type="Edm.String" MaxLength="80" sap:label="Name"/>
    <Property Name="Category" Type="Edm.String" MaxLength="1" sap:filterable="false"/>
    <Property Name="Revenue" Type="Edm.Decimal" Precision="15" Scale="2"/>
    <Property Name="Created" Type="Edm.DateTime" sap:creatable="false" sap:updatable="false"/>
    <Property Name="Version" Type="Edm.Int32" ConcurrencyMode="Fixed"/>
    <NavigationProperty Name="to_Address" Relationship="ZBP.assoc_PA" FromRole="P" ToRole="A"/>
   </EntityType>
   <EntityType Name="Address">
    <Key><PropertyRef Name="PartnerID"/><PropertyRef Name="AddressID"/></Key>
    <Property Name="PartnerID" Type="Edm.String" Nullable="false"/>
    <Property Name="AddressID" Type="Edm.String" Nullable="false"/>
    <Property Name="City" Type="Edm.String"/>
   </EntityType>
   <Association Name="assoc_PA">
    <End Type="ZBP.Partner" Multiplicity="1" Role="P"/>
    <End Type="ZBP.Address" Multiplicity="*" Role="A"/>
   </Association>
   <EntityContainer Name="ZBP_SRV_Entities" m:IsDefaultEntityContainer="true">
    <EntitySet Name="Partners" EntityType="ZBP.Partner" sap:deletable="false" sap:searchable="true"/>
    <EntitySet Name="Addresses" EntityType="ZBP.Address" sap:creatable="false"/>
    <AssociationSet Name="assoc_PA_set" Association="ZBP.assoc_PA"><End EntitySet="Partners" Role="P"/><End EntitySet="Addresses" Role="A"/></AssociationSet>
    <FunctionImport Name="BlockPartner" ReturnType="ZBP.Partner" EntitySet="Partners" m:HttpMethod="POST" sap:label="Block a partner">
     <Parameter Name="PartnerID" Type="Edm.String" Mode="In"/>
    </FunctionImport>
   </EntityContainer>
  </Schema>
 </edmx:DataServices>
</edmx:Edmx>`

func ops(c *connectors.Connector) map[string]*connectors.Operation {
	out := map[string]*connectors.Operation{}
	for _, o := range c.Operations {
		out[o.Name] = o
	}
	return out
}

func TestImportSAPv2(t *testing.T) {
	c, rep, err := Import("zbp", []byte(sapDoc), request(t))
	if err != nil {
		t.Fatal(err)
	}
	if rep.SourceKind != "odata-v2" {
		t.Errorf("kind %s", rep.SourceKind)
	}
	o := ops(c)
	for _, want := range []string{"list_Partners", "get_Partners", "create_Partners", "update_Partners", "list_Partners_to_Address", "list_Addresses", "get_Addresses", "update_Addresses", "delete_Addresses", "BlockPartner"} {
		if o[want] == nil {
			t.Errorf("missing %s (have %v)", want, names(c))
		}
	}
	for _, not := range []string{"delete_Partners", "create_Addresses"} {
		if o[not] != nil {
			t.Errorf("%s exists though the service marks it unsupported", not)
		}
	}
	if len(rep.Skipped) != 2 {
		t.Errorf("skipped %v", rep.Skipped)
	}
	// Hints become MCP annotations.
	if h := o["list_Partners"].Hints; !h.ReadOnly || h.Destructive {
		t.Errorf("list hints %+v", h)
	}
	if h := o["delete_Addresses"].Hints; !h.Destructive || h.ReadOnly {
		t.Errorf("delete hints %+v", h)
	}
	if h := o["update_Partners"].Hints; !h.Idempotent || h.ReadOnly {
		t.Errorf("update hints %+v", h)
	}
	if h := o["BlockPartner"].Hints; h.ReadOnly {
		t.Errorf("a POST function import is not read-only: %+v", h)
	}
	// sap:filterable="false" keeps Category out of the filter.
	props := o["list_Partners"].Input["properties"].(map[string]any)
	enum := props["filter"].(map[string]any)["items"].(map[string]any)["properties"].(map[string]any)["property"].(map[string]any)["enum"].([]any)
	for _, e := range enum {
		if e == "Category" {
			t.Error("Category is not filterable")
		}
	}
	if _, ok := props["search"]; !ok {
		t.Error("sap:searchable set should offer search")
	}
	// sap:creatable/updatable="false" properties are not inputs.
	cp := o["create_Partners"].Input["properties"].(map[string]any)
	if _, ok := cp["Created"]; ok {
		t.Error("Created is not creatable")
	}
	if _, ok := cp["to_Address"]; !ok {
		t.Error("deep insert input missing")
	}
	up := o["update_Partners"].Input["properties"].(map[string]any)
	if _, ok := up["if_match"]; !ok {
		t.Error("update has no if_match")
	}
	if len(c.Triggers) == 0 || c.Triggers[0].Operation != "list_Partners" || c.Triggers[0].Cursor != "Created" || c.Triggers[0].Key != "PartnerID" {
		t.Errorf("poll triggers %+v (want the server-set Created as the cursor)", c.Triggers)
	}
	// Labels reach the description (NL-to-flow and search read it).
	if !strings.Contains(o["list_Partners"].Description, "Business Partner") {
		t.Errorf("description %q", o["list_Partners"].Description)
	}
}

func names(c *connectors.Connector) []string {
	var out []string
	for _, o := range c.Operations {
		out = append(out, o.Name)
	}
	return out
}

var toolNameRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// TestImportRealDocuments imports every gathered $metadata document.
func TestImportRealDocuments(t *testing.T) {
	files, _ := filepath.Glob("testdata/real/*")
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, ".md") {
			continue
		}
		n++
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		c, rep, err := Import("x", data, request(t))
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if rep.Imported == 0 || rep.Imported != len(c.Operations) {
			t.Errorf("%s: imported %d of %d", f, rep.Imported, len(c.Operations))
		}
		seen := map[string]bool{}
		for _, o := range c.Operations {
			if !toolNameRe.MatchString(o.Name) || seen[o.Name] {
				t.Errorf("%s: bad or repeated name %q", f, o.Name)
			}
			seen[o.Name] = true
			if o.Input["type"] != "object" || o.Invoke == nil || o.Description == "" {
				t.Errorf("%s: %s is incomplete", f, o.Name)
			}
		}
		t.Logf("%-45s %s found %4d imported %4d rejected %d skipped %d warnings %d in %v", filepath.Base(f), rep.SourceKind, rep.Found, rep.Imported, len(rep.Rejected), len(rep.Skipped), len(rep.Warnings), rep.Duration)
	}
	if n < 8 {
		t.Fatalf("only %d documents", n)
	}
}

func TestLiteralsAndFilter(t *testing.T) {
	m, err := Parse([]byte(sapDoc), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	pt := m.EntityTypes["ZBP.Partner"]
	f, err := m.buildFilter(pt, []any{
		map[string]any{"property": "Name", "op": "eq", "value": "O'Brien' or PartnerID ne 'x"},
		map[string]any{"property": "Revenue", "op": "gt", "value": 1000.5},
		map[string]any{"property": "Name", "op": "contains", "value": "GmbH"},
		map[string]any{"property": "PartnerID", "op": "in", "value": []any{"1", "2"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "Name eq 'O''Brien'' or PartnerID ne ''x' and Revenue gt 1000.5M and substringof('GmbH',Name) and (PartnerID eq '1' or PartnerID eq '2')"
	if f != want {
		t.Errorf("filter\n got %s\nwant %s", f, want)
	}
	// The quoted text parses back as one literal: the injection stayed data.
	ex, err := parseFilter(f, pt)
	if err != nil {
		t.Fatal(err)
	}
	rec := map[string]any{"Name": "O'Brien' or PartnerID ne 'x GmbH", "Revenue": "2000", "PartnerID": "1"}
	if ex.eval(rec) {
		t.Error("the injected name should not equal the whole value")
	}
	rec["Name"] = "O'Brien' or PartnerID ne 'x"
	if ex.eval(rec) {
		t.Error("contains GmbH should fail")
	}
	for _, bad := range []map[string]any{
		{"property": "Category", "value": "x"},                         // not filterable
		{"property": "Nope", "value": "x"},                             // unknown
		{"property": "Revenue", "value": "1 or 1 eq 1"},                // not a decimal
		{"property": "Revenue", "op": "contains", "value": "1"},        // contains on a number
		{"property": "Name", "op": "eq) or (1 eq 1", "value": "x"},     // unknown op
		{"property": "Created", "value": "2020-01-01T00:00:00' or '1"}, // not a date-time
	} {
		if _, err := m.buildFilter(pt, []any{bad}); err == nil {
			t.Errorf("%v: accepted", bad)
		}
	}
	for typ, cases := range map[string][][2]any{
		"Edm.Guid":           {{"0a1b2c3d-0000-0000-0000-000000000001", "guid'0a1b2c3d-0000-0000-0000-000000000001'"}},
		"Edm.DateTime":       {{"2024-05-01T10:00:00", "datetime'2024-05-01T10:00:00'"}},
		"Edm.Int64":          {{float64(42), "42L"}},
		"Edm.Boolean":        {{true, "true"}},
		"Edm.DateTimeOffset": {{"2024-05-01T10:00:00Z", "datetimeoffset'2024-05-01T10:00:00Z'"}},
	} {
		for _, c := range cases {
			got, err := m.Literal(typ, c[0])
			if err != nil || got != c[1] {
				t.Errorf("%s %v: %s %v", typ, c[0], got, err)
			}
		}
	}
	if k, err := m.keyPredicate(m.EntityTypes["ZBP.Address"], map[string]any{"PartnerID": "a/b", "AddressID": "1"}, ""); err != nil || k != "(PartnerID='a%2Fb',AddressID='1')" {
		t.Errorf("key %s %v", k, err)
	}
}

func TestBadDocuments(t *testing.T) {
	laughs := `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx"><x>&lol2;</x></edmx:Edmx>`
	external := `<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">&xxe;</edmx:Edmx>`
	deep := `<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">` + strings.Repeat("<Schema>", 100) + strings.Repeat("</Schema>", 100) + `</edmx:Edmx>`
	cases := map[string]struct {
		doc, code, says string
	}{
		"billion laughs": {laughs, weft.EInvalid, "DOCTYPE"},
		"external":       {external, weft.EInvalid, "DOCTYPE"},
		"malformed":      {`<edmx:Edmx Version="4.0"><DataServices>`, weft.EInvalid, "well-formed"},
		"not edmx":       {`<html><body/></html>`, weft.EInvalid, "not an OData"},
		"deep":           {deep, weft.EInvalid, "deeper"},
		"empty":          {``, weft.EInvalid, "empty"},
		"no schema":      {`<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx"><edmx:DataServices/></edmx:Edmx>`, weft.EInvalid, "no edmx:DataServices/Schema"},
		"json no ver":    {`{"a": 1}`, weft.EInvalid, "$Version"},
		"undefined ent":  {`<edmx:Edmx Version="4.0">&lol;</edmx:Edmx>`, weft.EInvalid, "well-formed"},
	}
	for name, c := range cases {
		_, err := Parse([]byte(c.doc), Limits{})
		if err == nil || weft.Code(err) != c.code || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %v (%s)", name, err, weft.Code(err))
		}
	}
	// A 50 MB document is refused by size before it is read.
	big := make([]byte, 50<<20)
	copy(big, `<edmx:Edmx Version="4.0">`)
	if _, err := Parse(big, Limits{}); weft.Code(err) != weft.ETooLarge {
		t.Errorf("50 MB: %v", err)
	}
	// Many elements: refused by count.
	many := `<edmx:Edmx Version="4.0">` + strings.Repeat("<a/>", 1000) + `</edmx:Edmx>`
	l := DefaultLimits
	l.MaxElements = 500
	if _, err := Parse([]byte(many), l); weft.Code(err) != weft.ETooLarge {
		t.Errorf("many: %v", err)
	}
}

// Recursive complex types and base-type cycles terminate.
func TestRecursiveTypes(t *testing.T) {
	doc := `<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx"><edmx:DataServices>
<Schema Namespace="R" xmlns="http://docs.oasis-open.org/odata/ns/edm">
 <ComplexType Name="Node"><Property Name="Label" Type="Edm.String"/><Property Name="Kids" Type="Collection(R.Node)"/><Property Name="Other" Type="R.Other"/></ComplexType>
 <ComplexType Name="Other"><Property Name="Back" Type="R.Node"/></ComplexType>
 <ComplexType Name="Loop1" BaseType="R.Loop2"/><ComplexType Name="Loop2" BaseType="R.Loop1"/>
 <EntityType Name="A" BaseType="R.B"><Key><PropertyRef Name="ID"/></Key><Property Name="ID" Type="Edm.Int32" Nullable="false"/><Property Name="Tree" Type="R.Node"/><Property Name="L" Type="R.Loop1"/></EntityType>
 <EntityType Name="B" BaseType="R.A"/>
 <EntityContainer Name="C"><EntitySet Name="As" EntityType="R.A"/></EntityContainer>
</Schema></edmx:DataServices></edmx:Edmx>`
	c, rep, err := Import("r", []byte(doc), request(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Warnings) == 0 {
		t.Error("a base-type cycle should warn")
	}
	if ops(c)["create_As"] == nil {
		t.Fatal(names(c))
	}
}

func httpRequestOp() *connectors.Operation { return httpconn.New(httpconn.Options{}).Operations[0] }

func TestV2WireValues(t *testing.T) {
	m, err := Parse([]byte(sapDoc), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	r := &runtime{m: m}
	pt := m.EntityTypes["ZBP.Partner"]
	for in, want := range map[any]any{"2024-05-01T10:00:00": "/Date(1714557600000)/", "2024-05-01": "/Date(1714521600000)/", "2024-05-01T12:00:00+02:00": "/Date(1714557600000)/", "/Date(5)/": "/Date(5)/"} {
		if got := r.wireValue(pt, "Created", in); got != want {
			t.Errorf("%v: %v, want %v", in, got, want)
		}
	}
	if got := r.wireValue(pt, "Revenue", 12.5); got != "12.5" {
		t.Errorf("decimal: %v", got)
	}
}

func TestImportJSONCSDL(t *testing.T) {
	ref := `"$Reference":{` + strings.Repeat(`"https://example.org/v`+`.json":{"$Include":[{"$Namespace":"X"}]},`, 200) + `"https://example.org/last.json":{}},`
	doc := `{"$Version":"4.0",` + ref + `"$EntityContainer":"S.C","S":{"Order":{"$Kind":"EntityType","$Key":["ID"],"ID":{"$Type":"Edm.Guid"},"Total":{"$Type":"Edm.Decimal"}},
"Ship":[{"$Kind":"Action","$IsBound":true,"$Parameter":[{"$Name":"o","$Type":"S.Order"},{"$Name":"carrier"}]}],
"C":{"$Kind":"EntityContainer","Orders":{"$Collection":true,"$Type":"S.Order","@Org.OData.Capabilities.V1.InsertRestrictions":{"Insertable":false}}}}}`
	if !Sniff([]byte(doc)) {
		t.Fatal("a JSON CSDL document with a long $Reference is not recognised")
	}
	c, rep, err := Import("s", []byte(doc), request(t))
	if err != nil {
		t.Fatal(err)
	}
	o := ops(c)
	if o["list_Orders"] == nil || o["Orders_Ship"] == nil || o["create_Orders"] != nil || rep.SourceKind != "odata-v4" {
		t.Fatalf("%v %+v", names(c), rep)
	}
}
