package mcpconn

import (
	"context"
	"encoding/base64"
	"fmt"

	mmcp "github.com/mark3labs/mcp-go/mcp"

	"github.com/weftio/weft/connectors"
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
	return listAll(ctx, u, "resource", "resources", func(c *mmcp.ServerCapabilities) bool { return c.Resources != nil },
		func(s *session, ctx context.Context, cursor mmcp.Cursor) (mmcp.Cursor, error) {
			var req mmcp.ListResourcesRequest
			req.Params.Cursor = cursor
			res, err := s.c.ListResourcesByPage(ctx, req)
			if err != nil {
				return "", err
			}
			return res.NextCursor, nil
		},
		func(r *wireResource) (Resource, bool) {
			return Resource{URI: r.URI, Name: r.Name, Title: r.Title, Description: r.Description, MIMEType: r.MIMEType}, true
		})
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
	var req mmcp.ReadResourceRequest
	req.Params.URI = uri
	res, err := s.c.ReadResource(ctx, req)
	if err != nil {
		return nil, u.callError(parent, ctx, s, "resources/read "+uri, err)
	}
	var out []Content
	size := 0
	for _, c := range res.Contents {
		var x Content
		switch c := c.(type) {
		case mmcp.TextResourceContents:
			x = Content{URI: c.URI, MIMEType: c.MIMEType, Text: c.Text}
		case mmcp.BlobResourceContents:
			// base64 as sent; checked so that what Weft passes on decodes.
			if _, err := base64.StdEncoding.DecodeString(c.Blob); err != nil {
				return nil, fmt.Errorf("MCP upstream %s: resources/read %s: a blob that is not base64", u.name, uri)
			}
			x = Content{URI: c.URI, MIMEType: c.MIMEType, Blob: c.Blob}
		default:
			continue
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

// ResourceTemplate is one resource template an upstream lists (RFC 6570).
type ResourceTemplate struct {
	URITemplate string `json:"uri_template"`
	Name        string `json:"name"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	MIMEType    string `json:"mime_type,omitempty"`
}

// ListResourceTemplates lists the upstream's resource templates (every
// page, at most MaxTools).
func (u *Upstream) ListResourceTemplates(ctx context.Context) ([]ResourceTemplate, error) {
	return listAll(ctx, u, "resource template", "resourceTemplates", func(c *mmcp.ServerCapabilities) bool { return c.Resources != nil },
		func(s *session, ctx context.Context, cursor mmcp.Cursor) (mmcp.Cursor, error) {
			var req mmcp.ListResourceTemplatesRequest
			req.Params.Cursor = cursor
			res, err := s.c.ListResourceTemplatesByPage(ctx, req)
			if err != nil {
				return "", err
			}
			return res.NextCursor, nil
		},
		func(r *wireResource) (ResourceTemplate, bool) {
			if r.URITemplate == "" || len(r.URITemplate) > maxArgLen {
				return ResourceTemplate{}, false
			}
			return ResourceTemplate{URITemplate: r.URITemplate, Name: r.Name, Title: r.Title, Description: r.Description, MIMEType: r.MIMEType}, true
		})
}

// MaxSubscriptions bounds the resources one upstream is subscribed to.
const MaxSubscriptions = 1000

// CanSubscribe reports whether the upstream offers resource subscriptions
// (it connects when it has to).
func (u *Upstream) CanSubscribe(ctx context.Context) (bool, error) {
	s, err := u.session(ctx)
	if err != nil {
		return false, err
	}
	ir := s.init
	return ir != nil && ir.Capabilities.Resources != nil && ir.Capabilities.Resources.Subscribe, nil
}

// Subscribe asks the upstream for notifications/resources/updated of uri
// (delivered to Options.OnEvent). Subscriptions are kept across sessions:
// a new session (a restart, a reconnect) subscribes again.
func (u *Upstream) Subscribe(ctx context.Context, uri string) error {
	ctx, cancel := context.WithTimeout(ctx, u.opt.CallTimeout)
	defer cancel()
	ok, err := u.CanSubscribe(ctx)
	if err != nil {
		return err
	}
	if !ok {
		return &connectors.Error{Class: connectors.Permanent, Message: fmt.Sprintf("MCP upstream %s offers no resource subscriptions", u.name)}
	}
	u.mu.Lock()
	if !u.subs[uri] && len(u.subs) >= MaxSubscriptions {
		u.mu.Unlock()
		return &connectors.Error{Class: connectors.Permanent, Message: fmt.Sprintf("MCP upstream %s: at most %d resource subscriptions", u.name, MaxSubscriptions)}
	}
	if u.subs == nil {
		u.subs = map[string]bool{}
	}
	u.subs[uri] = true
	u.mu.Unlock()
	s, err := u.session(ctx)
	if err != nil {
		return err
	}
	if err := s.c.Subscribe(ctx, subscribeReq(uri)); err != nil {
		u.mu.Lock()
		delete(u.subs, uri)
		u.mu.Unlock()
		return u.callError(ctx, ctx, s, "resources/subscribe "+uri, err)
	}
	return nil
}

// Unsubscribe ends a subscription.
func (u *Upstream) Unsubscribe(ctx context.Context, uri string) error {
	u.mu.Lock()
	had := u.subs[uri]
	delete(u.subs, uri)
	s := u.sess
	u.mu.Unlock()
	if !had || s == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, u.opt.CallTimeout)
	defer cancel()
	var req mmcp.UnsubscribeRequest
	req.Params.URI = uri
	return s.c.Unsubscribe(ctx, req)
}

// resubscribe renews the subscriptions on a new session.
func (u *Upstream) resubscribe(s *session) {
	u.mu.Lock()
	uris := make([]string, 0, len(u.subs))
	for uri := range u.subs {
		uris = append(uris, uri)
	}
	u.mu.Unlock()
	for _, uri := range uris {
		ctx, cancel := context.WithTimeout(context.Background(), u.opt.CallTimeout)
		err := s.c.Subscribe(ctx, subscribeReq(uri))
		cancel()
		if err != nil {
			u.opt.Log.Warn("MCP upstream: renewing a resource subscription failed", "connector", u.name, "uri", uri, "err", err)
		}
	}
}

func subscribeReq(uri string) mmcp.SubscribeRequest {
	var req mmcp.SubscribeRequest
	req.Params.URI = uri
	return req
}

// wireResource is a resource or resource template as listed.
type wireResource struct {
	URI         string `json:"uri"`
	URITemplate string `json:"uriTemplate"`
	Name        string `json:"name"`
	Title       string `json:"title"`
	Description string `json:"description"`
	MIMEType    string `json:"mimeType"`
}
