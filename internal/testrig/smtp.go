package testrig

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"syscall"
	"testing"
	"time"
)

// SMTPOptions tune a private SMTP server.
type SMTPOptions struct {
	// TLS offers STARTTLS with a fresh self-signed certificate for
	// 127.0.0.1 and localhost (SMTP.CAFile trusts it).
	TLS bool
	// Username and Password, if set, make AUTH (PLAIN, LOGIN) required;
	// with TLS, only after STARTTLS.
	Username, Password string
	// Replies answer RCPT TO for recipients starting with a key with its
	// value instead of accepting them ("busy@": "451 4.3.0 try again").
	Replies map[string]string
}

// SMTP is a private aiosmtpd server (Debian's python3-aiosmtpd) that keeps
// every message it accepts in a Maildir.
type SMTP struct {
	Host   string
	Port   int
	Addr   string // host:port
	Dir    string // the Maildir
	CAFile string // PEM of the server's certificate, when TLS
	p      *process
}

// smtpScript runs aiosmtpd with the options as JSON in argv[1].
const smtpScript = `import json, sys, ssl, threading
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult

cfg = json.loads(sys.argv[1])

class Handler(Mailbox):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        for prefix, reply in (cfg.get("replies") or {}).items():
            if address.startswith(prefix):
                return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

def authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == cfg["user"].encode() and auth_data.password == cfg["password"].encode()
    return AuthResult(success=ok, handled=False)

kw = {}
if cfg["cert"]:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cfg["cert"], cfg["key"])
    kw["tls_context"] = ctx
if cfg["user"]:
    kw["authenticator"] = authenticator
    kw["auth_required"] = True
    kw["auth_require_tls"] = bool(cfg["cert"])
c = Controller(Handler(cfg["dir"]), hostname="127.0.0.1", port=cfg["port"], **kw)
c.start()
print("aiosmtpd listening on", cfg["port"], flush=True)
threading.Event().wait()
`

// StartSMTP starts an SMTP server for the test and stops it at cleanup.
func StartSMTP(t testing.TB, opt SMTPOptions) *SMTP {
	t.Helper()
	py := findPythonWith(t, "aiosmtpd", "apt-get install -y python3-aiosmtpd")
	dir := t.TempDir()
	port := FreePort(t)
	s := &SMTP{Host: "127.0.0.1", Port: port, Addr: fmt.Sprintf("127.0.0.1:%d", port), Dir: filepath.Join(dir, "maildir")}
	cfg := map[string]any{"port": port, "dir": s.Dir, "cert": "", "key": "", "user": opt.Username, "password": opt.Password, "replies": opt.Replies}
	if opt.TLS {
		cert, key := selfSigned(t, dir)
		cfg["cert"], cfg["key"] = cert, key
		s.CAFile = cert
	}
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "smtpd.py")
	if err := os.WriteFile(script, []byte(smtpScript), 0o644); err != nil {
		t.Fatal(err)
	}
	s.p = &process{t: t, name: "aiosmtpd", bin: py, args: []string{script, string(js)}, log: filepath.Join(dir, "smtpd.log"), ready: dialReady(s.Addr)}
	s.p.start()
	t.Cleanup(func() { s.p.stop(syscall.SIGTERM) })
	return s
}

// Messages returns every message the server has accepted, oldest first,
// as received (headers and body).
func (s *SMTP) Messages(t testing.TB) [][]byte {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(s.Dir, "new"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	type msg struct {
		at time.Time
		b  []byte
	}
	var ms []msg
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(s.Dir, "new", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		info, _ := e.Info()
		ms = append(ms, msg{info.ModTime(), b})
	}
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].at.Before(ms[j].at) })
	out := make([][]byte, len(ms))
	for i, m := range ms {
		out[i] = m.b
	}
	return out
}

// Log returns the end of the server's log.
func (s *SMTP) Log() string { return s.p.tail() }

// findPythonWith finds a python3 that can import module: Debian's
// /usr/bin/python3 first (where apt installs python3-* packages), then
// the one on PATH.
func findPythonWith(t testing.TB, module, install string) string {
	t.Helper()
	cands := []string{"/usr/bin/python3"}
	if p, err := exec.LookPath("python3"); err == nil {
		cands = append(cands, p)
	}
	for _, p := range cands {
		if exec.Command(p, "-c", "import "+module).Run() == nil {
			return p
		}
	}
	msg := fmt.Sprintf("no python3 with %s; install it with: %s (or run the README's test command, scripts/test, which does)", module, install)
	if os.Getenv("LIFTWATCH_REQUIRE_SERVICES") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// selfSigned writes a certificate for 127.0.0.1 and localhost, and its key.
func selfSigned(t testing.TB, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "testrig smtp"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
