// Package email sends pages by SMTP (net/smtp): STARTTLS when the server
// offers it (required unless configured otherwise), PLAIN authentication
// when credentials are given, a text/plain UTF-8 body with an RFC 2047
// encoded subject and a Message-ID made from the page's key, so a page sent
// twice after a lost answer is recognisably the same message.
package email

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/liftwatch/liftwatch/alerts/notify"
)

// STARTTLS policies.
const (
	TLSRequired      = "required"      // refuse a server that does not offer STARTTLS (the default)
	TLSOpportunistic = "opportunistic" // use STARTTLS when offered
	TLSOff           = "off"           // never (a relay on the same host)
)

// Sender is one SMTP submission server and the sender address.
type Sender struct {
	Host string
	Port int // 587 unless set
	// From is the sender, "liftwatch <alerts@example.com>" or a bare
	// address.
	From               string
	Username, Password string // PLAIN auth when Username is set
	StartTLS           string // TLSRequired (""), TLSOpportunistic or TLSOff
	// RootCAs verifies the server's certificate (nil: the system's).
	RootCAs *x509.CertPool
	Hello   string           // the EHLO name (default localhost)
	Timeout time.Duration    // of one message's whole exchange (0: 30 s)
	Now     func() time.Time // the Date header's clock (nil: time.Now)
}

// Notify sends the page to Message.To.
func (s *Sender) Notify(ctx context.Context, m notify.Message) error {
	fail := func(retry bool, err error) error {
		return &notify.Error{Channel: "email", Retryable: retry, Err: err}
	}
	from, err := mail.ParseAddress(s.From)
	if err != nil {
		return fail(false, fmt.Errorf("from %q: %w", s.From, err))
	}
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return fail(false, fmt.Errorf("to %q: %w", m.To, err))
	}
	msg := s.compose(from, to, m)
	if err := s.send(ctx, from.Address, to.Address, msg); err != nil {
		return fail(Retryable(err), err)
	}
	return nil
}

// policyError is a refusal of ours (no STARTTLS offered, say): trying again
// does not help.
type policyError struct{ error }

func (s *Sender) send(ctx context.Context, from, to string, msg []byte) (err error) {
	port := s.Port
	if port == 0 {
		port = 587
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(s.Host, strconv.Itoa(port)))
	if err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	c, err := smtp.NewClient(conn, s.Host)
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	hello := s.Hello
	if hello == "" {
		hello = "localhost"
	}
	if err := c.Hello(hello); err != nil {
		return err
	}
	if s.StartTLS != TLSOff {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(&tls.Config{ServerName: s.Host, RootCAs: s.RootCAs, MinVersion: tls.VersionTLS12}); err != nil {
				return fmt.Errorf("starttls: %w", err)
			}
		} else if s.StartTLS == TLSRequired || s.StartTLS == "" {
			return policyError{fmt.Errorf("%s does not offer STARTTLS (set starttls: opportunistic to send unencrypted)", s.Host)}
		}
	}
	if s.Username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return policyError{fmt.Errorf("%s does not offer AUTH, and a username is configured", s.Host)}
		}
		if err := c.Auth(smtp.PlainAuth("", s.Username, s.Password, s.Host)); err != nil {
			var te *textproto.Error
			if !errors.As(err, &te) {
				err = policyError{err} // net/smtp refuses PLAIN over plain text to a remote host
			}
			return fmt.Errorf("auth: %w", err)
		}
	}
	if err := c.Mail(from); err != nil {
		return fmt.Errorf("mail from: %w", err)
	}
	if err := c.Rcpt(to); err != nil {
		return fmt.Errorf("rcpt to %s: %w", to, err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("data: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("data: %w", err)
	}
	_ = c.Quit() // the message is accepted: a failed QUIT changes nothing
	return nil
}

// Retryable says whether a send error is worth a retry: a 4xx SMTP reply
// (transient) is, a 5xx (permanent) is not; nor is a certificate that
// cannot be verified or a refusal of ours; a connection that failed or
// broke is.
func Retryable(err error) bool {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code >= 400 && te.Code < 500
	}
	var pe policyError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	var ve *tls.CertificateVerificationError
	if errors.As(err, &pe) || errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci) || errors.As(err, &ve) {
		return false
	}
	return true
}

// compose writes the message: headers with CRLF, the body quoted-printable.
func (s *Sender) compose(from, to *mail.Address, m notify.Message) []byte {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	subject := m.Subject
	if subject == "" {
		subject, _, _ = strings.Cut(m.Text, "\n")
	}
	var b bytes.Buffer
	header := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	header("From", from.String())
	header("To", to.String())
	header("Subject", mime.BEncoding.Encode("utf-8", subject))
	header("Date", now().Format(time.RFC1123Z))
	header("Message-ID", MessageID(m.Key, from.Address))
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	qp.Write([]byte(m.Text)) // into a bytes.Buffer: cannot fail
	qp.Close()
	b.WriteString("\r\n")
	return b.Bytes()
}

// MessageID is <key@domain of from>, the key's bytes outside [A-Za-z0-9.-_]
// written =XX; a random id when there is no key.
func MessageID(key, fromAddress string) string {
	if key == "" {
		var r [12]byte
		_, _ = rand.Read(r[:])
		key = hex.EncodeToString(r[:])
	}
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		c := key[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || (c == '.' && i > 0 && i < len(key)-1 && key[i-1] != '.') {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "=%02X", c)
		}
	}
	domain := "liftwatch.invalid"
	if _, d, ok := strings.Cut(fromAddress, "@"); ok && d != "" {
		domain = d
	}
	return "<" + b.String() + ".liftwatch@" + domain + ">"
}
