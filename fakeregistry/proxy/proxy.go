// Package proxy is a loopback HTTP proxy that lets clients reach fake
// registries by public host names (ghcr.io, index.docker.io, ...) without
// touching the network. Clients find it through the standard proxy
// variables (HTTPS_PROXY), which Kyverno's registry transport, the Kyverno
// CLI and the Kyverno controllers all honour (Go's
// http.ProxyFromEnvironment). It answers CONNECT host:port for the hosts it
// was given by tunnelling the connection to that host's fake registry on
// 127.0.0.1; the registry's own TLS certificate covers the name, so the
// client's TLS handshake is with the fake. Any other host, and any request
// that is not a CONNECT, gets 403 and is logged: nothing is ever forwarded
// to a host the caller did not name, and routes lead only to loopback
// addresses.
package proxy

import (
	"context"
	"fmt"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Tunnel is one request the proxy answered.
type Tunnel struct {
	// Host is what the client asked for, "host:port" (CONNECT) or the
	// absolute URL's host (a plain proxied request, always refused).
	Host string
	// Target is the loopback address the host is routed to; empty if
	// refused.
	Target string
	// Status is what the client got: 200 (the tunnel opened), 403 (no
	// route: refused), 502 (the fake registry's address refused the
	// dial: it was closed) or 503 (the proxy was closing).
	Status int
}

func (t Tunnel) String() string {
	if t.Target == "" {
		return fmt.Sprintf("CONNECT %s %d refused: no fake registry serves it", t.Host, t.Status)
	}
	return fmt.Sprintf("CONNECT %s %d -> %s", t.Host, t.Status, t.Target)
}

// Option configures Start.
type Option func(*options)

type options struct {
	listen string
	hook   func(Tunnel)
}

// WithListenAddress binds another loopback address than 127.0.0.1:0.
func WithListenAddress(addr string) Option { return func(o *options) { o.listen = addr } }

// WithTunnelHook calls fn for every request, as it is answered (the
// command logs refusals through it).
func WithTunnelHook(fn func(Tunnel)) Option { return func(o *options) { o.hook = fn } }

// Proxy is a running proxy. Close it to free the port and end tunnels.
type Proxy struct {
	routes   map[string]string // "host:port" -> "127.0.0.1:PORT", under mu
	hook     func(Tunnel)
	addr     string
	http     *http.Server
	served   chan struct{}
	mu       sync.Mutex
	log      []Tunnel
	conns    map[net.Conn]struct{}
	closed   bool
	inflight sync.WaitGroup
}

// Start serves routes on 127.0.0.1 with a free port. A route's key is a
// registry host ("ghcr.io", port 443) or "host:port"; its value is the
// loopback "host:port" of the fake registry that answers for it (a
// fakeregistry.Server's Addr, serving TLS for that name). Errors: a target
// that is not a loopback IP address and port, a listen address that is not
// loopback, a key with a bad port.
func Start(routes map[string]string, opts ...Option) (*Proxy, error) {
	o := options{listen: "127.0.0.1:0"}
	for _, opt := range opts {
		opt(&o)
	}
	if err := requireLoopback(o.listen); err != nil {
		return nil, fmt.Errorf("proxy listen address: %w", err)
	}
	p := &Proxy{routes: map[string]string{}, hook: o.hook, served: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	given := map[string]string{} // key -> the host as given, for errors
	for _, host := range slices.Sorted(maps.Keys(routes)) {
		key, err := hostPort(host)
		if err != nil {
			return nil, fmt.Errorf("proxy route %q: %w", host, err)
		}
		if err := requireLoopback(routes[host]); err != nil {
			return nil, fmt.Errorf("proxy route %q: target: %w", host, err)
		}
		if other, dup := given[key]; dup {
			return nil, fmt.Errorf("proxy route %q: %q names the same host %s", host, other, key)
		}
		given[key] = host
		p.routes[key] = routes[host]
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return nil, fmt.Errorf("proxy listen %s: %w", o.listen, err)
	}
	p.addr = ln.Addr().String()
	p.http = &http.Server{
		Handler:           p,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	go func() {
		defer close(p.served)
		_ = p.http.Serve(ln)
	}()
	return p, nil
}

// Route adds a route while the proxy runs (a suite-wide proxy that
// registries of later tests join) and returns the function that removes
// it. Errors: as Start's, and a host that already has a route.
func (p *Proxy) Route(host, target string) (remove func(), err error) {
	key, err := hostPort(host)
	if err != nil {
		return nil, fmt.Errorf("proxy route %q: %w", host, err)
	}
	if err := requireLoopback(target); err != nil {
		return nil, fmt.Errorf("proxy route %q: target: %w", host, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if old, ok := p.routes[key]; ok {
		return nil, fmt.Errorf("proxy route %q: %s leads to %s already", host, key, old)
	}
	p.routes[key] = target
	return func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.routes[key] == target {
			delete(p.routes, key)
		}
	}, nil
}

// Addr is the bound "127.0.0.1:PORT".
func (p *Proxy) Addr() string { return p.addr }

// URL is the value for HTTPS_PROXY (and HTTP_PROXY): "http://127.0.0.1:PORT".
func (p *Proxy) URL() string { return "http://" + p.addr }

// Hosts are the routed hosts, "host:port", sorted.
func (p *Proxy) Hosts() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.routes))
	for h := range p.routes {
		out = append(out, h)
	}
	slices.Sort(out)
	return out
}

// Tunnels returns every request answered so far, oldest first (plain
// requests too, refused with 403).
func (p *Proxy) Tunnels() []Tunnel {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.log)
}

