package soap

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzImport: any bytes either import or fail with an error; never a
// panic or a hang. Seeds: every example WSDL and the hand-written ones.
func FuzzImport(f *testing.F) {
	files, _ := filepath.Glob("../../examples/wsdl/*/*.wsdl")
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil && len(data) < 16<<10 {
			f.Add(data)
		}
	}
	f.Add([]byte(encodedWSDL))
	f.Add([]byte(recursiveWSDL))
	f.Add([]byte(`<definitions xmlns="http://schemas.xmlsoap.org/wsdl/"/>`))
	req := request()
	f.Fuzz(func(t *testing.T, data []byte) {
		c, rep, err := Import("fz", data, req, Options{})
		if err != nil {
			return
		}
		if rep.Imported != len(c.Operations) {
			t.Fatalf("report says %d, connector has %d", rep.Imported, len(c.Operations))
		}
		for _, o := range c.Operations {
			_ = jsonString(o.Input)
		}
	})
}

// FuzzResponse: any response body decodes or fails cleanly, faults too.
func FuzzResponse(f *testing.F) {
	f.Add([]byte(`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><ns1:GetQuotesResponse xmlns:ns1="urn:Quotes"><quotes><item href="#a"/></quotes></ns1:GetQuotesResponse><multiRef id="a" href="#a"/></soapenv:Body></soapenv:Envelope>`))
	f.Add([]byte(`<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body><e:Fault><e:Code><e:Value>e:Sender</e:Value></e:Code><e:Reason><e:Text>x</e:Text></e:Reason><e:Detail><a>1</a></e:Detail></e:Fault></e:Body></e:Envelope>`))
	svc, _, err := compile("q", []byte(encodedWSDL), Options{})
	if err != nil {
		f.Fatal(err)
	}
	x := svc.ops[0]
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = x.fault(data)
		_, _, _ = x.decodeResponse(data, nil)
		_, _, _ = unpackMTOM("multipart/related; boundary=b", data)
	})
}
