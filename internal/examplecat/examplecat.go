// Package examplecat builds the connector catalog `make run` serves
// (examples/weft.yaml: the built-in HTTP and SMTP connectors, the imported
// example APIs and their connections) without starting a server, for the
// NL-to-flow eval and tests.
package examplecat

import (
	"fmt"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"

	"github.com/weftio/weft/connectors"
	httpconn "github.com/weftio/weft/connectors/http"
	connimport "github.com/weftio/weft/connectors/imports"
	smtpconn "github.com/weftio/weft/connectors/smtp"
)

// Load reads the config at root/examples/weft.yaml (root: the repository).
func Load(root string) (*connectors.Catalog, error) {
	data, err := os.ReadFile(filepath.Join(root, "examples", "weft.yaml"))
	if err != nil {
		return nil, err
	}
	var cfg struct {
		Imports     map[string]string                 `yaml:"imports"`
		Connections map[string]*connectors.Connection `yaml:"connections"`
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		return nil, err
	}
	cat := connectors.NewCatalog(httpconn.New(httpconn.Options{}), smtpconn.New(smtpconn.Options{}))
	for name, file := range cfg.Imports {
		spec, err := os.ReadFile(filepath.Join(root, file))
		if err != nil {
			return nil, err
		}
		if _, err := connimport.Register(cat, name, spec); err != nil {
			return nil, fmt.Errorf("%s: %v", file, err)
		}
	}
	for name, c := range cfg.Connections {
		c.Name = name
		if err := cat.AddConnection(c); err != nil {
			return nil, err
		}
	}
	return cat, nil
}
