package jmespath

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"
)

// x509_decode turns an RSA certificate or CSR into Kyverno's object: the
// x509 struct as JSON with PublicKey replaced by {N, E}; other key
// algorithms are refused with Kyverno's text.
func TestX509Decode(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	subject := pkix.Name{CommonName: "decode.test"}
	certPEM := func(key any, pub any) string {
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(42),
			Subject:      subject,
			NotBefore:    time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
			NotAfter:     time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, key)
		if err != nil {
			t.Fatal(err)
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	}
	csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: subject}, rsaKey)
	if err != nil {
		t.Fatal(err)
	}
	csrPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER}))

	jp := New()
	for _, tc := range []struct {
		name, pem string
	}{
		{"certificate", certPEM(rsaKey, &rsaKey.PublicKey)},
		{"certificate request", csrPEM},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := jp.Search("x509_decode(p)", map[string]any{"p": tc.pem})
			if err != nil {
				t.Fatalf("x509_decode: %v", err)
			}
			obj, ok := got.(map[string]any)
			if !ok {
				t.Fatalf("x509_decode gave %T, want an object", got)
			}
			if cn := obj["Subject"].(map[string]any)["CommonName"]; cn != "decode.test" {
				t.Errorf("Subject.CommonName = %v", cn)
			}
			pub, _ := obj["PublicKey"].(map[string]any)
			if pub["N"] != rsaKey.N.String() || pub["E"] != float64(rsaKey.E) {
				t.Errorf("PublicKey = %v, want N=%s E=%d", obj["PublicKey"], rsaKey.N, rsaKey.E)
			}
		})
	}
	_, err = jp.Search("x509_decode(p)", map[string]any{"p": certPEM(ecKey, &ecKey.PublicKey)})
	if want := "certificate should use rsa algorithm"; err == nil || err.Error() != want {
		t.Errorf("ECDSA certificate: error %v, want %q", err, want)
	}
}
