package wavysim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"time"
)

// FileHost serves a handler (Files) over https on a loopback port, with a
// certificate made for it at start (valid for 127.0.0.1, ::1 and
// localhost, for a day). A client trusts it through Client, or a process
// through SSL_CERT_FILE pointing at a file that holds CertPEM.
type FileHost struct {
	URL     string // https://127.0.0.1:<port>
	CertPEM []byte
	srv     *http.Server
	ln      net.Listener
	pool    *x509.CertPool
}

// NewFileHost serves h over https on addr ("127.0.0.1:0" when empty).
func NewFileHost(h http.Handler, addr string) (*FileHost, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	cert, certPEM, err := selfSigned()
	if err != nil {
		return nil, fmt.Errorf("wavysim: a certificate for the file host: %w", err)
	}
	ln, err := tls.Listen("tcp", addr, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		return nil, fmt.Errorf("wavysim: file host: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	fh := &FileHost{
		URL:     "https://" + ln.Addr().String(),
		CertPEM: certPEM,
		srv:     &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)},
		ln:      ln,
		pool:    pool,
	}
	go func() { _ = fh.srv.Serve(ln) }() // returns when Close is called
	return fh, nil
}

// Client returns an HTTP client that trusts the file host's certificate
// (and no other).
func (fh *FileHost) Client() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: fh.pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr}
}

// Close stops the file host.
func (fh *FileHost) Close() error { return fh.srv.Close() }

// selfSigned makes an ECDSA certificate for the loopback names.
func selfSigned() (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "wavysim file host"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, certPEM, nil
}
