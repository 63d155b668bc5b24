package csdl

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/weftio/weft"
)

// FuzzParse: any input parses or is refused with a coded error (invalid
// or too_large); never a panic, a hang or unbounded memory.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("../testdata/real/*")
	own, _ := filepath.Glob("../testdata/own/*.xml")
	for _, p := range append(files, own...) {
		if data, err := os.ReadFile(p); err == nil && len(data) < 5_000 { // larger seeds make the fuzzer spend its time minimising
			f.Add(data)
		}
	}
	f.Add([]byte(`<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx"><edmx:DataServices><Schema Namespace="R" Alias="A" xmlns="http://docs.oasis-open.org/odata/ns/edm"><ComplexType Name="N" BaseType="A.N"><Property Name="K" Type="Collection(A.N)"/></ComplexType><EntityType Name="E" BaseType="R.F"><Key><PropertyRef Name="ID"/></Key><Property Name="ID" Type="Edm.Int32"/><NavigationProperty Name="X" Type="Collection(R.E)"/></EntityType><EntityType Name="F" BaseType="R.E"/><Function Name="G" IsBound="true"><Parameter Name="b" Type="R.E"/><ReturnType Type="Edm.String"/></Function><EntityContainer Name="C"><EntitySet Name="Es" EntityType="A.E"><Annotation Term="Org.OData.Capabilities.V1.InsertRestrictions"><Record><PropertyValue Property="Insertable" Bool="false"/></Record></Annotation></EntitySet><FunctionImport Name="GI" Function="R.G"/></EntityContainer></Schema></edmx:DataServices></edmx:Edmx>`))
	f.Add([]byte(`{"$Version":"4.0","$EntityContainer":"N.C","N":{"$Alias":"A","T":{"$Kind":"EntityType","$Key":["ID",{"k":"ID"}],"ID":{"$Type":"Edm.Int32","@Org.OData.Core.V1.Computed":true},"Nav":{"$Kind":"NavigationProperty","$Type":"A.T","$Collection":true}},"En":{"$Kind":"EnumType","a":0,"b":1},"F":[{"$Kind":"Function","$IsBound":true,"$Parameter":[{"$Name":"b","$Type":"N.T"}],"$ReturnType":{"$Type":"Edm.String"}}],"C":{"$Kind":"EntityContainer","Ts":{"$Collection":true,"$Type":"N.T","@Org.OData.Capabilities.V1.DeleteRestrictions":{"Deletable":false}},"Fi":{"$Function":"N.F"},"S":{"$Type":"N.T"}},"$Annotations":{"N.C/Ts":{"@Org.OData.Capabilities.V1.CountRestrictions":{"Countable":false}}}}}`))
	f.Add([]byte(`<!DOCTYPE x [<!ENTITY a "b">]><edmx:Edmx/>`))
	l := Limits{MaxBytes: 1 << 20, MaxDepth: 64, MaxElements: 20000, MaxAttrLen: 4096}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data, l)
		if err != nil {
			if c := weft.Code(err); c != weft.EInvalid && c != weft.ETooLarge {
				t.Fatalf("error without a clear code (%q): %v", c, err)
			}
			return
		}
		if len(m.EntitySets)+len(m.Singletons)+len(m.Callables) == 0 {
			t.Fatal("a model with nothing to call parsed")
		}
		for _, et := range m.EntityTypes {
			for _, n := range et.Navs {
				if len(n.Target) > 0 && n.Target[0] == '?' {
					t.Fatalf("unresolved navigation %s.%s", et.Name, n.Name)
				}
			}
		}
	})
}
