package odata

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// bigDoc is a v2 service shaped like a large SAP one: n entity sets of
// 40 properties, each with two navigation properties and a function import.
func bigDoc(n int) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?><edmx:Edmx Version="1.0" xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx" xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata" xmlns:sap="http://www.sap.com/Protocols/SAPData"><edmx:DataServices m:DataServiceVersion="2.0"><Schema Namespace="BIG" xmlns="http://schemas.microsoft.com/ado/2008/09/edm">`)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `<EntityType Name="E%d" sap:label="Entity %d"><Key><PropertyRef Name="ID"/></Key><Property Name="ID" Type="Edm.String" Nullable="false" MaxLength="10"/>`, i, i)
		for j := 0; j < 40; j++ {
			t := []string{"Edm.String", "Edm.Decimal", "Edm.DateTime", "Edm.Boolean", "Edm.Int32", "Edm.Guid"}[j%6]
			fmt.Fprintf(&b, `<Property Name="P%d" Type="%s" sap:label="Property %d"/>`, j, t, j)
		}
		fmt.Fprintf(&b, `<NavigationProperty Name="to_Next" Relationship="BIG.A%d" FromRole="F" ToRole="T"/><NavigationProperty Name="to_Items" Relationship="BIG.B%d" FromRole="F" ToRole="T"/></EntityType>`, i, i)
		fmt.Fprintf(&b, `<Association Name="A%d"><End Type="BIG.E%d" Multiplicity="1" Role="F"/><End Type="BIG.E%d" Multiplicity="0..1" Role="T"/></Association>`, i, i, (i+1)%n)
		fmt.Fprintf(&b, `<Association Name="B%d"><End Type="BIG.E%d" Multiplicity="1" Role="F"/><End Type="BIG.E%d" Multiplicity="*" Role="T"/></Association>`, i, i, (i+2)%n)
	}
	b.WriteString(`<EntityContainer Name="BIG_SRV" m:IsDefaultEntityContainer="true">`)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `<EntitySet Name="Set%d" EntityType="BIG.E%d"/>`, i, i)
		fmt.Fprintf(&b, `<FunctionImport Name="Release%d" ReturnType="BIG.E%d" EntitySet="Set%d" m:HttpMethod="POST"><Parameter Name="ID" Type="Edm.String" Mode="In"/></FunctionImport>`, i, i, i)
	}
	b.WriteString(`</EntityContainer></Schema></edmx:DataServices></edmx:Edmx>`)
	return []byte(b.String())
}

// BenchmarkImport: the synthetic service (1,200 operations) and each
// gathered real document.
func BenchmarkImport(b *testing.B) {
	docs := map[string][]byte{"synthetic_150_sets": bigDoc(150)}
	files, _ := filepath.Glob("testdata/real/*")
	for _, f := range files {
		if !strings.HasSuffix(f, ".md") {
			data, err := os.ReadFile(f)
			if err != nil {
				b.Fatal(err)
			}
			docs[filepath.Base(f)] = data
		}
	}
	req := httpRequestOp()
	for name, data := range docs {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			var ops int
			for i := 0; i < b.N; i++ {
				c, _, err := Import("x", data, req)
				if err != nil {
					b.Fatal(err)
				}
				ops = len(c.Operations)
			}
			b.ReportMetric(float64(ops), "ops")
			b.ReportMetric(float64(len(data)), "bytes")
		})
	}
}

func TestSyntheticImportSize(t *testing.T) {
	c, rep, err := Import("big", bigDoc(150), httpRequestOp())
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Operations) < 1000 || len(rep.Rejected) != 0 {
		t.Fatalf("%d operations, %d rejected", len(c.Operations), len(rep.Rejected))
	}
}
