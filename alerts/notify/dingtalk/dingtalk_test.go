package dingtalk

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/alerts/notify"
)

// The sign of DingTalk's documented Python sample (hmac.new(secret,
// f"{timestamp}\n{secret}", sha256), base64, urllib.parse.quote_plus) run
// with timestamp 1577836800000 and secret "SECthis is secret".
const (
	kaTimestamp = 1577836800000
	kaSecret    = "SECthis is secret"
	kaSignQuery = "sign=HSo4otzodoEFGujZo%2FItiq5S1p1Ws5OYf1%2Bj8s45PMg%3D"
)

// standIn is a local DingTalk robot: it checks the access token and, when it
// has a secret, the timestamp (within an hour of its clock) and the sign,
// computed here from the documented algorithm; then the body.
type standIn struct {
	token, secret string
	now           time.Time
	mu            sync.Mutex
	bodies        []map[string]any
	rawQueries    []string
	replies       []string
	status        int
}

func (s *standIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.status != 0 {
		w.WriteHeader(s.status)
		return
	}
	q := r.URL.Query()
	if r.Method != http.MethodPost || r.URL.Path != "/robot/send" || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		fmt.Fprint(w, `{"errcode":40035,"errmsg":"bad request"}`)
		return
	}
	if q.Get("access_token") != s.token {
		fmt.Fprint(w, `{"errcode":300001,"errmsg":"token is not exist"}`)
		return
	}
	if s.secret != "" {
		ts, err := strconv.ParseInt(q.Get("timestamp"), 10, 64)
		mac := hmac.New(sha256.New, []byte(s.secret))
		fmt.Fprintf(mac, "%s\n%s", q.Get("timestamp"), s.secret)
		want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
		if err != nil || time.UnixMilli(ts).Sub(s.now).Abs() > time.Hour || q.Get("sign") != want {
			fmt.Fprint(w, `{"errcode":310000,"errmsg":"sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]"}`)
			return
		}
	}
	b, _ := io.ReadAll(r.Body)
	var body map[string]any
	if err := json.Unmarshal(b, &body); err != nil {
		fmt.Fprint(w, `{"errcode":40035,"errmsg":"bad json"}`)
		return
	}
	md, _ := body["markdown"].(map[string]any)
	if body["msgtype"] != "markdown" || md["title"] == "" || md["text"] == "" {
		fmt.Fprint(w, `{"errcode":40035,"errmsg":"missing markdown title or text"}`)
		return
	}
	s.bodies = append(s.bodies, body)
	s.rawQueries = append(s.rawQueries, r.URL.RawQuery)
	reply := `{"errcode":0,"errmsg":"ok"}`
	if len(s.replies) > 0 {
		reply, s.replies = s.replies[0], s.replies[1:]
	}
	fmt.Fprint(w, reply)
}

var page = notify.Message{Key: "p1", To: "13800138000", Subject: "JW-0042 困人", Text: "逸仙路 25 弄 3 号 有人被困\n确认: https://lw.example/a/Xyz", Link: "https://lw.example/a/Xyz"}

// TestSignKnownAnswer: the sign, URL-encoded in the request, is the one the
// documented sample computes.
func TestSignKnownAnswer(t *testing.T) {
	now := time.UnixMilli(kaTimestamp)
	st := &standIn{token: "tok", secret: kaSecret, now: now}
	srv := httptest.NewServer(st)
	defer srv.Close()
	r := &Robot{URL: srv.URL + "/robot/send", AccessToken: "tok", Secret: kaSecret, Now: func() time.Time { return now }}
	if err := r.Notify(context.Background(), page); err != nil {
		t.Fatal(err)
	}
	if raw := st.rawQueries[0]; !strings.Contains(raw, kaSignQuery) || !strings.Contains(raw, "timestamp=1577836800000") {
		t.Errorf("query %q, want %q and the timestamp", raw, kaSignQuery)
	}
}