// Refused returns the hosts refused so far, in order, each once.
func (p *Proxy) Refused() []string {
	var out []string
	for _, t := range p.Tunnels() {
		if t.Target == "" && !slices.Contains(out, t.Host) {
			out = append(out, t.Host)
		}
	}
	return out
}

// Close stops accepting, closes every open tunnel and waits for them;
// idempotent.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	err := p.http.Close()
	<-p.served
	p.inflight.Wait()
	if err != nil {
		return fmt.Errorf("proxy close: %w", err)
	}
	return nil
}

func (p *Proxy) record(t Tunnel) {
	p.mu.Lock()
	p.log = append(p.log, t)
	p.mu.Unlock()
	if p.hook != nil {
		p.hook(t)
	}
}

// ServeHTTP answers CONNECT for routed hosts and refuses everything else.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		p.refuse(w, r.Host, fmt.Sprintf("%s %s: this proxy only opens CONNECT tunnels to fake registries", r.Method, r.URL))
		return
	}
	key, err := hostPort(r.Host)
	p.mu.Lock()
	target, ok := p.routes[key]
	p.mu.Unlock()
	if err != nil || !ok {
		p.refuse(w, r.Host, fmt.Sprintf("no fake registry serves %s (served: %s)", r.Host, strings.Join(p.Hosts(), ", ")))
		return
	}
	if !p.enter() {
		p.record(Tunnel{Host: r.Host, Target: target, Status: http.StatusServiceUnavailable})
		http.Error(w, "proxy closing", http.StatusServiceUnavailable)
		return
	}
	defer p.inflight.Done()
	var d net.Dialer
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	upstream, err := d.DialContext(ctx, "tcp", target)
	cancel()
	if err != nil {
		p.record(Tunnel{Host: r.Host, Target: target, Status: http.StatusBadGateway})
		http.Error(w, fmt.Sprintf("fake registry for %s at %s: %v", r.Host, target, err), http.StatusBadGateway)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		upstream.Close()
		http.Error(w, "connection cannot be hijacked", http.StatusInternalServerError)
		return
	}
	client, buf, err := hj.Hijack()
	if err != nil {
		upstream.Close()
		return
	}
	if !p.track(client, upstream) {
		return
	}
	defer p.untrack(client, upstream)
	p.record(Tunnel{Host: r.Host, Target: target, Status: http.StatusOK})
	if _, err := io.WriteString(client, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	// Bytes the client sent after the CONNECT head are in buf already.
	if n := buf.Reader.Buffered(); n > 0 {
		head, _ := buf.Reader.Peek(n)
		if _, err := upstream.Write(head); err != nil {
			return
		}
	}
	splice(client, upstream)
}

func (p *Proxy) refuse(w http.ResponseWriter, host, why string) {
	p.record(Tunnel{Host: host, Status: http.StatusForbidden})
	http.Error(w, "fakeregistry proxy: "+why, http.StatusForbidden)
}

func (p *Proxy) enter() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.inflight.Add(1)
	return true
}

// track registers a tunnel's connections so Close can end them; false
// (and both closed) once Close has begun.
func (p *Proxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		for _, c := range conns {
			_ = c.Close()
		}
		return false
	}
	for _, c := range conns {
		p.conns[c] = struct{}{}
	}
	return true
}

func (p *Proxy) untrack(conns ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
		delete(p.conns, c)
	}
}

// splice copies both ways until either side ends, then closes both (a
// half-closed TLS tunnel has nothing more to say).
func splice(a, b net.Conn) {
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(a, b); done <- struct{}{} }()
	go func() { _, _ = io.Copy(b, a); done <- struct{}{} }()
	<-done
	_ = a.Close()
	_ = b.Close()
	<-done
}

// hostPort is "host:port" with port 443 for a bare host, lower case.
func hostPort(h string) (string, error) {
	h = strings.ToLower(h)
	if !strings.Contains(h, ":") {
		h += ":443"
	}
	host, port, err := net.SplitHostPort(h)
	if err != nil {
		return "", fmt.Errorf("want host or host:port: %w", err)
	}
	if n, err := strconv.Atoi(port); host == "" || err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
		return "", fmt.Errorf("want host or host:port with a port of 1-65535, got %q", h)
	}
	return net.JoinHostPort(host, port), nil
}

// requireLoopback accepts "IP:port" with a loopback IP.
func requireLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("want 127.0.0.1:PORT, got %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("want a loopback address such as 127.0.0.1:PORT, got %q", addr)
	}
	return nil
}
