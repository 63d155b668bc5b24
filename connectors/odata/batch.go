package odata

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"sort"
	"strings"

	"github.com/weftio/weft/connectors"
)

// maxBatch bounds the requests of one $batch.
const maxBatch = 100

// captured is one request an operation would send, recorded instead of
// sent so that $batch can carry it.
type captured struct {
	method, path string
	query        map[string]any
	headers      map[string]any
	body         any
}

type captureKey struct{}

// capture runs op's Invoke with sending replaced by recording.
func capture(ctx context.Context, op *connectors.Operation, in map[string]any) (*captured, error) {
	var got []*captured
	ctx = context.WithValue(ctx, captureKey{}, &got)
	if _, err := op.Invoke(ctx, connectors.Call{Input: in}); err != nil {
		return nil, err
	}
	if len(got) != 1 {
		return nil, fmt.Errorf("%s cannot be batched", op.Name)
	}
	return got[0], nil
}

// rawBody is a non-JSON request body.
type rawBody struct {
	content, contentType string
	base64               bool // content is base64 (a media stream's bytes)
}

func boundary(prefix string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return prefix + "_" + hex.EncodeToString(b)
}

// batchOperation builds the connector's batch operation: several of its
// own operations' requests in one $batch; with atomic (the default) the
// changing ones form one change set that the service applies entirely
// or not at all.
func (b *builder) batchOperation() {
	byName := map[string]*connectors.Operation{}
	var names []any
	for _, o := range b.c.Operations {
		byName[o.Name] = o
		names = append(names, o.Name)
	}
	if len(names) == 0 {
		return
	}
	props := map[string]any{
		"requests": map[string]any{"type": "array", "minItems": 1, "maxItems": maxBatch, "description": "the operations to run, in order",
			"items": map[string]any{"type": "object", "required": []any{"operation"}, "additionalProperties": false, "properties": map[string]any{
				"operation": map[string]any{"type": "string", "description": "an operation of this connector (e.g. create_...)"},
				"input":     map[string]any{"type": "object", "description": "that operation's input"},
			}}},
		"atomic": map[string]any{"type": "boolean", "default": true, "description": "put the changing requests in one change set: all applied or none"},
	}
	o := &connectors.Operation{Name: b.name("batch"), Title: "Batch", Description: "Send several operations of this service in one OData $batch request; changing ones in one change set (all or nothing)",
		Input: input(props, []any{"requests"}), Output: map[string]any{"type": "object", "properties": map[string]any{"responses": map[string]any{"type": "array"}}},
		Hints: connectors.Hints{OpenWorld: true}, Tags: []string{"batch"}}
	r := b.rt
	o.Invoke = func(ctx context.Context, call connectors.Call) (any, error) {
		reqs, _ := call.Input["requests"].([]any)
		if len(reqs) == 0 || len(reqs) > maxBatch {
			return nil, perm(o.Name, "requests: 1 to %d operations", maxBatch)
		}
		atomic := true
		if a, ok := call.Input["atomic"].(bool); ok {
			atomic = a
		}
		var parts []*captured
		for i, x := range reqs {
			m, _ := x.(map[string]any)
			name, _ := m["operation"].(string)
			op := byName[name]
			if op == nil || op == o {
				return nil, perm(o.Name, "requests[%d]: %q is not an operation of this connector", i, name)
			}
			in, _ := m["input"].(map[string]any)
			if in == nil {
				in = map[string]any{}
			}
			if fa, _ := in["fetch_all"].(bool); fa {
				return nil, perm(o.Name, "requests[%d]: fetch_all cannot be batched", i)
			}
			c, err := capture(ctx, op, in)
			if err != nil {
				return nil, perm(o.Name, "requests[%d] (%s): %v", i, name, err)
			}
			if atomic && !changing(c.method) {
				return nil, perm(o.Name, "requests[%d] (%s) reads; an atomic batch holds only changes (set atomic: false)", i, name)
			}
			parts = append(parts, c)
		}
		outer := boundary("batch")
		var buf bytes.Buffer
		inner := boundary("changeset")
		if atomic {
			fmt.Fprintf(&buf, "--%s\r\nContent-Type: multipart/mixed; boundary=%s\r\n\r\n", outer, inner)
		}
		for i, p := range parts {
			if atomic {
				fmt.Fprintf(&buf, "--%s\r\n", inner)
			} else {
				fmt.Fprintf(&buf, "--%s\r\n", outer)
			}
			fmt.Fprintf(&buf, "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: %d\r\n\r\n", i+1)
			if err := r.writePart(&buf, p); err != nil {
				return nil, perm(o.Name, "requests[%d]: %v", i, err)
			}
		}
		if atomic {
			fmt.Fprintf(&buf, "--%s--\r\n", inner)
		}
		fmt.Fprintf(&buf, "--%s--\r\n", outer)
		out, err := r.do(ctx, call, o.Name, "POST", "/$batch", nil, rawBody{content: buf.String(), contentType: "multipart/mixed; boundary=" + outer}, nil)
		if err != nil {
			return nil, err
		}
		resps, err := r.readBatch(out)
		if err != nil {
			return nil, perm(o.Name, "%v", err)
		}
		for i, x := range resps {
			if st, _ := x["status"].(int); st >= 400 {
				code, text := odataError(x["body"])
				msg := fmt.Sprintf("%s: request %d failed with HTTP %d", o.Name, i+1, st)
				if atomic {
					msg = fmt.Sprintf("%s: the change set failed with HTTP %d", o.Name, st)
				}
				if text != "" {
					msg += ": OData error " + code + ": " + text
				}
				if atomic {
					msg += "; nothing in it was applied"
				}
				return nil, &connectors.Error{Class: connectors.StatusClass(st), Status: st, Message: msg, Body: x["body"]}
			}
		}
		list := make([]any, len(resps))
		for i, x := range resps {
			list[i] = x
		}
		return map[string]any{"status": out["status"], "body": map[string]any{"responses": list}}, nil
	}
	b.add(o)
}

