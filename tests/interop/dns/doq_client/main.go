// doq_client: a minimal DNS-over-QUIC client (RFC 9250) for interop tests. It sends one query with Message ID 0
// on one client-initiated bidirectional stream, closes its side (FIN) right after the 2-byte-length-prefixed
// message, reads the length-prefixed answer and prints it (miekg/dns presentation format). With -id it sends a
// non-zero ID on purpose and reports the connection's close code instead. With -load-seconds it is a load
// generator: -conns connections, -streams queries in flight on each (one query per stream, as RFC 9250 wants),
// names <prefix><i>.<zone> for i < -names, and it prints one JSON line of totals and latency percentiles.
//
// Build offline with Debian's Go and quic-go 0.29:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode GOPROXY=off go build -o doq_client .
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/lucas-clemente/quic-go"
	"github.com/miekg/dns"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8853", "server host:port")
	name := flag.String("name", "example.test.", "query name")
	qtype := flag.String("type", "A", "query type")
	caFile := flag.String("ca", "", "PEM CA to trust")
	sni := flag.String("sni", "localhost", "TLS server name")
	id := flag.Uint("id", 0, "DNS Message ID (RFC 9250 requires 0)")
	loadSeconds := flag.Float64("load-seconds", 0, "run a load test for this long instead of one query")
	conns := flag.Int("conns", 4, "load: connections")
	streams := flag.Int("streams", 16, "load: queries in flight per connection")
	names := flag.Int("names", 1000, "load: distinct names h<i>.<zone>")
	zone := flag.String("zone", "bench.test", "load: zone of the names")
	qps := flag.Float64("qps", 0, "load: at most this many queries per second in all (0: as fast as answers come)")
	flag.Parse()

	pool := x509.NewCertPool()
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		if err != nil {
			fail("read CA: %v", err)
		}
		pool.AppendCertsFromPEM(pem)
	}
	tlsConf := &tls.Config{RootCAs: pool, ServerName: *sni, NextProtos: []string{"doq"}}
	if *loadSeconds > 0 {
		load(*addr, tlsConf, *qtype, *loadSeconds, *conns, *streams, *names, *zone, *qps)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := quic.DialAddrContext(ctx, *addr, tlsConf, &quic.Config{MaxIdleTimeout: 5 * time.Second})
	if err != nil {
		fail("dial: %v", err)
	}
	if p := conn.ConnectionState().TLS.NegotiatedProtocol; p != "doq" {
		fail("ALPN %q, want doq", p)
	}

	t, ok := dns.StringToType[*qtype]
	if !ok {
		fail("unknown type %s", *qtype)
	}
	msg := new(dns.Msg)
	msg.SetQuestion(dns.Fqdn(*name), t)
	msg.Id = uint16(*id) // RFC 9250 §4.2.1: MUST be 0
	msg.RecursionDesired = true
	wire, err := msg.Pack()
	if err != nil {
		fail("pack: %v", err)
	}

	stream, err := conn.OpenStreamSync(ctx)
	if err != nil {
		fail("open stream: %v", err)
	}
	frame := make([]byte, 2+len(wire))
	binary.BigEndian.PutUint16(frame, uint16(len(wire)))
	copy(frame[2:], wire)
	if _, err := stream.Write(frame); err != nil {
		fail("write: %v", err)
	}
	// RFC 9250 §4.2: the client MUST send FIN after the query.
	if err := stream.Close(); err != nil {
		fail("close: %v", err)
	}
	_ = stream.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := io.ReadAll(stream)
	if err != nil {
		var appErr *quic.ApplicationError
		if errors.As(err, &appErr) {
			fmt.Printf("CONNECTION_CLOSE 0x%x %s\n", uint64(appErr.ErrorCode), appErr.ErrorMessage)
			os.Exit(3)
		}
		fail("read: %v", err)
	}
	if len(resp) < 2 || int(binary.BigEndian.Uint16(resp)) != len(resp)-2 {
		fail("bad length prefix in %d-byte answer", len(resp))
	}
	answer := new(dns.Msg)
	if err := answer.Unpack(resp[2:]); err != nil {
		fail("unpack: %v", err)
	}
	if answer.Id != 0 {
		fail("answer ID %d, want 0", answer.Id)
	}
	fmt.Println(answer.String())
	_ = conn.CloseWithError(0, "") // DOQ_NO_ERROR
}

