// doq_client: a minimal DNS-over-QUIC client (RFC 9250) for interop tests. It sends one query with Message ID 0
// on one client-initiated bidirectional stream, closes its side (FIN) right after the 2-byte-length-prefixed
// message, reads the length-prefixed answer and prints it (miekg/dns presentation format). With -id it sends a
// non-zero ID on purpose and reports the connection's close code instead.
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

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "doq_client: "+format+"\n", args...)
	os.Exit(1)
}
