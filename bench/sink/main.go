// Command sink is the benchmarks' downstream API: it accepts any POST on
// loopback, drains the body and answers 200 {"ok":true} (the peers'
// sink of ../shared/peers, kept here so bench scripts need nothing else).
package main

import (
	"flag"
	"io"
	"log"
	"net/http"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9000", "listen address (loopback)")
	flag.Parse()
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("{\"ok\":true}\n"))
	})
	log.Fatal(http.ListenAndServe(*addr, nil))
}
