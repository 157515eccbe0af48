// A DoQ (RFC 9250) server on quic-go, the peer of cns's DoQ listener in `deno task bench cns`: it answers
// AAAA for h<i>.<zone> from memory (2001:db8::<i+1>, TTL 3600), one query per stream, as cns does for the same
// names. It prints "ready <port>" once listening and serves until killed.
package main

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/lucas-clemente/quic-go"
	"github.com/miekg/dns"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen host:port")
	certFile := flag.String("cert", "", "PEM certificate chain")
	keyFile := flag.String("key", "", "PEM private key")
	zone := flag.String("zone", "bench.test", "zone of the names h<i>.<zone>")
	flag.Parse()
	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		fail("load certificate: %v", err)
	}
	tlsConf := &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"doq"}}
	ln, err := quic.ListenAddr(*addr, tlsConf, &quic.Config{MaxIncomingStreams: 100})
	if err != nil {
		fail("listen: %v", err)
	}
	fmt.Printf("ready %d\n", ln.Addr().(*net.UDPAddr).Port)
	suffix := "." + dns.Fqdn(*zone)
	for {
		conn, err := ln.Accept(context.Background())
		if err != nil {
			fail("accept: %v", err)
		}
		go serveConn(conn, suffix)
	}
}

func serveConn(conn quic.Connection, suffix string) {
	for {
		stream, err := conn.AcceptStream(context.Background())
		if err != nil {
			return
		}
		go serveStream(stream, suffix)
	}
}

func serveStream(stream quic.Stream, suffix string) {
	defer stream.Close()
	var prefix [2]byte
	if _, err := io.ReadFull(stream, prefix[:]); err != nil {
		return
	}
	wire := make([]byte, binary.BigEndian.Uint16(prefix[:]))
	if _, err := io.ReadFull(stream, wire); err != nil {
		return
	}
	var q dns.Msg
	if err := q.Unpack(wire); err != nil || len(q.Question) != 1 {
		return
	}
	r := new(dns.Msg)
	r.SetReply(&q)
	r.Authoritative = true
	name := strings.ToLower(q.Question[0].Name)
	if q.Question[0].Qtype == dns.TypeAAAA && strings.HasPrefix(name, "h") && strings.HasSuffix(name, suffix) {
		if i, err := strconv.Atoi(strings.TrimSuffix(name[1:], suffix)); err == nil {
			rr, _ := dns.NewRR(fmt.Sprintf("%s 3600 IN AAAA 2001:db8::%x", q.Question[0].Name, i+1))
			r.Answer = append(r.Answer, rr)
		}
	} else {
		r.Rcode = dns.RcodeNameError
	}
	out, err := r.Pack()
	if err != nil {
		return
	}
	frame := make([]byte, 2+len(out))
	binary.BigEndian.PutUint16(frame, uint16(len(out)))
	copy(frame[2:], out)
	_, _ = stream.Write(frame)
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}
