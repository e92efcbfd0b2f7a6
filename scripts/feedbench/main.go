// feedbench: many principals long-poll their feeds on one hub while one agency pushes; reports the
// latency from the start of each push to its arrival in every feed (p50/p99). Used by scripts/bench.
// Standard library only, so it builds offline with Debian's golang-go.
//
//	feedbench -url URL -certs DIR -ca CA -readers a,b,c -pusher P -pushes N -interval 100ms
package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

func client(dir, name string, pool *x509.CertPool) *http.Client {
	cert, err := tls.LoadX509KeyPair(dir+"/"+name+".pem", dir+"/"+name+".key")
	if err != nil {
		fmt.Fprintln(os.Stderr, "feedbench:", err)
		os.Exit(1)
	}
	return &http.Client{Timeout: 90 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool}, MaxIdleConnsPerHost: 2}}
}

type page struct {
	Events []struct {
		Item string `json:"item"`
	} `json:"events"`
	Cursor int64 `json:"cursor"`
}

func main() {
	url := flag.String("url", "https://127.0.0.1:8443", "hub")
	dir := flag.String("certs", "certs/dev", "folder with NAME.pem and NAME.key")
	ca := flag.String("ca", "certs/dev/ca.pem", "CA")
	readers := flag.String("readers", "", "comma-separated principals that long-poll")
	pusher := flag.String("pusher", "stationed-finance", "principal that pushes")
	unit := flag.String("unit", "finance-bureau", "unit of the pushed items")
	pushes := flag.Int("pushes", 50, "items to push")
	interval := flag.Duration("interval", 200*time.Millisecond, "between pushes")
	flag.Parse()
	pem, err := os.ReadFile(*ca)
	if err != nil {
		fmt.Fprintln(os.Stderr, "feedbench:", err)
		os.Exit(1)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	names := strings.Split(*readers, ",")

	var mu sync.Mutex
	arrivals := map[string][]time.Time{} // item id -> arrival times
	pushed := map[string]time.Time{}     // item id -> push start
	ready := sync.WaitGroup{}
	ready.Add(len(names))
	done := make(chan struct{})
	finished := sync.WaitGroup{}
	for _, name := range names {
		finished.Add(1)
		go func(name string) {
			defer finished.Done()
			c := client(*dir, name, pool)
			// Start at the end of the feed.
			var cursor int64 = -1
			first := true
			for {
				select {
				case <-done:
					return
				default:
				}
				q := *url + "/v1/feed?wait=30&limit=1000"
				if cursor >= 0 {
					q += fmt.Sprintf("&after=%d", cursor)
				}
				if first {
					q = *url + "/v1/feed?limit=1000"
				}
				resp, err := c.Get(q)
				if err != nil {
					fmt.Fprintln(os.Stderr, "feedbench:", name, err)
					time.Sleep(time.Second)
					continue
				}
				var p page
				json.NewDecoder(resp.Body).Decode(&p)
				resp.Body.Close()
				now := time.Now()
				if !first {
					mu.Lock()
					for _, e := range p.Events {
						if e.Item != "" {
							arrivals[e.Item] = append(arrivals[e.Item], now)
						}
					}
					mu.Unlock()
				}
				cursor = p.Cursor
				if first {
					first = false
					ready.Done()
				}
			}
		}(name)
	}
	ready.Wait()
	time.Sleep(2 * time.Second) // every reader is parked in a long-poll
	fmt.Fprintln(os.Stderr, "feedbench: readers waiting; pushing")
	pc := client(*dir, *pusher, pool)
	payload := base64.StdEncoding.EncodeToString([]byte("feed bench payload"))
	for i := 0; i < *pushes; i++ {
		body := fmt.Sprintf(`{"kind":"report","title":"feed bench %d","unit":"%s","classification":"general","content_type":"text/plain","payload":"%s"}`, i, *unit, payload)
		start := time.Now()
		resp, err := pc.Post(*url+"/v1/items", "application/json", bytes.NewBufferString(body))
		if err != nil {
			fmt.Fprintln(os.Stderr, "feedbench: push:", err)
			continue
		}
		var item struct {
			ID string `json:"id"`
		}
		json.NewDecoder(resp.Body).Decode(&item)
		resp.Body.Close()
		mu.Lock()
		pushed[item.ID] = start
		mu.Unlock()
		time.Sleep(*interval)
	}
	time.Sleep(3 * time.Second)
	close(done)
	var latencies []float64
	missing := 0
	mu.Lock()
	for id, start := range pushed {
		got := arrivals[id]
		missing += len(names) - len(got)
		for _, t := range got {
			latencies = append(latencies, float64(t.Sub(start).Microseconds())/1000)
		}
	}
	mu.Unlock()
	sort.Float64s(latencies)
	pct := func(p float64) float64 {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[int(p*float64(len(latencies)-1))]
	}
	out, _ := json.Marshal(map[string]any{"readers": len(names), "pushes": len(pushed), "deliveries": len(latencies), "missing": missing,
		"p50_ms": pct(0.5), "p99_ms": pct(0.99), "max_ms": pct(1)})
	fmt.Println(string(out))
	os.Exit(0)
}