// writePart writes one request as an application/http part.
func (r *runtime) writePart(w *bytes.Buffer, p *captured) error {
	u := strings.TrimPrefix(p.path, "/")
	if len(p.query) > 0 {
		v := url.Values{}
		for k, x := range p.query {
			v.Set(k, fmt.Sprint(x))
		}
		u += "?" + v.Encode()
	}
	method := p.method
	hs := map[string]string{}
	for k, v := range p.headers {
		hs[k] = fmt.Sprint(v)
	}
	if x, ok := hs["X-HTTP-Method"]; ok { // inside a batch the method is written out
		method = x
		delete(hs, "X-HTTP-Method")
	}
	fmt.Fprintf(w, "%s %s HTTP/1.1\r\n", method, u)
	var data []byte
	if p.body != nil {
		var err error
		if data, err = json.Marshal(p.body); err != nil {
			return err
		}
		hs["Content-Type"] = "application/json"
		hs["Content-Length"] = fmt.Sprint(len(data))
	}
	keys := make([]string, 0, len(hs))
	for k := range hs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if strings.ContainsAny(k+hs[k], "\r\n") {
			return fmt.Errorf("header %s has a line break", k)
		}
		fmt.Fprintf(w, "%s: %s\r\n", k, hs[k])
	}
	w.WriteString("\r\n")
	w.Write(data)
	w.WriteString("\r\n")
	return nil
}

// readBatch reads a $batch response into one entry per request (a
// failed change set: one entry, its error).
func (r *runtime) readBatch(out map[string]any) ([]map[string]any, error) {
	h, _ := out["headers"].(map[string]any)
	ct, _ := h["content-type"].(string)
	if _, ok := out["body"].(string); !ok {
		return nil, fmt.Errorf("$batch response is not multipart (%s)", ct)
	}
	data, err := bodyBytes(out)
	if err != nil {
		return nil, fmt.Errorf("$batch response: %v", err)
	}
	return readMultipart(ct, data, 0, r)
}

