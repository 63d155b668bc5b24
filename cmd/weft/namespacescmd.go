package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/weftio/weft"
)

const namespacesUsage = "weft namespaces create NAME [--description TEXT] | list"

// namespacesCmd lists and creates namespaces (a team's or project's share
// of flows, connections, mappings, toolsets and MCP keys).
func namespacesCmd(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return weft.Errorf(weft.EInvalid, "%s", namespacesUsage)
	}
	fs, srv, asJSON := newFlagSet("namespaces " + args[0])
	desc := fs.String("description", "", "what the namespace is for")
	pos, err := parseArgs(fs, args[1:])
	if err != nil {
		return err
	}
	c := newClient(*srv, *asJSON, stdout)
	switch args[0] {
	case "list":
		return c.list("/api/namespaces", "namespaces", col{"NAME", "name"}, col{"YOUR ROLE", "role"}, col{"DESCRIPTION", "description"}, col{"CREATED", "created_at"})
	case "create":
		if len(pos) != 1 {
			return weft.Errorf(weft.EInvalid, "%s", namespacesUsage)
		}
		body, _ := json.Marshal(map[string]string{"name": pos[0], "description": *desc})
		var res map[string]any
		if err := c.do("POST", "/api/namespaces", body, &res); err != nil {
			return err
		}
		if c.json {
			c.printJSON(res)
			return nil
		}
		fmt.Fprintf(stdout, "namespace %s created; bind roles in it with: weft users role NAME ROLE --namespace %s\n", pos[0], pos[0])
		return nil
	}
	return weft.Errorf(weft.EInvalid, "%s", namespacesUsage)
}
