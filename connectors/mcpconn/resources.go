package mcpconn

import (
	"context"
	"encoding/base64"
	"fmt"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// Resource is one resource an upstream lists.
type Resource struct {
	URI         string `json:"uri"`
	Name        string `json:"name"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	MIMEType    string `json:"mime_type,omitempty"`
}

// Content is one part of a resource read from an upstream: text, or a
// blob in base64.
type Content struct {
	URI      string `json:"uri"`
	MIMEType string `json:"mime_type,omitempty"`
	Text     string `json:"text,omitempty"`
	Blob     string `json:"blob,omitempty"`
}

// ListResources lists the upstream's resources (every page, at most
// MaxTools).
func (u *Upstream) ListResources(ctx context.Context) ([]Resource, error) {
	ctx, cancel := context.WithTimeout(ctx, u.opt.CallTimeout)
	defer cancel()
	s, err := u.session(ctx)
	if err != nil {
		return nil, err
	}
	if ir := s.InitializeResult(); ir != nil && ir.Capabilities != nil && ir.Capabilities.Resources == nil {
		return []Resource{}, nil // the upstream offers none
	}
	out := []Resource{}
	for r, err := range s.Resources(ctx, nil) {
		if err != nil {
			if u.oversize.Swap(false) {
				return nil, fmt.Errorf("MCP upstream %s: the resource list is over the limit of %d bytes", u.name, u.opt.MaxResultBytes)
			}
			return nil, fmt.Errorf("MCP upstream %s: listing resources: %v", u.name, err)
		}
		if len(out) >= MaxTools {
			return nil, fmt.Errorf("MCP upstream %s lists more than %d resources", u.name, MaxTools)
		}
		out = append(out, Resource{URI: r.URI, Name: r.Name, Title: r.Title, Description: r.Description, MIMEType: r.MIMEType})
	}
	return out, nil
}

// ReadResource reads one resource of the upstream, within the call
// timeout and the result limit.
func (u *Upstream) ReadResource(ctx context.Context, uri string) ([]Content, error) {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, u.opt.CallTimeout)
	defer cancel()
	s, err := u.session(ctx)
	if err != nil {
		return nil, err
	}
	res, err := s.ReadResource(ctx, &sdk.ReadResourceParams{URI: uri})
	if err != nil {
		return nil, u.callError(parent, ctx, s, "resources/read "+uri, err)
	}
	var out []Content
	size := 0
	for _, c := range res.Contents {
		if c == nil {
			continue
		}
		x := Content{URI: c.URI, MIMEType: c.MIMEType, Text: c.Text}
		if len(c.Blob) > 0 {
			x.Blob = base64.StdEncoding.EncodeToString(c.Blob)
		}
		if size += len(x.Text) + len(x.Blob); size > u.opt.MaxResultBytes {
			return nil, u.tooLarge("resources/read " + uri)
		}
		out = append(out, x)
	}
	return out, nil
}

// Upstream returns the upstream of connector name.
func (f *Federation) Upstream(name string) (*Upstream, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.ups[name]
	return u, ok
}
