package soap

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/connectors"
	httpconn "github.com/weftio/weft/connectors/http"
)

// handlerTransport serves requests with h in process (a test run's sandbox).
type handlerTransport struct {
	h    http.Handler
	last *http.Request
	body string
}

func (t *handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	if r.Body != nil {
		b := new(strings.Builder)
		buf := make([]byte, 32<<10)
		for {
			n, err := r.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		t.body = b.String()
		r.Body = http.NoBody
		r2 := r.Clone(r.Context())
		r2.Body = readCloser{strings.NewReader(t.body)}
		r = r2
	}
	t.last = r
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

type readCloser struct{ *strings.Reader }

func (readCloser) Close() error { return nil }

func request() *connectors.Operation {
	return httpconn.New(httpconn.Options{}).Operations[0]
}

// example is a WSDL of examples/wsdl with the schemas and WSDLs beside
// it (its document set).
type example struct {
	wsdl  []byte
	files map[string][]byte
}

func exampleFiles(t testing.TB) map[string]example {
	t.Helper()
	files, err := filepath.Glob("../../examples/wsdl/*/*.wsdl")
	if err != nil || len(files) == 0 {
		t.Fatalf("no example WSDLs: %v", err)
	}
	out := map[string]example{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ex := example{wsdl: b, files: map[string][]byte{}}
		xsds, _ := filepath.Glob(filepath.Join(filepath.Dir(f), "*.xsd"))
		wsdls, _ := filepath.Glob(filepath.Join(filepath.Dir(f), "*.wsdl"))
		for _, x := range append(xsds, wsdls...) {
			if x == f {
				continue
			}
			if ex.files[filepath.Base(x)], err = os.ReadFile(x); err != nil {
				t.Fatal(err)
			}
		}
		out[f] = ex
	}
	return out
}

func load(t *testing.T, file string) ([]byte, *connectors.Connector, *Sandbox) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := Import("svc", data, request(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	box, err := NewSandbox("svc", data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return data, c, box
}

func opNamed(t *testing.T, c *connectors.Connector, name string) *connectors.Operation {
	t.Helper()
	for _, o := range c.Operations {
		if o.Name == name {
			return o
		}
	}
	t.Fatalf("no operation %s in %s", name, c.Name)
	return nil
}

func call(o *connectors.Operation, tr http.RoundTripper, in map[string]any) (map[string]any, error) {
	conn := &connectors.Connection{Name: "c", Connector: "svc", BaseURL: "http://sandbox.test/svc", AllowPrivate: true}
	out, err := o.Invoke(context.Background(), connectors.Call{Input: in, Connection: conn, Transport: tr})
	if err != nil {
		return nil, err
	}
	return out.(map[string]any), nil
}

// Every example imports; every operation's schemas compile as JSON Schema.
func TestImportExamples(t *testing.T) {
	for f, ex := range exampleFiles(t) {
		c, rep, err := Import("svc", ex.wsdl, request(), Options{Files: ex.files})
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if rep.Imported == 0 || rep.Imported != len(c.Operations) || rep.Found < rep.Imported {
			t.Errorf("%s: found %d imported %d (ops %d)", f, rep.Found, rep.Imported, len(c.Operations))
		}
		for _, o := range c.Operations {
			if _, err := compileSchema(o.Input); err != nil {
				t.Errorf("%s %s: input schema: %v", f, o.Name, err)
			}
			if o.Output != nil {
				if _, err := compileSchema(o.Output); err != nil {
					t.Errorf("%s %s: output schema: %v", f, o.Name, err)
				}
			}
		}
	}
}

// Every operation of every example round-trips through its sandbox: an
// input generated from the input types is sent as an envelope, the
// sandbox reads it by the schema, and its answer decodes to JSON that
// satisfies the operation's output schema.
func TestSandboxRoundTripEveryOperation(t *testing.T) {
	n := 0
	for f, ex := range exampleFiles(t) {
		c, _, err := Import("svc", ex.wsdl, request(), Options{Files: ex.files})
		if err != nil {
			t.Fatal(err)
		}
		box, err := NewSandbox("svc", ex.wsdl, Options{Files: ex.files})
		if err != nil {
			t.Fatal(err)
		}
		tr := &handlerTransport{h: box}
		for i, o := range c.Operations {
			x := box.svc.ops[i]
			g := &generator{mem: map[string]any{}, seq: 1, epoch: time.Now()}
			var in any
			if x.inFlat {
				in = g.object(x.in[0].Type, x.in[0].Name, 0)
			} else {
				m := map[string]any{}
				for _, f := range x.in {
					if v, ok := g.field(f, 0); ok {
						m[f.JSON] = v
					}
				}
				in = m
			}
			out, err := call(o, tr, in.(map[string]any))
			if err != nil {
				t.Errorf("%s %s: %v\nrequest: %s", filepath.Base(f), o.Name, err, tr.body)
				continue
			}
			if o.Output != nil {
				sch, _ := compileSchema(o.Output)
				if err := validateWith(sch, out["body"]); err != nil {
					t.Errorf("%s %s: output does not fit its schema: %v (%v)", filepath.Base(f), o.Name, err, out["body"])
				}
			}
			n++
		}
	}
	t.Logf("%d operations round-tripped", n)
}

func TestEnvelopeOrderAndNamespaces(t *testing.T) {
	_, c, box := load(t, "../../examples/wsdl/cxf/CustomerService.wsdl")
	tr := &handlerTransport{h: box}
	o := opNamed(t, c, "updateCustomer")
	// Keys in an order unlike the schema's: the envelope follows the sequence.
	in := map[string]any{"customer": map[string]any{"type": "BUSINESS", "revenue": 12.5, "name": "Ada", "customerId": 7, "address": []any{"1 Main St", "Flat 2"}}}
	if _, err := call(o, tr, in); err != nil {
		t.Fatal(err)
	}
	b := tr.body
	want := []string{`<updateCustomer xmlns="http://customerservice.example.com/">`, `<customer xmlns="">`, `<customerId>7</customerId>`, `<name>Ada</name>`,
		`<address>1 Main St</address><address>Flat 2</address>`, `<revenue>12.5</revenue>`, `<type>BUSINESS</type>`}
	last := -1
	for _, w := range want {
		i := strings.Index(b, w)
		if i < 0 || i < last {
			t.Fatalf("envelope lacks %s in order:\n%s", w, b)
		}
		last = i
	}
	if got := tr.last.Header.Get("SOAPAction"); got != `""` {
		t.Errorf("SOAPAction = %q", got)
	}
	if ct := tr.last.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/xml") {
		t.Errorf("content type %q", ct)
	}
	// A value of the wrong type is refused before anything is sent.
	_, err := call(o, tr, map[string]any{"customer": map[string]any{"customerId": "seven", "revenue": 1}})
	var ce *connectors.Error
	if !errors.As(err, &ce) || ce.Class != connectors.Permanent || !strings.Contains(ce.Message, "customerId") {
		t.Fatalf("bad input: %v", err)
	}
}

// The sandbox remembers what it was sent: a customer updated is found by name.
func TestSandboxIsStateful(t *testing.T) {
	_, c, box := load(t, "../../examples/wsdl/cxf/CustomerService.wsdl")
	tr := &handlerTransport{h: box}
	if _, err := call(opNamed(t, c, "updateCustomer"), tr, map[string]any{"customer": map[string]any{"customerId": 42, "name": "Grace", "revenue": 99.5, "type": "PRIVATE"}}); err != nil {
		t.Fatal(err)
	}
	out, err := call(opNamed(t, c, "getCustomersByName"), tr, map[string]any{"name": "Grace"})
	if err != nil {
		t.Fatal(err)
	}
	body := out["body"].(map[string]any)
	list, ok := body["return"].([]any)
	if !ok || len(list) == 0 {
		t.Fatalf("return is not a list: %v", body)
	}
	cust := list[0].(map[string]any)
	if cust["customerId"] != int64(42) || cust["name"] != "Grace" || cust["revenue"] != 99.5 || cust["type"] != "PRIVATE" {
		t.Fatalf("customer not remembered: %v", cust)
	}
	// Another name: not that record.
	out, err = call(opNamed(t, c, "getCustomersByName"), tr, map[string]any{"name": "Linus"})
	if err != nil {
		t.Fatal(err)
	}
	cust = out["body"].(map[string]any)["return"].([]any)[0].(map[string]any)
	if cust["name"] != "Linus" || cust["customerId"] == int64(42) {
		t.Fatalf("unrelated record recalled: %v", cust)
	}
}

func TestFaultsBecomeClassifiedErrors(t *testing.T) {
	for _, tc := range []struct {
		file, op, code string
		class          string
		wantCode       string
		status         int
	}{
		{"../../examples/wsdl/cxf/CustomerService.wsdl", "getCustomersByName", "Client", connectors.Permanent, "Client", 500},
		{"../../examples/wsdl/cxf/CustomerService.wsdl", "getCustomersByName", "Server", connectors.Retryable, "Server", 500},
		{"../../examples/wsdl/cxf/hello_world_soap12.wsdl", "greetMe", "Client", connectors.Permanent, "Sender", 400},
		{"../../examples/wsdl/cxf/hello_world_soap12.wsdl", "greetMe", "Server", connectors.Retryable, "Receiver", 500},
	} {
		_, c, box := load(t, tc.file)
		tr := &handlerTransport{h: box}
		if err := box.FailNext(tc.op, tc.code, "it went wrong <badly>"); err != nil {
			t.Fatal(err)
		}
		in := map[string]any{}
		if tc.op == "greetMe" {
			in = map[string]any{"requestType": "Ada"}
		}
		_, err := call(opNamed(t, c, tc.op), tr, in)
		var ce *connectors.Error
		if !errors.As(err, &ce) {
			t.Fatalf("%s %s: no connector error: %v", tc.file, tc.code, err)
		}
		class, _ := connectors.Classify(err)
		body := ce.Body.(map[string]any)
		if class != tc.class || ce.Class != tc.class || body["code"] != tc.wantCode || body["reason"] != "it went wrong <badly>" || body["http_status"] != tc.status {
			t.Errorf("%s %s: class %s/%s body %v msg %q", filepath.Base(tc.file), tc.code, class, ce.Class, body, ce.Message)
		}
		// The fault is used up: the next call succeeds.
		if _, err := call(opNamed(t, c, tc.op), tr, in); err != nil {
			t.Errorf("after the fault: %v", err)
		}
	}
}

func TestFaultDetailTypedByWSDL(t *testing.T) {
	_, c, _ := load(t, "../../examples/wsdl/cxf/CustomerService.wsdl")
	fault := `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault><faultcode>soap:Client.NotFound</faultcode>
<faultstring>no such customer</faultstring><detail><ns2:NoSuchCustomer xmlns:ns2="http://customerservice.example.com/"><customerName>Bob</customerName></ns2:NoSuchCustomer></detail></soap:Fault></soap:Body></soap:Envelope>`
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(500)
		_, _ = w.Write([]byte(fault))
	})
	_, err := call(opNamed(t, c, "getCustomersByName"), &handlerTransport{h: h}, map[string]any{"name": "Bob"})
	var ce *connectors.Error
	if !errors.As(err, &ce) || ce.Class != connectors.Permanent {
		t.Fatalf("%v", err)
	}
	det := ce.Body.(map[string]any)["detail"].(map[string]any)
	if det["NoSuchCustomer"].(map[string]any)["customerName"] != "Bob" || !strings.Contains(ce.Message, "no such customer") {
		t.Fatalf("detail %v message %q", det, ce.Message)
	}
}

func TestWSSecurityUsernameToken(t *testing.T) {
	_, c, box := load(t, "../../examples/wsdl/cxf/hello_world_soap12.wsdl")
	tr := &handlerTransport{h: box}
	o := opNamed(t, c, "greetMe")
	for _, typ := range []string{"PasswordText", "PasswordDigest"} {
		conn := &connectors.Connection{Name: "c", Connector: "svc", BaseURL: "http://sandbox.test/svc", AllowPrivate: true,
			Config: map[string]any{"wsse_username": "alice", "wsse_password_type": typ}, Secrets: map[string]string{"wsse_password": "s3cret-pw"}}
		if err := checkConnection(conn); err != nil {
			t.Fatal(err)
		}
		if _, err := o.Invoke(context.Background(), connectors.Call{Input: map[string]any{"requestType": "x"}, Connection: conn, Transport: tr}); err != nil {
			t.Fatal(err)
		}
		env := tr.body
		if !strings.Contains(env, `<wsse:Username>alice</wsse:Username>`) || !strings.Contains(env, `soapenv:mustUnderstand="true"`) {
			t.Fatalf("%s: no token: %s", typ, env)
		}
		if typ == "PasswordText" && !strings.Contains(env, `#PasswordText">s3cret-pw</wsse:Password>`) {
			t.Fatalf("text password missing: %s", env)
		}
		if typ == "PasswordDigest" {
			if strings.Contains(env, "s3cret-pw") {
				t.Fatal("digest mode sent the password")
			}
			nonce := between(env, `#Base64Binary">`, `</wsse:Nonce>`)
			created := between(env, `<wsu:Created>`, `</wsu:Created>`)
			raw, err := base64.StdEncoding.DecodeString(nonce)
			if err != nil || len(raw) != 16 {
				t.Fatalf("nonce %q", nonce)
			}
			h := sha1.Sum(append(append(raw, created...), "s3cret-pw"...))
			if got := between(env, `#PasswordDigest">`, `</wsse:Password>`); got != base64.StdEncoding.EncodeToString(h[:]) {
				t.Fatalf("digest %q", got)
			}
		}
	}
	// Credentials with no base_url are refused (they would go wherever the WSDL says).
	bad := &connectors.Connection{Name: "c", Connector: "svc", Config: map[string]any{"wsse_username": "alice"}, Secrets: map[string]string{"wsse_password": "s3cret-pw"}}
	if err := checkConnection(bad); err == nil {
		t.Fatal("a connection with credentials and no base_url was accepted")
	}
	_, err := o.Invoke(context.Background(), connectors.Call{Input: map[string]any{"requestType": "x"}, Connection: bad, Transport: tr})
	if err == nil || strings.Contains(err.Error(), "s3cret-pw") {
		t.Fatalf("err %v", err)
	}
	// A fault quoting the request does not carry the password into the error message.
	bad.BaseURL = "http://sandbox.test/svc"
	bad.Config["wsse_password_type"] = "Nope"
	if err := checkConnection(bad); err == nil {
		t.Fatal("unknown password type accepted")
	}
}

func between(s, a, b string) string {
	i := strings.Index(s, a)
	if i < 0 {
		return ""
	}
	s = s[i+len(a):]
	j := strings.Index(s, b)
	if j < 0 {
		return ""
	}
	return s[:j]
}

func TestRPCStyles(t *testing.T) {
	_, c, box := load(t, "../../examples/wsdl/cxf/hello_world_RPCLit.wsdl")
	tr := &handlerTransport{h: box}
	out, err := call(opNamed(t, c, "greetMe"), tr, map[string]any{"in": "Ada"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tr.body, `<greetMe xmlns="http://apache.org/hello_world_rpclit"><in xmlns="">Ada</in></greetMe>`) {
		t.Fatalf("rpc/literal envelope: %s", tr.body)
	}
	if _, ok := out["body"].(map[string]any)["out"].(string); !ok {
		t.Fatalf("rpc output %v", out["body"])
	}
}

const encodedWSDL = `<?xml version="1.0"?>
<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:xsd="http://www.w3.org/2001/XMLSchema"
 xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:tns="urn:Quotes" targetNamespace="urn:Quotes" name="Quotes">
 <types><xsd:schema targetNamespace="urn:Quotes">
  <xsd:complexType name="Quote"><xsd:all><xsd:element name="symbol" type="xsd:string"/><xsd:element name="price" type="xsd:double"/></xsd:all></xsd:complexType>
  <xsd:complexType name="QuoteArray"><xsd:complexContent><xsd:restriction base="soapenc:Array">
   <xsd:attribute ref="soapenc:arrayType" wsdl:arrayType="tns:Quote[]"/></xsd:restriction></xsd:complexContent></xsd:complexType>
 </xsd:schema></types>
 <message name="GetQuotesRequest"><part name="symbols" type="xsd:string"/><part name="limit" type="xsd:int"/></message>
 <message name="GetQuotesResponse"><part name="quotes" type="tns:QuoteArray"/></message>
 <portType name="QuotesPort"><operation name="GetQuotes"><input message="tns:GetQuotesRequest"/><output message="tns:GetQuotesResponse"/></operation></portType>
 <binding name="QuotesBinding" type="tns:QuotesPort"><soap:binding style="rpc" transport="http://schemas.xmlsoap.org/soap/http"/>
  <operation name="GetQuotes"><soap:operation soapAction="urn:Quotes#GetQuotes"/>
   <input><soap:body use="encoded" namespace="urn:Quotes" encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"/></input>
   <output><soap:body use="encoded" namespace="urn:Quotes" encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"/></output></operation></binding>
 <service name="Quotes"><port name="QuotesPort" binding="tns:QuotesBinding"><soap:address location="http://quotes.example.com/soap"/></port></service>
</definitions>`

func TestRPCEncodedArraysAndMultiRefs(t *testing.T) {
	c, rep, err := Import("quotes", []byte(encodedWSDL), request(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.BaseURL != "http://quotes.example.com/soap" || rep.Imported != 1 {
		t.Fatalf("report %+v", rep)
	}
	o := c.Operations[0]
	if o.Output["properties"].(map[string]any)["quotes"].(map[string]any)["type"] != "array" {
		t.Fatalf("output schema %v", o.Output)
	}
	resp := `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/">
<soapenv:Body><ns1:GetQuotesResponse xmlns:ns1="urn:Quotes" soapenv:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">
<quotes soapenc:arrayType="ns1:Quote[2]" xsi:type="soapenc:Array"><item href="#id0"/><item><symbol>IBM</symbol><price>140.5</price></item></quotes>
</ns1:GetQuotesResponse><multiRef id="id0" xsi:type="ns1:Quote" xmlns:ns1="urn:Quotes"><symbol>SAP</symbol><price>120</price></multiRef></soapenv:Body></soapenv:Envelope>`
	var sent string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		_, _ = w.Write([]byte(resp))
	})
	tr := &handlerTransport{h: h}
	out, err := call(o, tr, map[string]any{"symbols": "SAP IBM", "limit": 2})
	if err != nil {
		t.Fatal(err)
	}
	sent = tr.body
	if !strings.Contains(sent, `<GetQuotes xmlns="urn:Quotes" soapenv:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><symbols xmlns="" xsi:type="xsd:string">SAP IBM</symbols><limit xmlns="" xsi:type="xsd:int">2</limit></GetQuotes>`) {
		t.Fatalf("rpc/encoded request: %s", sent)
	}
	if tr.last.Header.Get("SOAPAction") != `"urn:Quotes#GetQuotes"` {
		t.Fatalf("action %q", tr.last.Header.Get("SOAPAction"))
	}
	quotes := out["body"].(map[string]any)["quotes"].([]any)
	if len(quotes) != 2 || quotes[0].(map[string]any)["symbol"] != "SAP" || quotes[0].(map[string]any)["price"] != 120.0 || quotes[1].(map[string]any)["price"] != 140.5 {
		t.Fatalf("quotes %v", quotes)
	}
}

const recursiveWSDL = `<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:tns="urn:t" targetNamespace="urn:t">
<types><xs:schema targetNamespace="urn:t" elementFormDefault="qualified">
 <xs:complexType name="Node"><xs:sequence><xs:element name="name" type="xs:string"/><xs:element name="child" type="tns:Node" minOccurs="0" maxOccurs="unbounded"/>
  <xs:group ref="tns:g"/></xs:sequence></xs:complexType>
 <xs:group name="g"><xs:sequence><xs:element name="x" type="xs:string" minOccurs="0"/><xs:group ref="tns:g"/></xs:sequence></xs:group>
 <xs:element name="Tree"><xs:complexType><xs:sequence><xs:element ref="tns:Tree" minOccurs="0"/><xs:element name="root" type="tns:Node"/></xs:sequence></xs:complexType></xs:element>
 <xs:complexType name="A"><xs:complexContent><xs:extension base="tns:B"/></xs:complexContent></xs:complexType>
 <xs:complexType name="B"><xs:complexContent><xs:extension base="tns:A"><xs:sequence><xs:element name="b" type="xs:int"/></xs:sequence></xs:extension></xs:complexContent></xs:complexType>
 <xs:element name="Loop" type="tns:A"/>
</xs:schema></types>
<message name="in"><part name="p" element="tns:Tree"/></message><message name="in2"><part name="p" element="tns:Loop"/></message>
<portType name="P"><operation name="Put"><input message="tns:in"/><output message="tns:in"/></operation><operation name="Loop"><input message="tns:in2"/></operation></portType>
<binding name="B" type="tns:P"><soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
<operation name="Put"><soap:operation soapAction=""/><input><soap:body use="literal"/></input><output><soap:body use="literal"/></output></operation>
<operation name="Loop"><input><soap:body use="literal"/></input></operation></binding></definitions>`

func TestRecursiveTypesTerminate(t *testing.T) {
	c, rep, err := Import("rec", []byte(recursiveWSDL), request(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Imported != 2 {
		t.Fatalf("report %+v", rep)
	}
	in := opNamed(t, c, "Put").Input
	if !strings.Contains(jsonString(in), "recursive") {
		t.Fatalf("no recursion note: %s", jsonString(in))
	}
	// It round-trips through its sandbox (nested values decode by type).
	box, err := NewSandbox("rec", []byte(recursiveWSDL), Options{})
	if err != nil {
		t.Fatal(err)
	}
	tr := &handlerTransport{h: box}
	out, err := call(opNamed(t, c, "Put"), tr, map[string]any{"root": map[string]any{"name": "a", "child": []any{map[string]any{"name": "b", "child": []any{map[string]any{"name": "c"}}}}}})
	if err != nil {
		t.Fatalf("%v\n%s", err, tr.body)
	}
	if !strings.Contains(tr.body, `<Tree xmlns="urn:t"><root><name>a</name><child><name>b</name><child><name>c</name></child></child></root></Tree>`) {
		t.Fatalf("envelope %s", tr.body)
	}
	if out["body"].(map[string]any)["root"] == nil {
		t.Fatalf("output %v", out)
	}
}

func TestBadDocuments(t *testing.T) {
	bomb := `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><definitions xmlns="http://schemas.xmlsoap.org/wsdl/">&lol2;</definitions>`
	external := `<?xml version="1.0"?><!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><definitions xmlns="http://schemas.xmlsoap.org/wsdl/">&xxe;</definitions>`
	deep := `<definitions xmlns="http://schemas.xmlsoap.org/wsdl/">` + strings.Repeat("<a>", 1000) + strings.Repeat("</a>", 1000) + `</definitions>`
	wsdl2 := `<description xmlns="http://www.w3.org/ns/wsdl" targetNamespace="urn:x"/>`
	cases := map[string]struct {
		doc  string
		code string
		want string
	}{
		"entity bomb":     {bomb, weft.EInvalid, "DOCTYPE"},
		"external entity": {external, weft.EInvalid, "DOCTYPE"},
		"malformed":       {`<definitions xmlns="http://schemas.xmlsoap.org/wsdl/"><message></definitions>`, weft.EInvalid, "well-formed"},
		"deep":            {deep, weft.EInvalid, "deeper"},
		"wsdl 2.0":        {wsdl2, weft.EUnprocessable, "WSDL 2.0"},
		"not wsdl":        {`<html><body/></html>`, weft.EInvalid, "not a WSDL"},
		"schema only":     {`<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"/>`, weft.EInvalid, "XML Schema"},
		"empty":           {``, weft.EInvalid, "no root"},
		"undeclared":      {`<a:definitions/>`, weft.EInvalid, ""},
	}
	for name, tc := range cases {
		_, _, err := Import("bad", []byte(tc.doc), request(), Options{})
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if tc.want != "" && (!strings.Contains(err.Error(), tc.want) || weft.Code(err) != tc.code) {
			t.Errorf("%s: %v (code %s)", name, err, weft.Code(err))
		}
		if strings.Contains(err.Error(), "root:") {
			t.Errorf("%s: leaked a file: %v", name, err)
		}
	}
	// 50 MB: refused by size before parsing, quickly.
	big := make([]byte, 50<<20)
	copy(big, `<definitions xmlns="http://schemas.xmlsoap.org/wsdl/">`)
	start := time.Now()
	_, _, err := Import("big", big, request(), Options{})
	if err == nil || weft.Code(err) != weft.ETooLarge || time.Since(start) > time.Second {
		t.Fatalf("50 MB: %v in %s", err, time.Since(start))
	}
	// Many elements within the size limit: the element budget stops it.
	many := `<definitions xmlns="http://schemas.xmlsoap.org/wsdl/">` + strings.Repeat("<a/>", 600000) + `</definitions>`
	_, _, err = Import("many", []byte(many), request(), Options{})
	if err == nil || weft.Code(err) != weft.ETooLarge {
		t.Fatalf("many elements: %v", err)
	}
	// An external schema is never fetched: a warning, and its types are open.
	ext := strings.Replace(recursiveWSDL, `<types><xs:schema targetNamespace="urn:t" elementFormDefault="qualified">`,
		`<types><xs:schema targetNamespace="urn:other"><xs:import namespace="urn:x" schemaLocation="http://127.0.0.1:1/x.xsd"/></xs:schema><xs:schema targetNamespace="urn:t" elementFormDefault="qualified">`, 1)
	_, rep, err := Import("ext", []byte(ext), request(), Options{})
	if err != nil || len(rep.Warnings) == 0 || !strings.Contains(strings.Join(rep.Warnings, "\n"), "not fetched") {
		t.Fatalf("external import: %v %+v", err, rep)
	}
	// ... unless it is in the document set.
	xsd := `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:x"><xs:simpleType name="Code"><xs:restriction base="xs:string"><xs:enumeration value="A"/></xs:restriction></xs:simpleType></xs:schema>`
	_, rep, err = Import("ext", []byte(ext), request(), Options{Files: map[string][]byte{"x.xsd": []byte(xsd)}})
	if err != nil || strings.Contains(strings.Join(rep.Warnings, "\n"), "not fetched") || rep.Documents != 2 {
		t.Fatalf("document set: %v %+v", err, rep)
	}
}

func TestIsWSDL(t *testing.T) {
	if !IsWSDL([]byte("\xef\xbb\xbf  <?xml version='1.0'?><definitions/>")) || IsWSDL([]byte(`{"openapi":"3.0.0"}`)) || IsWSDL([]byte("openapi: 3.0.0")) {
		t.Fatal("IsWSDL")
	}
}

func TestRegister(t *testing.T) {
	cat := connectors.NewCatalog(httpconn.New(httpconn.Options{}))
	data, _ := os.ReadFile("../../examples/wsdl/cxf/CustomerService.wsdl")
	rep, err := Register(cat, "customers", data)
	if err != nil || rep.Imported != 2 {
		t.Fatalf("%v %+v", err, rep)
	}
	op, ok := cat.Operation("customers.getCustomersByName")
	if !ok || !op.Hints.ReadOnly {
		t.Fatalf("catalog op %v", op)
	}
	hits := cat.Search("find customers by name", 3)
	if len(hits) == 0 || hits[0].Operation != "customers.getCustomersByName" {
		t.Fatalf("search %v", hits)
	}
	if _, err := Register(cat, "http", data); err == nil {
		t.Fatal("replaced http")
	}
	if err := cat.AddConnection(&connectors.Connection{Name: "c", Connector: "customers", Config: map[string]any{"wsse_username": "u"}}); err == nil {
		t.Fatal("connection with credentials and no base_url accepted")
	}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// A WSDL that imports another (ONVIF's deviceio imports devicemgmt for
// shared messages) takes the definitions it needs from the document set
// but imports only its own bindings; without the set, the operations
// whose messages live in the missing document are rejected, with reasons.
func TestWSDLImportFromDocumentSet(t *testing.T) {
	ex := exampleFiles(t)["../../examples/wsdl/onvif/deviceio.wsdl"]
	_, rep, err := Import("io", ex.wsdl, request(), Options{Files: ex.files})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Found != 29 || rep.Imported != 29 || rep.Documents != 3 {
		t.Fatalf("with the set: found %d imported %d documents %d", rep.Found, rep.Imported, rep.Documents)
	}
	_, rep, err = Import("io", ex.wsdl, request(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Found != 29 || rep.Imported != 27 || len(rep.Rejected) != 2 || !strings.Contains(rep.Rejected[0].Reason, "not defined in the document set") {
		t.Fatalf("alone: found %d imported %d rejected %v", rep.Found, rep.Imported, rep.Rejected)
	}
}

// An MTOM response (multipart/related with XOP includes) decodes as if
// its attachments were inline base64.
func TestMTOMResponse(t *testing.T) {
	_, c, _ := load(t, "../../examples/wsdl/cxf/mtom_xop.wsdl")
	pkg := "--MIMEBoundary\r\nContent-Type: application/xop+xml; charset=UTF-8; type=\"text/xml\"\r\nContent-ID: <root.message@cxf.apache.org>\r\n\r\n" +
		`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><testByteArrayResponse xmlns="http://cxf.apache.org/mime/types"><name>pic</name>` +
		`<attachinfo><xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" href="cid:att%401"/></attachinfo></testByteArrayResponse></soap:Body></soap:Envelope>` +
		"\r\n--MIMEBoundary\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <att@1>\r\n\r\n\x00\x01binary\xff\r\n--MIMEBoundary--\r\n"
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", `multipart/related; type="application/xop+xml"; boundary="MIMEBoundary"; start="<root.message@cxf.apache.org>"; start-info="text/xml"`)
		_, _ = w.Write([]byte(pkg))
	})
	out, err := call(opNamed(t, c, "testByteArray"), &handlerTransport{h: h}, map[string]any{"name": "pic", "attachinfo": base64.StdEncoding.EncodeToString([]byte("up"))})
	if err != nil {
		t.Fatal(err)
	}
	body := out["body"].(map[string]any)
	if body["name"] != "pic" || body["attachinfo"] != base64.StdEncoding.EncodeToString([]byte("\x00\x01binary\xff")) {
		t.Fatalf("body %v", body)
	}
}

// soap:header parts the binding declares are an input object of their
// own, sent as header blocks beside a WS-Security one.
func TestSOAPHeaderInput(t *testing.T) {
	_, c, box := load(t, "../../examples/wsdl/cxf/soap_header.wsdl")
	tr := &handlerTransport{h: box}
	o := opNamed(t, c, "inHeader")
	props := o.Input["properties"].(map[string]any)
	if _, ok := props["soap_header"].(map[string]any)["properties"].(map[string]any)["header_info"]; !ok {
		t.Fatalf("input schema %s", jsonString(o.Input))
	}
	in := map[string]any{"requestType": "hi", "soap_header": map[string]any{"header_info": map[string]any{"originator": "weft", "message": "m"}}}
	if _, err := call(o, tr, in); err != nil {
		t.Fatalf("%v\n%s", err, tr.body)
	}
	if !strings.Contains(tr.body, `<soapenv:Header><SOAPHeaderInfo xmlns="http://apache.org/headers">`) || !strings.Contains(tr.body, `<originator xmlns="">weft</originator>`) {
		t.Fatalf("envelope %s", tr.body)
	}
	if _, err := call(o, tr, map[string]any{"soap_header": map[string]any{"nope": 1}}); err == nil || !strings.Contains(err.Error(), "unknown header") {
		t.Fatalf("unknown header: %v", err)
	}
}

// A type with very many elements or attributes (an attack on the
// importer's time) imports within the limits, quickly.
func TestWideTypesAreBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString(`<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:tns="urn:w" targetNamespace="urn:w">
<types><xs:schema targetNamespace="urn:w"><xs:element name="Wide"><xs:complexType><xs:sequence>`)
	for i := 0; i < 150000; i++ {
		fmt.Fprintf(&b, `<xs:element name="e%d" type="xs:string"/>`, i%20000)
	}
	b.WriteString(`</xs:sequence>`)
	for i := 0; i < 100000; i++ {
		fmt.Fprintf(&b, `<xs:attribute name="a%d"/>`, i)
	}
	b.WriteString(`</xs:complexType></xs:element></xs:schema></types>
<message name="m"><part name="p" element="tns:Wide"/></message><portType name="P"><operation name="Op"><input message="tns:m"/></operation></portType>
<binding name="B" type="tns:P"><soap:binding style="document"/><operation name="Op"><input><soap:body use="literal"/></input></operation></binding></definitions>`)
	start := time.Now()
	c, _, err := Import("wide", []byte(b.String()), request(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("took %s", d)
	}
	props := c.Operations[0].Input["properties"].(map[string]any)
	if len(props) != maxFields*2 {
		t.Fatalf("%d properties", len(props))
	}
	t.Logf("%d KB in %s", b.Len()>>10, time.Since(start))
}

// Memory while parsing stays a small multiple of the document's size,
// whatever its shape: every element declaring a namespace under a root
// that declares 250, or text mixed between a million tags.
func TestParseMemoryBounded(t *testing.T) {
	var decl strings.Builder
	for i := 0; i < 250; i++ {
		fmt.Fprintf(&decl, ` xmlns:p%d="urn:%d"`, i, i)
	}
	for name, doc := range map[string]string{
		"namespaces": `<definitions xmlns="http://schemas.xmlsoap.org/wsdl/"` + decl.String() + `>` + strings.Repeat(`<documentation xmlns:a="urn:aaaaaaaaaaaa">xxxxxxxx</documentation>`, 240000) + `</definitions>`,
		"mixed":      `<definitions xmlns="http://schemas.xmlsoap.org/wsdl/">` + strings.Repeat("xxxxxxxxxxxxxxxxxxxxxxxxxxxx<b/>", 450000) + `</definitions>`,
	} {
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		n, err := parseXML("x", []byte(doc), DefaultLimits)
		if err != nil {
			t.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&m1)
		held, churn := int64(m1.HeapInuse)-int64(m0.HeapInuse), m1.TotalAlloc-m0.TotalAlloc
		if held > 8*int64(len(doc)) || churn > 16*uint64(len(doc)) {
			t.Errorf("%s: %d MB document held %d MB, allocated %d MB", name, len(doc)>>20, held>>20, churn>>20)
		}
		runtime.KeepAlive(n)
	}
}

// rpc/encoded through the sandbox: the answer's soapenc:Array (typed
// items, xsi:type) decodes back to a list of objects.
func TestRPCEncodedSandboxRoundTrip(t *testing.T) {
	c, _, err := Import("quotes", []byte(encodedWSDL), request(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	box, err := NewSandbox("quotes", []byte(encodedWSDL), Options{})
	if err != nil {
		t.Fatal(err)
	}
	tr := &handlerTransport{h: box}
	out, err := call(c.Operations[0], tr, map[string]any{"symbols": "SAP", "limit": 1})
	if err != nil {
		t.Fatalf("%v\n%s", err, tr.body)
	}
	quotes, ok := out["body"].(map[string]any)["quotes"].([]any)
	if !ok || len(quotes) != 1 {
		t.Fatalf("quotes %v", out["body"])
	}
	q := quotes[0].(map[string]any)
	if _, ok := q["price"].(float64); !ok || q["symbol"] == nil {
		t.Fatalf("quote %v", q)
	}
}

// Bundle copies the schemas a WSDL imports into it: the one document then
// imports over the API with every type defined, as the set did.
func TestBundle(t *testing.T) {
	ex := exampleFiles(t)["../../examples/wsdl/onvif/ptz.wsdl"]
	_, withSet, err := Import("ptz", ex.wsdl, request(), Options{Files: ex.files})
	if err != nil {
		t.Fatal(err)
	}
	_, alone, err := Import("ptz", ex.wsdl, request(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	bundled, left, err := Bundle(ex.wsdl, ex.files)
	if err != nil || len(left) != 0 {
		t.Fatalf("%v %v", err, left)
	}
	c, rep, err := Import("ptz", bundled, request(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Imported != withSet.Imported || len(rep.Warnings) > len(withSet.Warnings) || len(alone.Warnings) <= len(withSet.Warnings) {
		t.Fatalf("bundled: %d ops, warnings %v; with the set %d, %v; alone %v", rep.Imported, rep.Warnings, withSet.Imported, withSet.Warnings, alone.Warnings)
	}
	if strings.Contains(strings.Join(rep.Warnings, "\n"), "onvif.xsd is not in the document set") {
		t.Fatalf("warnings %v", rep.Warnings)
	}
	// The same schemas as with the set: a type from onvif.xsd is typed.
	in := jsonString(opNamed(t, c, "ContinuousMove").Input)
	if !strings.Contains(in, `"PanTilt"`) || !strings.Contains(in, `"x"`) {
		t.Fatalf("input %s", in)
	}
	// A WSDL that imports another WSDL says what it could not take in.
	io := exampleFiles(t)["../../examples/wsdl/onvif/deviceio.wsdl"]
	if _, left, err := Bundle(io.wsdl, io.files); err != nil || len(left) != 1 || !strings.Contains(left[0], "devicemgmt.wsdl") {
		t.Fatalf("deviceio: %v %v", err, left)
	}
	// Nothing to take in: the document comes back as is.
	plain, _ := os.ReadFile("../../examples/wsdl/cxf/CustomerService.wsdl")
	if b, _, err := Bundle(plain, nil); err != nil || string(b) != string(plain) {
		t.Fatal("a self-contained WSDL changed")
	}
}

// With connection config mtom: true, base64Binary inputs travel as MTOM
// attachments (XOP includes in a multipart/related package, the bytes
// unencoded); the sandbox reads such a request as if the values were
// inline. Without it they stay inline base64.
func TestMTOMRequest(t *testing.T) {
	_, c, box := load(t, "../../examples/wsdl/cxf/mtom_xop.wsdl")
	tr := &handlerTransport{h: box}
	o := opNamed(t, c, "testByteArray")
	raw := "\x00\x01binary\xff"
	in := map[string]any{"name": "pic", "attachinfo": base64.StdEncoding.EncodeToString([]byte(raw))}
	conn := &connectors.Connection{Name: "c", Connector: "svc", BaseURL: "http://sandbox.test/svc", AllowPrivate: true, Config: map[string]any{"mtom": true}}
	out, err := o.Invoke(context.Background(), connectors.Call{Input: in, Connection: conn, Transport: tr})
	if err != nil {
		t.Fatalf("%v\n%s", err, tr.body)
	}
	ct := tr.last.Header.Get("Content-Type")
	mt, params, _ := mime.ParseMediaType(ct)
	if mt != "multipart/related" || params["type"] != "application/xop+xml" || params["start-info"] != "text/xml" || tr.last.Header.Get("SOAPAction") == "" {
		t.Fatalf("content type %q, SOAPAction %q", ct, tr.last.Header.Get("SOAPAction"))
	}
	if !strings.Contains(tr.body, `<xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" href="cid:part1@weft"/></attachinfo>`) ||
		!strings.Contains(tr.body, "Content-Id: <part1@weft>") || !strings.Contains(tr.body, "\r\n\r\n"+raw+"\r\n--") || strings.Contains(tr.body, in["attachinfo"].(string)) {
		t.Fatalf("package:\n%q", tr.body)
	}
	pkgBody, pkgType := tr.body, ct
	if m := out.(map[string]any); m["status"] != int64(200) {
		t.Fatalf("answer %v", m)
	}
	// Inline without the config.
	if _, err := call(o, tr, in); err != nil || !strings.Contains(tr.body, in["attachinfo"].(string)) || strings.Contains(tr.last.Header.Get("Content-Type"), "multipart") {
		t.Fatalf("inline: %v %q", err, tr.last.Header.Get("Content-Type"))
	}
	if _, err := o.Invoke(context.Background(), connectors.Call{Input: map[string]any{"name": "pic", "attachinfo": "not base64!"}, Connection: conn, Transport: tr}); err == nil {
		t.Error("a value that is not base64 was sent")
	}
	// A package naming an attachment it lacks is a Client fault of the sandbox.
	pkg := strings.Replace(pkgBody, "cid:part1@weft", "cid:part9@weft", 1)
	req := httptest.NewRequest("POST", "/svc", strings.NewReader(pkg))
	req.Header.Set("Content-Type", pkgType)
	rec := httptest.NewRecorder()
	box.ServeHTTP(rec, req)
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), "no attachment") {
		t.Fatalf("missing attachment: %d %s", rec.Code, rec.Body.String())
	}
}