// bodyBytes is an http connector answer's body as sent: a string, or
// base64 of bytes that were not UTF-8 text.
func bodyBytes(out map[string]any) ([]byte, error) {
	b, ok := out["body"].(string)
	if !ok {
		return nil, fmt.Errorf("the body is not text")
	}
	if enc, _ := out["body_encoding"].(string); enc == "base64" {
		return base64.StdEncoding.DecodeString(b)
	}
	return []byte(b), nil
}

func readMultipart(ct string, data []byte, depth int, r *runtime) ([]map[string]any, error) {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || !strings.HasPrefix(mt, "multipart/") || params["boundary"] == "" {
		return nil, fmt.Errorf("$batch response is not multipart (%q)", ct)
	}
	mr := multipart.NewReader(bytes.NewReader(data), params["boundary"])
	var out []map[string]any
	for i := 0; ; i++ {
		if i > maxBatch*2 {
			return nil, fmt.Errorf("$batch response has too many parts")
		}
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("$batch response: %v", err)
		}
		pct := p.Header.Get("Content-Type")
		body, err := io.ReadAll(io.LimitReader(p, 32<<20))
		if err != nil {
			return nil, err
		}
		if strings.HasPrefix(pct, "multipart/") && depth == 0 {
			sub, err := readMultipart(pct, body, 1, r)
			if err != nil {
				return nil, err
			}
			out = append(out, sub...)
			continue
		}
		entry, err := readHTTPPart(body)
		if err != nil {
			return nil, fmt.Errorf("$batch part %d: %v", i+1, err)
		}
		entry["body"] = r.normalize(entry["body"], entry["headers"])
		out = append(out, entry)
	}
	return out, nil
}

// readHTTPPart reads an application/http body (one whole HTTP response,
// as in a $batch part or a status monitor's final answer) into status
// (int), headers (lower-case names) and body (JSON decoded, else text;
// not normalised).
func readHTTPPart(data []byte) (map[string]any, error) {
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(data)), nil)
	if err != nil {
		return nil, err
	}
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	resp.Body.Close()
	entry := map[string]any{"status": resp.StatusCode}
	hs := map[string]any{}
	for k, v := range resp.Header {
		hs[strings.ToLower(k)] = strings.Join(v, ", ")
	}
	entry["headers"] = hs
	var parsed any
	if len(bytes.TrimSpace(rb)) > 0 {
		if json.Unmarshal(rb, &parsed) != nil {
			parsed = string(rb)
		}
	}
	entry["body"] = parsed
	return entry, nil
}

