package email

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/alerts/notify"
	"github.com/liftwatch/liftwatch/internal/testrig"
)

var page = notify.Message{
	Key: "page/42#1", AlertID: 42, To: "值班 <duty@example.com>", Subject: "JW-0042 困人：逸仙路 25 弄 3 号",
	Text: "JW-0042 电梯困人，请立即到场。\n地址：逸仙路 25 弄 3 号\n确认：https://lw.example/a/Xy_z-9?t=abc=\n.\n最后一行",
	Link: "https://lw.example/a/Xy_z-9?t=abc=",
}

var fixed = time.Date(2026, 12, 8, 10, 30, 0, 0, time.FixedZone("CST", 8*3600))

func pool(t *testing.T, file string) *x509.CertPool {
	t.Helper()
	pem, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(pem) {
		t.Fatal("no certificate in", file)
	}
	return p
}

// TestDeliversThroughRealSMTPServer: over STARTTLS with PLAIN auth, the page
// reaches a real SMTP server (aiosmtpd) addressed to the recipient, with
// the Chinese subject decoding back, the UTF-8 body intact (a line of a
// lone dot included) and the Message-ID made from the key.
func TestDeliversThroughRealSMTPServer(t *testing.T) {
	srv := testrig.StartSMTP(t, testrig.SMTPOptions{TLS: true, Username: "liftwatch", Password: "pa55 word"})
	s := &Sender{Host: srv.Host, Port: srv.Port, From: "电梯卫士 <alerts@liftwatch.example>", Username: "liftwatch", Password: "pa55 word",
		RootCAs: pool(t, srv.CAFile), Now: func() time.Time { return fixed }}
	if err := s.Notify(context.Background(), page); err != nil {
		t.Fatalf("%v\nserver log:\n%s", err, srv.Log())
	}
	msgs := srv.Messages(t)
	if len(msgs) != 1 {
		t.Fatalf("%d messages stored, want 1", len(msgs))
	}
	msg, err := mail.ReadMessage(bytes.NewReader(msgs[0]))
	if err != nil {
		t.Fatal(err)
	}
	h := msg.Header
	if got := h.Get("X-RcptTo"); got != "duty@example.com" {
		t.Errorf("envelope recipient %q", got)
	}
	if got := h.Get("X-MailFrom"); got != "alerts@liftwatch.example" {
		t.Errorf("envelope sender %q", got)
	}
	var dec mime.WordDecoder
	if subj, err := dec.DecodeHeader(h.Get("Subject")); err != nil || subj != page.Subject {
		t.Errorf("subject %q decodes to %q, %v; want %q", h.Get("Subject"), subj, err, page.Subject)
	}
	if to, err := mail.ParseAddress(h.Get("To")); err != nil || to.Name != "值班" || to.Address != "duty@example.com" {
		t.Errorf("To %q: %v %v", h.Get("To"), to, err)
	}
	if from, err := mail.ParseAddress(h.Get("From")); err != nil || from.Name != "电梯卫士" {
		t.Errorf("From %q: %v %v", h.Get("From"), from, err)
	}
	if got, want := h.Get("Message-ID"), "<page=2F42=231.liftwatch@liftwatch.example>"; got != want {
		t.Errorf("Message-ID %q, want %q", got, want)
	}
	if got := h.Get("Content-Type"); got != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type %q", got)
	}
	if d, err := h.Date(); err != nil || !d.Equal(fixed) {
		t.Errorf("Date %q: %v", h.Get("Date"), err)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimRight(strings.ReplaceAll(string(body), "\r\n", "\n"), "\n"); got != page.Text {
		t.Errorf("body %q, want %q", got, page.Text)
	}

	wrong := *s
	wrong.Password = "guess"
	err = wrong.Notify(context.Background(), page)
	var ne *notify.Error
	if !errors.As(err, &ne) || ne.Retryable || !strings.Contains(err.Error(), "535") {
		t.Errorf("wrong password: %v, want a not-retryable 535", err)
	}
	untrusted := *s
	untrusted.RootCAs = nil
	if err := untrusted.Notify(context.Background(), page); err == nil || notify.Retryable(err) || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted certificate: %v, want a not-retryable certificate error", err)
	}
	if n := len(srv.Messages(t)); n != 1 {
		t.Errorf("%d messages stored after the refused sends, want still 1", n)
	}
}

// TestReplyClasses: a 4xx reply is worth a retry, a 5xx is not; a server
// that does not offer STARTTLS is refused unless configured otherwise;
// an unreachable server is worth a retry.
func TestReplyClasses(t *testing.T) {
	srv := testrig.StartSMTP(t, testrig.SMTPOptions{Replies: map[string]string{
		"busy@": "451 4.3.0 mailbox busy, try again later", "nobody@": "550 5.1.1 no such user"}})
	s := &Sender{Host: srv.Host, Port: srv.Port, From: "alerts@liftwatch.example", StartTLS: TLSOpportunistic}
	for to, retry := range map[string]bool{"busy@example.com": true, "nobody@example.com": false} {
		m := page
		m.To = to
		err := s.Notify(context.Background(), m)
		var ne *notify.Error
		if !errors.As(err, &ne) || ne.Retryable != retry || notify.Retryable(err) != retry {
			t.Errorf("%s: %v, want Retryable %v", to, err, retry)
		}
	}
	m := page
	m.To = "someone@example.com"
	if err := s.Notify(context.Background(), m); err != nil {
		t.Fatalf("opportunistic, no TLS offered: %v", err)
	}
	if n := len(srv.Messages(t)); n != 1 {
		t.Errorf("%d messages stored, want the one accepted", n)
	}
	required := *s
	required.StartTLS = ""
	if err := required.Notify(context.Background(), m); err == nil || notify.Retryable(err) || !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("STARTTLS required, not offered: %v, want a not-retryable refusal", err)
	}
	if err := s.Notify(context.Background(), notify.Message{Key: "k", To: "not an address"}); err == nil || notify.Retryable(err) {
		t.Errorf("bad address: %v", err)
	}
	down := *s
	down.Port = testrig.FreePort(t)
	if err := down.Notify(context.Background(), m); !notify.Retryable(err) {
		t.Errorf("server down: %v, want retryable", err)
	}
}

func TestMessageID(t *testing.T) {
	for key, want := range map[string]string{
		"p-1":  "<p-1.liftwatch@x.example>",
		"a b.": "<a=20b=2E.liftwatch@x.example>",
		".a":   "<=2Ea.liftwatch@x.example>",
	} {
		if got := MessageID(key, "me@x.example"); got != want {
			t.Errorf("MessageID(%q) = %q, want %q", key, got, want)
		}
	}
	if a, b := MessageID("", "me@x"), MessageID("", "me@x"); a == b {
		t.Error("random ids repeat")
	}
}
