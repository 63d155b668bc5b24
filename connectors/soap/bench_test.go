package soap

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// synthWSDL is a document/literal service of n operations over a shared
// schema (a customer with an address, orders with lines, enumerations,
// restrictions): the size of a large SAP or Oracle service.
func synthWSDL(n int) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:tns="urn:synth" targetNamespace="urn:synth" name="Synth">
<wsdl:types><xs:schema targetNamespace="urn:synth" elementFormDefault="qualified">
<xs:simpleType name="Status"><xs:restriction base="xs:string"><xs:enumeration value="OPEN"/><xs:enumeration value="CLOSED"/></xs:restriction></xs:simpleType>
<xs:simpleType name="Code"><xs:restriction base="xs:string"><xs:pattern value="[A-Z]{2}[0-9]{4}"/></xs:restriction></xs:simpleType>
<xs:complexType name="Address"><xs:sequence><xs:element name="street" type="xs:string"/><xs:element name="city" type="xs:string"/><xs:element name="country" type="xs:string" minOccurs="0"/></xs:sequence></xs:complexType>
<xs:complexType name="Line"><xs:sequence><xs:element name="sku" type="tns:Code"/><xs:element name="qty" type="xs:positiveInteger"/><xs:element name="price" type="xs:decimal"/></xs:sequence></xs:complexType>
<xs:complexType name="Order"><xs:sequence><xs:element name="id" type="xs:long"/><xs:element name="status" type="tns:Status"/><xs:element name="line" type="tns:Line" maxOccurs="unbounded"/><xs:element name="shipTo" type="tns:Address"/></xs:sequence><xs:attribute name="version" type="xs:int"/></xs:complexType>
<xs:complexType name="Customer"><xs:sequence><xs:element name="id" type="xs:long"/><xs:element name="name" type="xs:string"/><xs:element name="address" type="tns:Address" maxOccurs="3"/><xs:element name="order" type="tns:Order" minOccurs="0" maxOccurs="unbounded"/></xs:sequence></xs:complexType>
`)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `<xs:element name="Op%[1]d"><xs:complexType><xs:sequence><xs:element name="customer" type="tns:Customer"/><xs:element name="note%[1]d" type="xs:string" minOccurs="0"/></xs:sequence></xs:complexType></xs:element>
<xs:element name="Op%[1]dResponse"><xs:complexType><xs:sequence><xs:element name="order" type="tns:Order" maxOccurs="unbounded"/></xs:sequence></xs:complexType></xs:element>
`, i)
	}
	b.WriteString("</xs:schema></wsdl:types>\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `<wsdl:message name="Op%[1]dIn"><wsdl:part name="p" element="tns:Op%[1]d"/></wsdl:message><wsdl:message name="Op%[1]dOut"><wsdl:part name="p" element="tns:Op%[1]dResponse"/></wsdl:message>
`, i)
	}
	b.WriteString(`<wsdl:portType name="P">`)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `<wsdl:operation name="Op%[1]d"><wsdl:input message="tns:Op%[1]dIn"/><wsdl:output message="tns:Op%[1]dOut"/></wsdl:operation>`, i)
	}
	b.WriteString(`</wsdl:portType><wsdl:binding name="B" type="tns:P"><soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>`)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `<wsdl:operation name="Op%[1]d"><soap:operation soapAction="urn:synth#Op%[1]d"/><wsdl:input><soap:body use="literal"/></wsdl:input><wsdl:output><soap:body use="literal"/></wsdl:output></wsdl:operation>`, i)
	}
	b.WriteString(`</wsdl:binding><wsdl:service name="S"><wsdl:port name="SP" binding="tns:B"><soap:address location="https://synth.example.com/soap"/></wsdl:port></wsdl:service></wsdl:definitions>`)
	return []byte(b.String())
}

func TestSynthetic1000Operations(t *testing.T) {
	doc := synthWSDL(1000)
	c, rep, err := Import("synth", doc, request(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Found != 1000 || rep.Imported != 1000 || len(c.Operations) != 1000 || len(rep.Rejected) != 0 {
		t.Fatalf("found %d imported %d rejected %d", rep.Found, rep.Imported, len(rep.Rejected))
	}
	t.Logf("1,000 operations (%d KB) imported in %s", len(doc)>>10, rep.Duration)
}

// BenchmarkImport is the import report of BENCHMARKS.md: every gathered
// document (with the schemas beside it as its document set) and the
// synthetic 1,000-operation service.
func BenchmarkImport(b *testing.B) {
	docs := exampleFiles(b)
	names := make([]string, 0, len(docs))
	for f := range docs {
		names = append(names, f)
	}
	sort.Strings(names)
	run := func(label string, ex example) {
		b.Run(label, func(b *testing.B) {
			var rep *Report
			for i := 0; i < b.N; i++ {
				var err error
				if _, rep, err = Import("x", ex.wsdl, request(), Options{Files: ex.files}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(rep.Found), "found")
			b.ReportMetric(float64(rep.Imported), "imported")
			b.ReportMetric(float64(len(rep.Warnings)), "warnings")
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/import")
		})
	}
	for _, f := range names {
		run(filepath.Base(filepath.Dir(f))+"/"+filepath.Base(f), docs[f])
	}
	run("synthetic-1000-ops", example{wsdl: synthWSDL(1000)})
}