// query sends one query on a new stream of conn and waits for its answer.
func query(conn quic.Connection, wire []byte) error {
	stream, err := conn.OpenStreamSync(context.Background())
	if err != nil {
		return err
	}
	frame := make([]byte, 2+len(wire))
	binary.BigEndian.PutUint16(frame, uint16(len(wire)))
	copy(frame[2:], wire)
	if _, err := stream.Write(frame); err != nil {
		return err
	}
	if err := stream.Close(); err != nil {
		return err
	}
	_ = stream.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := io.ReadAll(stream)
	if err != nil {
		return err
	}
	if len(resp) < 14 || int(binary.BigEndian.Uint16(resp)) != len(resp)-2 {
		return fmt.Errorf("bad answer of %d bytes", len(resp))
	}
	if resp[5]&0x0f != 0 {
		return fmt.Errorf("rcode %d", resp[5]&0x0f)
	}
	return nil
}

func load(addr string, tlsConf *tls.Config, qtype string, seconds float64, conns, streams, names int, zone string, qps float64) {
	t, ok := dns.StringToType[qtype]
	if !ok {
		fail("unknown type %s", qtype)
	}
	wires := make([][]byte, names)
	for i := range wires {
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(fmt.Sprintf("h%d.%s", i, zone)), t)
		m.Id = 0
		w, err := m.Pack()
		if err != nil {
			fail("pack: %v", err)
		}
		wires[i] = w
	}
	deadline := time.Now().Add(time.Duration(seconds * float64(time.Second)))
	type result struct {
		lat    []time.Duration
		errors int
	}
	results := make(chan result, conns*streams)
	// Paced load: a query waits for a token; tokens come at the rate asked, and ones nobody takes are dropped,
	// so a slow phase is not followed by a burst.
	var tokens chan struct{}
	if qps > 0 {
		tokens = make(chan struct{})
		go func() {
			tick := time.NewTicker(time.Duration(float64(time.Second) / qps))
			defer tick.Stop()
			for time.Now().Before(deadline) {
				<-tick.C
				select {
				case tokens <- struct{}{}:
				default:
				}
			}
			close(tokens)
		}()
	}
	start := time.Now()
	for c := 0; c < conns; c++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		conn, err := quic.DialAddrContext(ctx, addr, tlsConf, &quic.Config{MaxIdleTimeout: 10 * time.Second})
		cancel()
		if err != nil {
			fail("dial: %v", err)
		}
		defer conn.CloseWithError(0, "")
		for s := 0; s < streams; s++ {
			go func(seed int) {
				r := result{}
				for i := seed; time.Now().Before(deadline); i += conns * streams {
					if tokens != nil {
						if _, open := <-tokens; !open {
							break
						}
					}
					t0 := time.Now()
					if err := query(conn, wires[i%len(wires)]); err != nil {
						if r.errors == 0 {
							fmt.Fprintf(os.Stderr, "doq_client: first error: %v\n", err)
						}
						r.errors++
						continue
					}
					r.lat = append(r.lat, time.Since(t0))
				}
				results <- r
			}(c*streams + s)
		}
	}
	var all []time.Duration
	errs := 0
	for i := 0; i < conns*streams; i++ {
		r := <-results
		all = append(all, r.lat...)
		errs += r.errors
	}
	elapsed := time.Since(start).Seconds()
	sort.Slice(all, func(a, b int) bool { return all[a] < all[b] })
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return float64(all[int(p*float64(len(all)-1))].Microseconds()) / 1000
	}
	fmt.Printf("{\"queries\":%d,\"errors\":%d,\"qps\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f}\n",
		len(all), errs, float64(len(all))/elapsed, pct(0.5), pct(0.99))
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "doq_client: "+format+"\n", args...)
	os.Exit(1)
}
