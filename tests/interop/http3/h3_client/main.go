// h3_client: an HTTP/3 client for interop tests, on quic-go's http3 package (Debian's quic-go 0.29). It sends
// -n requests, -c at a time over one connection, and prints one line per response ("<status> <body bytes>
// <sha256 of body, 8 bytes hex> <header>=<value>") and a last JSON line of totals. With -body it POSTs that
// many deterministic bytes (byte i is i % 251), so the server can check them.
//
// Build offline:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode GOPROXY=off go build -o h3_client .
package main

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/lucas-clemente/quic-go/http3"
)

func main() {
	url := flag.String("url", "https://localhost:4443/", "URL")
	caFile := flag.String("ca", "", "PEM CA to trust")
	n := flag.Int("n", 1, "requests")
	c := flag.Int("c", 1, "requests in flight")
	bodyBytes := flag.Int("body", -1, "POST this many bytes (byte i = i % 251); -1 sends a GET")
	header := flag.String("show", "", "response header to print")
	qps := flag.Float64("qps", 0, "start at most this many requests per second (0: as fast as answers come)")
	quiet := flag.Bool("quiet", false, "no line per response; the summary adds seconds, p50_ms and p99_ms (benchmarks)")
	flag.Parse()

	pool := x509.NewCertPool()
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		if err != nil {
			fmt.Fprintf(os.Stderr, "read CA: %v\n", err)
			os.Exit(2)
		}
		pool.AppendCertsFromPEM(pem)
	}
	rt := &http3.RoundTripper{TLSClientConfig: &tls.Config{RootCAs: pool}}
	defer rt.Close()
	client := &http.Client{Transport: rt}

	body := make([]byte, 0)
	if *bodyBytes >= 0 {
		body = make([]byte, *bodyBytes)
		for i := range body {
			body[i] = byte(i % 251)
		}
	}
	var mu sync.Mutex
	ok, failed := 0, 0
	latencies := make([]float64, 0, *n)
	started := time.Now()
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < *c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				var req *http.Request
				var err error
				if *bodyBytes >= 0 {
					req, err = http.NewRequest("POST", *url, bytes.NewReader(body))
				} else {
					req, err = http.NewRequest("GET", *url, nil)
				}
				if err == nil {
					var resp *http.Response
					t0 := time.Now()
					resp, err = client.Do(req)
					if err == nil {
						data, rerr := io.ReadAll(resp.Body)
						resp.Body.Close()
						sum := sha256.Sum256(data)
						line := fmt.Sprintf("%d %d %s", resp.StatusCode, len(data), hex.EncodeToString(sum[:8]))
						if *header != "" {
							line += fmt.Sprintf(" %s=%s", *header, resp.Header.Get(*header))
						}
						mu.Lock()
						latencies = append(latencies, float64(time.Since(t0).Microseconds())/1000)
						if !*quiet {
							fmt.Println(line)
						}
						if rerr == nil {
							ok++
						} else {
							failed++
							fmt.Fprintf(os.Stderr, "read body: %v\n", rerr)
						}
						mu.Unlock()
						continue
					}
				}
				mu.Lock()
				failed++
				fmt.Fprintf(os.Stderr, "request: %v\n", err)
				mu.Unlock()
			}
		}()
	}
	var tick *time.Ticker
	if *qps > 0 {
		tick = time.NewTicker(time.Duration(float64(time.Second) / *qps))
	}
	for i := 0; i < *n; i++ {
		if tick != nil {
			<-tick.C
		}
		jobs <- i
	}
	if tick != nil {
		tick.Stop()
	}
	close(jobs)
	wg.Wait()
	if *quiet {
		sort.Float64s(latencies)
		pct := func(p float64) float64 {
			if len(latencies) == 0 {
				return 0
			}
			return latencies[int(p*float64(len(latencies)-1))]
		}
		summary, _ := json.Marshal(map[string]any{
			"ok": ok, "failed": failed, "seconds": time.Since(started).Seconds(),
			"p50_ms": pct(0.50), "p99_ms": pct(0.99),
		})
		fmt.Println(string(summary))
	} else {
		summary, _ := json.Marshal(map[string]int{"ok": ok, "failed": failed})
		fmt.Println(string(summary))
	}
	if failed > 0 {
		os.Exit(1)
	}
}
