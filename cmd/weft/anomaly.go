package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/weftio/weft"
	"github.com/weftio/weft/monitor"
)

// anomalyCmd: weft anomaly replay --input DIR --output DIR runs the
// streaming detectors over series in NAB's layout (<category>/<file>.csv
// with timestamp,value) and writes NAB's results layout
// (timestamp,value,anomaly_score).
func anomalyCmd(args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "replay" {
		return weft.Errorf(weft.EInvalid, "weft anomaly replay --input DIR --output DIR")
	}
	fs := flag.NewFlagSet("anomaly replay", flag.ContinueOnError)
	in := fs.String("input", "", "directory of <category>/<file>.csv series")
	out := fs.String("output", "", "directory for the scored series")
	sens := fs.Float64("sensitivity", 1, "scales deviations (more: more alerts)")
	warm := fs.Int("warmup", 0, "observations the shape detector learns before it scores (0: NAB's probationary period for each file, 15% of it, at most 750)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *in == "" || *out == "" {
		return weft.Errorf(weft.EInvalid, "weft anomaly replay --input DIR --output DIR")
	}
	n, err := monitor.ReplayDir(*in, *out, monitor.Config{Sensitivity: *sens, ShapeWarmup: *warm})
	if err != nil {
		return weft.Errorf(weft.EInvalid, "%v", err)
	}
	fmt.Fprintf(stdout, "scored %d series into %s\n", n, *out)
	return nil
}
