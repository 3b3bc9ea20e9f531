package fakeregistry

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"time"
)

// tlsHosts is what the certificate covers: loopback names, the listen host
// (unless it is a wildcard address) and any extra hosts.
func tlsHosts(addr string, extra []string) []string {
	hosts := []string{"127.0.0.1", "::1", "localhost"}
	if h, _, err := net.SplitHostPort(addr); err == nil {
		if ip := net.ParseIP(h); ip == nil || !ip.IsUnspecified() {
			hosts = append(hosts, h)
		}
	}
	return append(hosts, extra...)
}

// newKeyAndTemplate returns a fresh ECDSA P-256 key and a certificate
// template with a random serial, subject cn, validity from an hour before
// now, and hosts as IP or DNS subject alternative names.
func newKeyAndTemplate(cn string, hosts []string, now time.Time, validity time.Duration) (*ecdsa.PrivateKey, *x509.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"imagectx conformance"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(validity),
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	return key, tmpl, nil
}

// selfSignedCert makes a certificate that is its own CA, so callers trust
// the server by adding this one certificate (Server.CACertPEM) to their pool.
func selfSignedCert(hosts []string, now time.Time) (tls.Certificate, []byte, error) {
	key, tmpl, err := newKeyAndTemplate("fakeregistry", hosts, now, 365*24*time.Hour)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	tmpl.BasicConstraintsValid, tmpl.IsCA = true, true
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, certPEM, nil
}

// CA is a certificate authority for fake registries' serving certificates
// (WithCA), so a client started before the registries, such as a cluster's
// Kyverno controllers given SSL_CERT_FILE, trusts every one of them. Its
// private key never leaves the process.
type CA struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
}

// NewCA makes an ECDSA P-256 certificate authority valid from an hour
// before now for a year.
func NewCA(now time.Time) (*CA, error) {
	key, tmpl, err := newKeyAndTemplate("fakeregistry CA", nil, now, 365*24*time.Hour)
	if err != nil {
		return nil, fmt.Errorf("fakeregistry CA: %w", err)
	}
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
	tmpl.BasicConstraintsValid, tmpl.IsCA = true, true
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("fakeregistry CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("fakeregistry CA certificate: %w", err)
	}
	return &CA{cert: cert, key: key, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

// CertPEM is the CA certificate to trust, PEM encoded.
func (c *CA) CertPEM() []byte { return append([]byte(nil), c.certPEM...) }

// issue makes a serving certificate for hosts signed by the CA.
func (c *CA) issue(hosts []string, now time.Time) (tls.Certificate, error) {
	key, tmpl, err := newKeyAndTemplate("fakeregistry", hosts, now, 30*24*time.Hour)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &key.PublicKey, c.key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der, c.cert.Raw}, PrivateKey: key}, nil
}
