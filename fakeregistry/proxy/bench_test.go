package proxy_test

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/url"
	"sort"
	"testing"
	"time"

	"github.com/imagectx/conformance/fakeregistry"
	"github.com/imagectx/conformance/fakeregistry/proxy"
)

// BenchmarkManifestGet times one manifest GET of ghcr.io/team/app:v1 over
// TLS, straight to the fake's 127.0.0.1 address and through the proxy by
// host name, alternating the two in every iteration so both see the same
// load (the machine is shared). "keepalive" reuses connections, as
// go-containerregistry does within one lookup; "newconn" opens one per
// request (a CONNECT, then a TLS handshake), the worst case. Reported:
// each path's mean and the proxy's added time per request
// (proxy-µs/req, the median over batches of 50).
func BenchmarkManifestGet(b *testing.B) {
	reg, err := fakeregistry.Start(fakeregistry.Config{
		Hosts:  []string{"ghcr.io"},
		Images: []fakeregistry.Image{{Ref: "team/app:v1", Config: fakeregistry.ImageConfig{User: "1000"}}},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer reg.Close()
	p, err := proxy.Start(map[string]string{"ghcr.io": reg.Addr()})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(reg.CACertPEM())
	proxyURL, _ := url.Parse(p.URL())

	for _, mode := range []string{"keepalive", "newconn"} {
		b.Run(mode, func(b *testing.B) {
			newClient := func(viaProxy bool) *http.Client {
				tr := &http.Transport{
					TLSClientConfig:   &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
					DisableKeepAlives: mode == "newconn",
				}
				if viaProxy {
					tr.Proxy = http.ProxyURL(proxyURL)
				}
				return &http.Client{Transport: tr}
			}
			direct, proxied := newClient(false), newClient(true)
			defer direct.CloseIdleConnections()
			defer proxied.CloseIdleConnections()
			get := func(c *http.Client, u string) time.Duration {
				start := time.Now()
				req, _ := http.NewRequest(http.MethodGet, u, nil)
				req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
				res, err := c.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					b.Fatalf("%s: %s", u, res.Status)
				}
				return time.Since(start)
			}
			directURL := "https://" + reg.Addr() + "/v2/team/app/manifests/v1"
			proxiedURL := "https://ghcr.io/v2/team/app/manifests/v1"
			get(direct, directURL) // warm up both paths
			get(proxied, proxiedURL)

			var sumDirect, sumProxied, batchD, batchP time.Duration
			var diffs []float64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				d, pr := get(direct, directURL), get(proxied, proxiedURL)
				sumDirect, sumProxied = sumDirect+d, sumProxied+pr
				batchD, batchP = batchD+d, batchP+pr
				if (i+1)%50 == 0 {
					diffs = append(diffs, float64(batchP-batchD)/50/1e3)
					batchD, batchP = 0, 0
				}
			}
			b.ReportMetric(float64(sumDirect.Microseconds())/float64(b.N), "direct-µs")
			b.ReportMetric(float64(sumProxied.Microseconds())/float64(b.N), "proxied-µs")
			if len(diffs) > 0 {
				sort.Float64s(diffs)
				b.ReportMetric(diffs[len(diffs)/2], "proxy-µs/req")
			}
		})
	}
}
