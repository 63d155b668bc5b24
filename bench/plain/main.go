// Command plain is the benchmark baseline: a plain Go net/http handler that
// does the order flow's transform and POST by hand, with no logging, no
// persistence and no expression engine. Weft's overhead is measured
// against it in the same run (see BENCHMARKS.md).
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"log"
	"math"
	"net/http"
	"strings"
	"time"
)

type order struct {
	OrderID  string `json:"order_id"`
	Customer struct {
		Name  string `json:"name"`
		Email string `json:"email"`
	} `json:"customer"`
	Currency string `json:"currency"`
	Items    []struct {
		SKU   string  `json:"sku"`
		Qty   float64 `json:"qty"`
		Price float64 `json:"price"`
	} `json:"items"`
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "listen address")
	sink := flag.String("sink", "http://127.0.0.1:9000/orders", "downstream URL")
	flag.Parse()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxIdleConns: 1024}}
	http.HandleFunc("POST /order", func(w http.ResponseWriter, r *http.Request) {
		var o order
		if err := json.NewDecoder(r.Body).Decode(&o); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		var total float64
		for _, it := range o.Items {
			total += it.Qty * it.Price
		}
		out, _ := json.Marshal(map[string]any{
			"id": o.OrderID, "customer_name": strings.ToUpper(o.Customer.Name), "customer_email": o.Customer.Email,
			"currency": strings.ToUpper(o.Currency), "item_count": len(o.Items), "total": math.Round(total*100) / 100,
		})
		resp, err := client.Post(*sink, "application/json", bytes.NewReader(out))
		if err != nil {
			http.Error(w, `{"status":"error"}`, 502)
			return
		}
		var down any
		err = json.NewDecoder(resp.Body).Decode(&down)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			http.Error(w, `{"status":"error"}`, 502)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"status": "accepted", "downstream": down})
	})
	log.Fatal(http.ListenAndServe(*addr, nil))
}
