package main

import (
	"fmt"
	"io"
	"net/url"

	"github.com/weftio/weft"
)

func alertsCmd(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return weft.Errorf(weft.EInvalid, "weft alerts list | ack ID")
	}
	fs, server, asJSON := newFlagSet("alerts " + args[0])
	by := fs.String("by", "", "who acknowledges")
	pos, err := parseArgs(fs, args[1:])
	if err != nil {
		return err
	}
	c := newClient(*server, *asJSON, stdout)
	switch args[0] {
	case "list":
		return c.list("/api/alerts", "alerts", col{"ID", "id"}, col{"STATUS", "status"}, col{"SEVERITY", "severity"}, col{"FLOW", "flow"}, col{"STARTED", "started_at"}, col{"ACKED", "acked_by"}, col{"MESSAGE", "message"})
	case "ack":
		if len(pos) != 1 {
			return weft.Errorf(weft.EInvalid, "weft alerts ack ID [--by NAME]")
		}
		if err := c.do("POST", "/api/alerts/"+url.PathEscape(pos[0])+"/ack?by="+url.QueryEscape(*by), nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "alert %s acknowledged\n", pos[0])
		return nil
	}
	return weft.Errorf(weft.EInvalid, "weft alerts: unknown verb %q", args[0])
}