// batch serves $batch: each part in order; a change set is applied
// entirely or, when one of its requests fails, not at all.
func (s *Sandbox) batch(w http.ResponseWriter, r *http.Request) {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxSandboxBody+1))
	if err != nil || len(data) > maxSandboxBody {
		s.fail(w, errf(413, "TooLarge", "$batch body over %d bytes", maxSandboxBody))
		return
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" || params["boundary"] == "" {
		s.fail(w, errf(400, "BadRequest", "$batch wants multipart/mixed with a boundary"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out bytes.Buffer
	outer := boundary("batchresponse")
	mr := multipart.NewReader(bytes.NewReader(data), params["boundary"])
	for n := 0; ; n++ {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil || n >= maxBatch {
			s.fail(w, errf(400, "BadRequest", "$batch: bad or too many parts"))
			return
		}
		body, _ := io.ReadAll(io.LimitReader(p, maxSandboxBody))
		pct := p.Header.Get("Content-Type")
		fmt.Fprintf(&out, "--%s\r\n", outer)
		if cmt, cp, err := mime.ParseMediaType(pct); err == nil && cmt == "multipart/mixed" {
			s.changeset(&out, body, cp["boundary"])
			continue
		}
		status, hdr, res, e := s.batchRequest(body)
		out.WriteString("Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n")
		writeResponse(&out, s, status, hdr, res, e)
	}
	fmt.Fprintf(&out, "--%s--\r\n", outer)
	w.Header().Set("Content-Type", "multipart/mixed; boundary="+outer)
	w.WriteHeader(200)
	_, _ = w.Write(out.Bytes())
}

// changeset applies a change set atomically (under s.mu).
func (s *Sandbox) changeset(out *bytes.Buffer, data []byte, bnd string) {
	snap := s.snapshot()
	inner := boundary("changesetresponse")
	var parts bytes.Buffer
	mr := multipart.NewReader(bytes.NewReader(data), bnd)
	for n := 0; ; n++ {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		var e *sandboxError
		var status int
		var hdr map[string]string
		var res any
		if err != nil || n >= maxBatch {
			e = errf(400, "BadRequest", "change set: bad or too many parts")
		} else {
			body, _ := io.ReadAll(io.LimitReader(p, maxSandboxBody))
			status, hdr, res, e = s.batchRequest(body)
		}
		if e != nil {
			s.restore(snap)
			out.WriteString("Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n")
			writeResponse(out, s, 0, nil, nil, e)
			return
		}
		fmt.Fprintf(&parts, "--%s\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: %d\r\n\r\n", inner, n+1)
		writeResponse(&parts, s, status, hdr, res, nil)
	}
	fmt.Fprintf(out, "Content-Type: multipart/mixed; boundary=%s\r\n\r\n", inner)
	out.Write(parts.Bytes())
	fmt.Fprintf(out, "--%s--\r\n", inner)
}

// batchRequest serves one application/http part (under s.mu).
func (s *Sandbox) batchRequest(data []byte) (int, map[string]string, any, *sandboxError) {
	br := bufio.NewReader(bytes.NewReader(data))
	tp := textproto.NewReader(br)
	line, err := tp.ReadLine()
	if err != nil {
		return 0, nil, nil, errf(400, "BadRequest", "batch part has no request line")
	}
	f := strings.Fields(line)
	if len(f) != 3 {
		return 0, nil, nil, errf(400, "BadRequest", "batch part request line %q", cut(line, 60))
	}
	hdr, err := tp.ReadMIMEHeader()
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, nil, nil, errf(400, "BadRequest", "batch part headers: %v", err)
	}
	body, _ := io.ReadAll(br)
	u, err := url.Parse(f[1])
	if err != nil {
		return 0, nil, nil, errf(400, "BadRequest", "batch part URL %q", cut(f[1], 60))
	}
	method := strings.ToUpper(f[0])
	if method == "MERGE" {
		method = "PATCH"
	}
	return s.handle(method, strings.Trim(u.Path, "/"), u.Query(), http.Header(hdr), bytes.TrimSpace(body))
}

func writeResponse(w *bytes.Buffer, s *Sandbox, status int, hdr map[string]string, res any, e *sandboxError) {
	if e != nil {
		status = e.status
		if s.m.V2() {
			res = map[string]any{"error": map[string]any{"code": e.code, "message": map[string]any{"lang": "en", "value": e.message}}}
		} else {
			res = map[string]any{"error": map[string]any{"code": e.code, "message": e.message}}
		}
	}
	fmt.Fprintf(w, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	for k, v := range hdr {
		fmt.Fprintf(w, "%s: %s\r\n", k, v)
	}
	if res != nil {
		data, _ := json.Marshal(res)
		fmt.Fprintf(w, "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(data))
		w.Write(data)
		w.WriteString("\r\n")
		return
	}
	w.WriteString("\r\n")
}

type snapshot struct {
	tables map[string]table
	links  map[string][]ref
}

func (s *Sandbox) snapshot() snapshot {
	sn := snapshot{tables: map[string]table{}, links: map[string][]ref{}}
	for n, tb := range s.sets {
		c := table{set: tb.set, t: tb.t, byKey: map[string]*row{}, next: tb.next}
		for _, rw := range tb.rows {
			cp := &row{key: rw.key, version: rw.version, data: make(map[string]any, len(rw.data))}
			for k, v := range rw.data {
				cp.data[k] = v
			}
			c.rows = append(c.rows, cp)
			c.byKey[cp.key] = cp
		}
		sn.tables[n] = c
	}
	for k, v := range s.links {
		sn.links[k] = append([]ref(nil), v...)
	}
	return sn
}

func (s *Sandbox) restore(sn snapshot) {
	for n := range s.sets {
		c := sn.tables[n]
		s.sets[n] = &c
	}
	s.links = sn.links
}
