// Command fakeregistry serves a fakeregistry YAML config on 127.0.0.1 (or
// --listen) until SIGINT or SIGTERM. It prints the bound host:port on a line
// of its own on stdout once it accepts connections, and logs every request
// (never credentials) on stderr. With --proxy-listen and hosts in the
// config it also runs the registry proxy for them and prints its URL (the
// HTTPS_PROXY value) on a second stdout line.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/imagectx/conformance/fakeregistry"
	"github.com/imagectx/conformance/fakeregistry/cosign"
	"github.com/imagectx/conformance/fakeregistry/proxy"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "fakeregistry:", err)
		}
		os.Exit(2)
	}
}

type hostList []string

func (h *hostList) String() string     { return strings.Join(*h, ",") }
func (h *hostList) Set(v string) error { *h = append(*h, v); return nil }

// run serves until ctx ends; it is main without the process around it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("fakeregistry", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "YAML config file to serve (required; see fakeregistry/README.md)")
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on; the default is loopback with a free port")
	caOut := fs.String("ca-out", "", "with tls: true, write the CA certificate (PEM) to this file")
	keysOut := fs.String("public-keys-out", "", "with signingKeys, write each public key (PEM) to <dir>/<key>.pub")
	proxyListen := fs.String("proxy-listen", "", "with hosts, serve them through a registry proxy on this loopback address (e.g. 127.0.0.1:0) and print its URL on a second stdout line")
	quiet := fs.Bool("quiet", false, "do not log requests")
	var tlsHosts hostList
	fs.Var(&tlsHosts, "tls-host", "extra host name or IP for the TLS certificate (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q; the config is given with --config", fs.Args())
	}
	if *configPath == "" {
		return errors.New("--config is required")
	}
	cfg, err := fakeregistry.LoadConfig(*configPath)
	if err != nil {
		return err
	}
	tls := cfg.TLS || len(cfg.Hosts) > 0
	if *caOut != "" && !tls {
		return fmt.Errorf("--ca-out needs tls: true or hosts in %s", *configPath)
	}
	if *proxyListen != "" && len(cfg.Hosts) == 0 {
		return fmt.Errorf("--proxy-listen needs hosts in %s", *configPath)
	}
	if *keysOut != "" && len(cfg.SigningKeys) == 0 {
		return fmt.Errorf("--public-keys-out needs signingKeys in %s", *configPath)
	}
	if len(tlsHosts) > 0 && !tls {
		return fmt.Errorf("--tls-host needs tls: true or hosts in %s", *configPath)
	}
	opts := []fakeregistry.Option{fakeregistry.WithListenAddress(*listen), fakeregistry.WithTLSHosts(tlsHosts...),
		fakeregistry.WithSigner(cosign.NewSigner())}
	if !*quiet {
		logger := &lineLogger{w: stderr}
		opts = append(opts, fakeregistry.WithRequestHook(logger.log))
	}
	srv, err := fakeregistry.Start(cfg, opts...)
	if err != nil {
		return err
	}
	defer srv.Close()
	if *caOut != "" {
		if err := os.WriteFile(*caOut, srv.CACertPEM(), 0o644); err != nil {
			return fmt.Errorf("write CA certificate: %w", err)
		}
	}
	if *keysOut != "" {
		for key, pem := range srv.PublicKeys() {
			if err := os.WriteFile(filepath.Join(*keysOut, key+".pub"), pem, 0o644); err != nil {
				return fmt.Errorf("write public key %s: %w", key, err)
			}
		}
	}
	fmt.Fprintf(stderr, "fakeregistry: serving %d images from %s on %s://%s\n", len(cfg.Images), *configPath, srv.Scheme(), srv.Addr())
	fmt.Fprintln(stdout, srv.Addr())
	if *proxyListen != "" {
		p, err := proxy.Start(srv.Routes(), proxy.WithListenAddress(*proxyListen), proxy.WithTunnelHook(func(t proxy.Tunnel) {
			if !*quiet || t.Target == "" {
				fmt.Fprintf(stderr, "fakeregistry proxy: %s\n", t)
			}
		}))
		if err != nil {
			return err
		}
		defer p.Close()
		fmt.Fprintf(stderr, "fakeregistry: proxy for %s at %s (HTTPS_PROXY)\n", strings.Join(srv.Hosts(), ", "), p.URL())
		fmt.Fprintln(stdout, p.URL())
	}
	<-ctx.Done()
	fmt.Fprintln(stderr, "fakeregistry: shutting down")
	return srv.Close()
}