// TestSignedMarkdown: the markdown body with its title, the @-mention of the
// paged number, and a sign the stand-in accepts; a wrong secret or a clock
// more than an hour off is refused (310000) and not retried.
func TestSignedMarkdown(t *testing.T) {
	now := time.Date(2026, 12, 8, 2, 30, 0, 0, time.UTC)
	st := &standIn{token: "tok", secret: "SECabc", now: now}
	srv := httptest.NewServer(st)
	defer srv.Close()
	clock := func() time.Time { return now }
	r := &Robot{URL: srv.URL + "/robot/send", AccessToken: "tok", Secret: "SECabc", Now: clock}
	if err := r.Notify(context.Background(), page); err != nil {
		t.Fatal(err)
	}
	b := st.bodies[0]
	md := b["markdown"].(map[string]any)
	if md["title"] != page.Subject || md["text"] != "#### "+page.Subject+"\n\n"+page.Text+"\n\n@13800138000" {
		t.Errorf("markdown %v", md)
	}
	if at := b["at"].(map[string]any); fmt.Sprint(at["atMobiles"]) != "[13800138000]" || at["isAtAll"] != false {
		t.Errorf("at %v", at)
	}
	for name, bad := range map[string]*Robot{
		"wrong secret": {URL: r.URL, AccessToken: "tok", Secret: "SECxyz", Now: clock},
		"no secret":    {URL: r.URL, AccessToken: "tok"},
		"clock 2h off": {URL: r.URL, AccessToken: "tok", Secret: "SECabc", Now: func() time.Time { return now.Add(2 * time.Hour) }},
	} {
		err := bad.Notify(context.Background(), page)
		var ne *notify.Error
		if !errors.As(err, &ne) || ne.Retryable || !strings.Contains(err.Error(), "310000") {
			t.Errorf("%s: %v, want a not-retryable 310000", name, err)
		}
	}
}

// TestUnsignedRobot: a robot secured by keyword takes no timestamp or sign.
func TestUnsignedRobot(t *testing.T) {
	st := &standIn{token: "tok"}
	srv := httptest.NewServer(st)
	defer srv.Close()
	if err := (&Robot{URL: srv.URL + "/robot/send", AccessToken: "tok"}).Notify(context.Background(), notify.Message{Text: "第一行\n第二行"}); err != nil {
		t.Fatal(err)
	}
	if raw := st.rawQueries[0]; strings.Contains(raw, "sign=") || strings.Contains(raw, "timestamp=") {
		t.Errorf("unsigned robot got %q", raw)
	}
	if md := st.bodies[0]["markdown"].(map[string]any); md["title"] != "第一行" {
		t.Errorf("title %v, want the first line", md["title"])
	}
}

// TestErrorClasses: 130101/410100 (too fast) and -1 are worth a retry, as
// are 5xx and an unreachable robot; a bad token is not.
func TestErrorClasses(t *testing.T) {
	st := &standIn{token: "tok"}
	srv := httptest.NewServer(st)
	defer srv.Close()
	r := &Robot{URL: srv.URL + "/robot/send", AccessToken: "tok"}
	for reply, retry := range map[string]bool{
		`{"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"}`: true,
		`{"errcode":410100,"errmsg":"send too fast"}`:                             true,
		`{"errcode":-1,"errmsg":"system busy"}`:                                   true,
		`{"errcode":400102,"errmsg":"robot stopped"}`:                             false,
		`not json`: false,
	} {
		st.replies = []string{reply}
		err := r.Notify(context.Background(), page)
		var ne *notify.Error
		if !errors.As(err, &ne) || ne.Retryable != retry {
			t.Errorf("%s: got %v, want Retryable %v", reply, err, retry)
		}
	}
	if err := (&Robot{URL: r.URL, AccessToken: "nope"}).Notify(context.Background(), page); err == nil || notify.Retryable(err) || !strings.Contains(err.Error(), "300001") {
		t.Errorf("bad token: %v", err)
	}
	st.status = 503
	if err := r.Notify(context.Background(), page); !notify.Retryable(err) {
		t.Errorf("503: %v, want retryable", err)
	}
	srv.Close()
	if err := r.Notify(context.Background(), page); !notify.Retryable(err) || strings.Contains(err.Error(), "tok") {
		t.Errorf("unreachable: %v, want retryable, without the token", err)
	}
}
