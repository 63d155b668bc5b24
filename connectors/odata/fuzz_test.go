package odata

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzImport: any input either parses into a model the importer can turn
// into operations, or is refused with an error; never a panic or a hang.
func FuzzImport(f *testing.F) {
	files, _ := filepath.Glob("testdata/real/*.edmx")
	files = append(files, "testdata/real/trippin_v4.xml")
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil && len(data) < 5_000 {
			f.Add(data)
		}
	}
	f.Add([]byte(sapDoc))
	if data, err := os.ReadFile("testdata/own/dataverse_shape.xml"); err == nil {
		f.Add(data) // references, referential constraints: the annotations in output schemas
	}
	f.Add([]byte(`{"$Version":"4.0","$Reference":{"u":{"$Include":[{"$Namespace":"OData.Community.Display.V1"}]}},"$EntityContainer":"N.C","N":{"T":{"$Kind":"EntityType","$HasStream":true,"$Key":["ID"],"ID":{"$Type":"Edm.Int32"},"FK":{"$Type":"Edm.Int32"},"Nav":{"$Kind":"NavigationProperty","$Type":"N.T","$ReferentialConstraint":{"FK":"ID"}},"Kids":{"$Kind":"NavigationProperty","$Type":"N.T","$Collection":true,"$ContainsTarget":true}},"C":{"$Kind":"EntityContainer","Ts":{"$Collection":true,"$Type":"N.T"}}}}`))
	f.Add([]byte(`{"$Version":"4.0","$EntityContainer":"N.C","N":{"T":{"$Kind":"EntityType","$Key":["ID"],"ID":{"$Type":"Edm.Int32"},"Nav":{"$Kind":"NavigationProperty","$Type":"N.T","$Collection":true}},"F":[{"$Kind":"Function","$IsBound":true,"$Parameter":[{"$Name":"b","$Type":"N.T"}],"$ReturnType":{"$Type":"Edm.String"}}],"C":{"$Kind":"EntityContainer","Ts":{"$Collection":true,"$Type":"N.T"},"Fi":{"$Function":"N.F"}}}}`))
	f.Add([]byte(`<!DOCTYPE x [<!ENTITY a "b">]><edmx:Edmx/>`))
	req := httpRequestOp()
	l := Limits{MaxBytes: 1 << 20, MaxDepth: 64, MaxElements: 20000, MaxAttrLen: 4096}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data, l)
		if err != nil {
			return
		}
		for _, et := range m.EntityTypes {
			_ = m.EntitySchema(et)
		}
		if _, _, err := Import("f", data, req); err != nil {
			t.Fatalf("parsed but did not import: %v", err)
		}
	})
}
