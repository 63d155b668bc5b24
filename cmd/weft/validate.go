package main

import (
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/weftio/weft"
	"github.com/weftio/weft/connectors"
	connimport "github.com/weftio/weft/connectors/imports"
	"github.com/weftio/weft/flow"
)

// maxLocalFile bounds the flow, config and OpenAPI files the CLI reads.
const maxLocalFile = 32 << 20

func readLocalFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, weft.Errorf(weft.EInvalid, "%v", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxLocalFile+1))
	if err != nil {
		return nil, weft.Errorf(weft.EInvalid, "%s: %v", path, err)
	}
	if len(data) > maxLocalFile {
		return nil, weft.Errorf(weft.ETooLarge, "%s is larger than %d MiB", path, maxLocalFile>>20)
	}
	return data, nil
}

// specList is a repeatable --catalog flag: NAME=FILE or FILE (NAME: the
// file name without its extension), an OpenAPI document imported as a
// connector for offline validation.
type specList []string

func (s *specList) String() string { return strings.Join(*s, ",") }
func (s *specList) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*s = append(*s, p)
		}
	}
	return nil
}

// offlineCatalog is the built-in connectors plus the OpenAPI imports of a
// config file (its imports: section) and of --catalog documents, and a
// line saying what it holds.
func offlineCatalog(configPath string, specs []string) (*connectors.Catalog, string, error) {
	cat := builtinCatalog()
	imports := map[string]string{}
	var annotations map[string]map[string]map[string]bool
	var from []string
	if configPath != "" {
		data, err := readLocalFile(configPath)
		if err != nil {
			return nil, "", err
		}
		var cfg struct {
			Imports           map[string]string                     `yaml:"imports"`
			ImportAnnotations map[string]map[string]map[string]bool `yaml:"import_annotations"`
		}
		if err := yaml.Unmarshal(data, &cfg); err != nil {
			return nil, "", weft.Errorf(weft.EInvalid, "config %s: %v", configPath, err)
		}
		for n, f := range cfg.Imports {
			imports[n] = f
		}
		annotations = cfg.ImportAnnotations
		from = append(from, "the imports of "+configPath)
	}
	for _, s := range specs {
		name, file, ok := strings.Cut(s, "=")
		if !ok {
			file = s
			name = strings.TrimSuffix(filepath.Base(s), filepath.Ext(s))
		}
		imports[name] = file
		from = append(from, file)
	}
	names := make([]string, 0, len(imports))
	for n := range imports {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		spec, err := readLocalFile(imports[n])
		if err != nil {
			return nil, "", weft.Errorf(weft.EInvalid, "connector %s: %v", n, err)
		}
		if spec, err = connimport.Annotate(spec, annotations[n]); err != nil {
			return nil, "", weft.Wrap(weft.EInvalid, err, "import_annotations.%s (%s): %v", n, imports[n], err)
		}
		if _, err := connimport.Register(cat, n, spec); err != nil {
			return nil, "", weft.Errorf(weft.EUnprocessable, "connector %s (%s): %v", n, imports[n], err)
		}
	}
	var conns []string
	for _, c := range cat.Connectors() {
		conns = append(conns, c.Name)
	}
	what := "built-in connectors only, offline (" + strings.Join(conns, ", ") + ")"
	if len(names) > 0 {
		what = "built-in connectors and " + strings.Join(names, ", ") + " from " + strings.Join(from, " and ") + ", offline"
	}
	return cat, what, nil
}

// offlineHint is printed under an unknown operation when only the
// built-in connectors were known.
const offlineHint = "hint: offline, only the built-in connectors are known; to check imported connectors validate against\n" +
	"      the server (--server URL) or the config's imports (--config weft.yaml) or an OpenAPI file (--catalog NAME=FILE)"

// validateFlows checks flow files: against the server's live catalog with
// --server (POST /api/flows/validate), otherwise offline against the
// built-in connectors plus those of --config / --catalog. It says which.
func validateFlows(files []string, c *client, useServer bool, configPath string, specs []string, stdout io.Writer) error {
	if len(files) == 0 {
		return weft.Errorf(weft.EInvalid, "weft flow validate FILE... [--server URL | --config FILE | --catalog NAME=FILE]")
	}
	var cat *connectors.Catalog
	if useServer {
		if configPath != "" || len(specs) > 0 {
			return weft.Errorf(weft.EInvalid, "--server validates against the server's catalog; drop --config / --catalog (or --server)")
		}
		fmt.Fprintf(stdout, "catalog: the server's at %s\n", c.base)
	} else {
		var what string
		var err error
		if cat, what, err = offlineCatalog(configPath, specs); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "catalog: %s\n", what)
	}
	var failed error
	hinted := false
	for _, file := range files {
		src, err := readLocalFile(file)
		if err != nil {
			return err
		}
		var name, trigger string
		var steps int
		var warns []weft.Problem
		if useServer {
			var res struct {
				Name     string         `json:"name"`
				Trigger  string         `json:"trigger"`
				Steps    int            `json:"steps"`
				Warnings []weft.Problem `json:"warnings"`
			}
			err = c.do("POST", "/api/flows/validate?file="+url.QueryEscape(file), src, &res)
			if weft.Code(err) == weft.EUnavailable || weft.Code(err) == weft.EUnauthorized {
				return err // not the flow's fault
			}
			name, trigger, steps, warns = res.Name, res.Trigger, res.Steps, res.Warnings
		} else {
			var f *flow.Flow
			if f, err = flow.Load(file, src, cat); err == nil {
				name, trigger, steps = f.Name, f.Trigger.Kind, len(f.Steps)
				warns = flow.Loops(f, cat)
			}
		}
		if err != nil {
			fmt.Fprintln(stdout, err)
			if !useServer && configPath == "" && len(specs) == 0 && !hinted && strings.Contains(err.Error(), "unknown operation") {
				fmt.Fprintln(stdout, offlineHint)
				hinted = true
			}
			failed = err
			continue
		}
		if trigger == "" {
			fmt.Fprintf(stdout, "%s: ok (flow %s, %d %s)\n", file, name, steps, plural(steps, "step", "steps"))
		} else {
			fmt.Fprintf(stdout, "%s: ok (flow %s, %s trigger, %d %s)\n", file, name, trigger, steps, plural(steps, "step", "steps"))
		}
		for _, w := range warns {
			fmt.Fprintf(stdout, "%s: warning: %s\n", w.Pos, w.Message)
		}
	}
	if failed != nil {
		return weft.Errorf(weft.EUnprocessable, "some flow files did not validate")
	}
	return nil
}
