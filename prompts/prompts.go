// Package prompts holds Weft's prompt templates (text/template, embedded),
// versioned by file name. MCP serves some as prompts; nl2flow and the
// mapper use others. Each is covered by an eval in evals/ or a test.
package prompts

import (
	"bytes"
	"embed"
	"fmt"
	"strings"
	"text/template"
)

//go:embed *.tmpl
var files embed.FS

// Prompt is one template with its metadata (the first lines, "# key: value").
type Prompt struct {
	Name        string
	Version     string
	Description string
	Args        []string // argument names, required ones suffixed with '!' in the file
	Required    map[string]bool
	// Internal templates feed Weft's own model calls (nl2flow) and are not
	// served as MCP prompts.
	Internal bool
	tmpl     *template.Template
}

// All returns every prompt, by name.
func All() (map[string]*Prompt, error) {
	entries, err := files.ReadDir(".")
	if err != nil {
		return nil, err
	}
	out := map[string]*Prompt{}
	for _, e := range entries {
		data, err := files.ReadFile(e.Name())
		if err != nil {
			return nil, err
		}
		p := &Prompt{Required: map[string]bool{}}
		var body []string
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(strings.TrimPrefix(line, "# "), ": "); ok && strings.HasPrefix(line, "# ") && len(body) == 0 {
				switch k {
				case "name":
					p.Name = v
				case "version":
					p.Version = v
				case "description":
					p.Description = v
				case "audience":
					p.Internal = v == "internal"
				case "args":
					for _, a := range strings.Fields(v) {
						if strings.HasSuffix(a, "!") {
							a = strings.TrimSuffix(a, "!")
							p.Required[a] = true
						}
						p.Args = append(p.Args, a)
					}
				}
				continue
			}
			body = append(body, line)
		}
		if p.Name == "" {
			return nil, fmt.Errorf("prompts: %s has no name line", e.Name())
		}
		t, err := template.New(p.Name).Option("missingkey=zero").Parse(strings.TrimSpace(strings.Join(body, "\n")))
		if err != nil {
			return nil, fmt.Errorf("prompts: %s: %v", e.Name(), err)
		}
		p.tmpl = t
		out[p.Name] = p
	}
	return out, nil
}

// Execute fills the template with typed data (a struct).
func (p *Prompt) Execute(data any) (string, error) {
	var b bytes.Buffer
	if err := p.tmpl.Execute(&b, data); err != nil {
		return "", fmt.Errorf("prompt %s: %v", p.Name, err)
	}
	return b.String(), nil
}

// Get returns one prompt by name.
func Get(name string) (*Prompt, error) {
	all, err := All()
	if err != nil {
		return nil, err
	}
	p, ok := all[name]
	if !ok {
		return nil, fmt.Errorf("prompts: no template %q", name)
	}
	return p, nil
}

// Render fills the template; missing required arguments are an error.
func (p *Prompt) Render(args map[string]any) (string, error) {
	for a := range p.Required {
		if v, ok := args[a]; !ok || fmt.Sprint(v) == "" {
			return "", fmt.Errorf("prompt %s needs argument %q", p.Name, a)
		}
	}
	var b bytes.Buffer
	if err := p.tmpl.Execute(&b, args); err != nil {
		return "", err
	}
	return b.String(), nil
}
