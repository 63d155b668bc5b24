package csdl

import (
	"runtime"
	"strings"
	"testing"

	"github.com/weftio/weft"
)

const jsonDoc = `{"$Version":"4.01","$Reference":{"https://oasis-tcs.github.io/odata-vocabularies/vocabularies/Org.OData.Core.V1.json":{"$Include":[{"$Namespace":"Org.OData.Core.V1"}]}},
"$EntityContainer":"Shop.Container",
"Shop":{"$Alias":"S",
 "Kind":{"$Kind":"EnumType","Retail":0,"Wholesale":1},
 "Address":{"$Kind":"ComplexType","Street":{},"City":{"$Nullable":true}},
 "Base":{"$Kind":"EntityType","$Key":["ID"],"ID":{"$Type":"Edm.Int32"},"Modified":{"$Type":"Edm.DateTimeOffset","@Org.OData.Core.V1.Computed":true}},
 "Customer":{"$Kind":"EntityType","$BaseType":"S.Base","Name":{"$MaxLength":80},"Kind":{"$Type":"S.Kind"},"Home":{"$Type":"S.Address"},
   "Orders":{"$Kind":"NavigationProperty","$Type":"S.Order","$Collection":true}},
 "Order":{"$Kind":"EntityType","$Key":["OrderID"],"OrderID":{"$Type":"Edm.Guid"},"Total":{"$Type":"Edm.Decimal"}},
 "Ship":[{"$Kind":"Action","$IsBound":true,"$Parameter":[{"$Name":"order","$Type":"S.Order"},{"$Name":"carrier"}]}],
 "TopCustomers":[{"$Kind":"Function","$Parameter":[{"$Name":"n","$Type":"Edm.Int32"}],"$ReturnType":{"$Type":"S.Customer","$Collection":true}}],
 "Container":{"$Kind":"EntityContainer",
   "Customers":{"$Collection":true,"$Type":"S.Customer","@Org.OData.Capabilities.V1.DeleteRestrictions":{"Deletable":false}},
   "Orders":{"$Collection":true,"$Type":"S.Order"},
   "Me":{"$Type":"S.Customer"},
   "TopCustomers":{"$Function":"S.TopCustomers","$EntitySet":"Customers"}}}}`

func TestJSONCSDL(t *testing.T) {
	m, err := Parse([]byte(jsonDoc), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if m.V2() || len(m.EntitySets) != 2 || len(m.Singletons) != 1 {
		t.Fatalf("version %s, sets %d, singletons %d", m.Version, len(m.EntitySets), len(m.Singletons))
	}
	c := m.EntityTypes["Shop.Customer"]
	if c == nil || len(c.Key) != 1 || c.Key[0] != "ID" || c.Prop("Modified") == nil || !c.Prop("Modified").Computed {
		t.Fatalf("base type not merged: %+v", c)
	}
	if p := c.Prop("Name"); p == nil || p.Type != "Edm.String" || p.Nullable || p.MaxLength != "80" {
		t.Errorf("Name %+v", p)
	}
	if n := c.Nav("Orders"); n == nil || n.Target != "Shop.Order" || !n.Collection {
		t.Errorf("nav %+v", n)
	}
	for _, s := range m.EntitySets {
		if s.Name == "Customers" && s.Deletable {
			t.Error("DeleteRestrictions ignored")
		}
	}
	var bound, imported bool
	for _, f := range m.Callables {
		if f.Name == "Shop.Ship" && f.BoundTo == "Shop.Order" && len(f.Params) == 1 && f.Params[0].Type == "Edm.String" {
			bound = true
		}
		if f.Name == "TopCustomers" && f.Kind == "function" && f.Returns == "Collection(Shop.Customer)" && f.EntitySet == "Customers" {
			imported = true
		}
	}
	if !bound || !imported {
		t.Errorf("callables %+v", m.Callables)
	}
	if e := m.EnumTypes["Shop.Kind"]; e == nil || strings.Join(e.Members, ",") != "Retail,Wholesale" {
		t.Errorf("enum %+v", e)
	}
}

// A document at the size limit built to cost the most (every element one
// the reader keeps, up to the element limit) stays within a few hundred
// MB; elements the reader does not use are skipped without building anything.
func TestWorstCaseMemory(t *testing.T) {
	for _, c := range []struct {
		el    string
		maxMB int64
	}{{`<a x="1"/>`, 64}, {`<Property Name="x"/>`, 400}} {
		doc := []byte(`<edmx:Edmx Version="4.0">` + strings.Repeat(c.el, 30_000_000/len(c.el)) + `</edmx:Edmx>`)
		var a, b runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&a)
		_, err := Parse(doc, Limits{})
		runtime.ReadMemStats(&b)
		if weft.Code(err) != weft.ETooLarge {
			t.Errorf("%s: %v", c.el, err)
		}
		if grew := (int64(b.Sys) - int64(a.Sys)) >> 20; grew > c.maxMB {
			t.Errorf("%s: memory grew %d MB (limit %d)", c.el, grew, c.maxMB)
		}
	}
}
