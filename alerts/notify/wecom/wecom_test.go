package wecom

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/liftwatch/liftwatch/alerts/notify"
)

// standIn is a local WeCom webhook: it checks the request the way the
// robot API documents it (POST, JSON, the key in the query, a known
// msgtype with its content) and answers with the next scripted reply.
type standIn struct {
	key     string
	mu      sync.Mutex
	bodies  []map[string]any
	replies []string
	status  int
}

func (s *standIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.status != 0 {
		w.WriteHeader(s.status)
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/cgi-bin/webhook/send" || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		fmt.Fprint(w, `{"errcode":40008,"errmsg":"invalid request"}`)
		return
	}
	if r.URL.Query().Get("key") != s.key {
		fmt.Fprint(w, `{"errcode":93000,"errmsg":"invalid webhook url, hint: [1] from ip"}`)
		return
	}
	b, _ := io.ReadAll(r.Body)
	var body map[string]any
	if err := json.Unmarshal(b, &body); err != nil {
		fmt.Fprint(w, `{"errcode":40058,"errmsg":"bad json"}`)
		return
	}
	mt, _ := body["msgtype"].(string)
	part, _ := body[mt].(map[string]any)
	content, _ := part["content"].(string)
	limit := map[string]int{"markdown": 4096, "text": 2048}[mt]
	if limit == 0 || content == "" || len(content) > limit || !utf8.ValidString(content) {
		fmt.Fprintf(w, `{"errcode":40058,"errmsg":"bad %s content"}`, mt)
		return
	}
	s.bodies = append(s.bodies, body)
	reply := `{"errcode":0,"errmsg":"ok"}`
	if len(s.replies) > 0 {
		reply, s.replies = s.replies[0], s.replies[1:]
	}
	fmt.Fprint(w, reply)
}

var page = notify.Message{Key: "p1", To: "13800138000", Subject: "JW-0042 困人", Text: "逸仙路 25 弄 3 号 有人被困\n确认: https://lw.example/a/Xyz", Link: "https://lw.example/a/Xyz"}

// TestMarkdownAndText: both message types reach the stand-in as documented.
func TestMarkdownAndText(t *testing.T) {
	st := &standIn{key: "k-123"}
	srv := httptest.NewServer(st)
	defer srv.Close()
	url := srv.URL + "/cgi-bin/webhook/send"
	if err := (&Robot{URL: url, Key: "k-123"}).Notify(context.Background(), page); err != nil {
		t.Fatal(err)
	}
	if err := (&Robot{URL: url, Key: "k-123", MsgType: "text"}).Notify(context.Background(), page); err != nil {
		t.Fatal(err)
	}
	md := st.bodies[0]["markdown"].(map[string]any)["content"].(string)
	if st.bodies[0]["msgtype"] != "markdown" || md != "**JW-0042 困人**\n"+page.Text {
		t.Errorf("markdown body %v", st.bodies[0])
	}
	text := st.bodies[1]["text"].(map[string]any)
	if st.bodies[1]["msgtype"] != "text" || text["content"] != "JW-0042 困人\n"+page.Text || fmt.Sprint(text["mentioned_mobile_list"]) != "[13800138000]" {
		t.Errorf("text body %v", st.bodies[1])
	}
}

// TestLongPageKeepsItsLink: a page longer than the robot takes is cut, and
// still ends with the acknowledge link.
func TestLongPageKeepsItsLink(t *testing.T) {
	st := &standIn{key: "k"}
	srv := httptest.NewServer(st)
	defer srv.Close()
	long := page
	long.Text = strings.Repeat("电梯", 1000) + "\n" + page.Link
	if err := (&Robot{URL: srv.URL + "/cgi-bin/webhook/send", Key: "k"}).Notify(context.Background(), long); err != nil {
		t.Fatal(err)
	}
	md := st.bodies[0]["markdown"].(map[string]any)["content"].(string)
	if len(md) > MaxMarkdown || !strings.HasSuffix(md, "…\n"+page.Link) {
		t.Errorf("cut content (%d bytes) ends %q", len(md), md[len(md)-60:])
	}
}

// TestErrorClasses: 45009 and -1 are worth a retry, as are 5xx and network
// errors; a bad key or request is not.
func TestErrorClasses(t *testing.T) {
	st := &standIn{key: "k"}
	srv := httptest.NewServer(st)
	defer srv.Close()
	r := &Robot{URL: srv.URL + "/cgi-bin/webhook/send", Key: "k"}
	for reply, retry := range map[string]bool{
		`{"errcode":45009,"errmsg":"api freq out of limit"}`:     true,
		`{"errcode":-1,"errmsg":"system busy"}`:                  true,
		`{"errcode":40058,"errmsg":"invalid Request Parameter"}`: false,
		`{"errmsg":"no code"}`:                                   false,
	} {
		st.replies = []string{reply}
		err := r.Notify(context.Background(), page)
		var ne *notify.Error
		if !errors.As(err, &ne) || ne.Retryable != retry {
			t.Errorf("%s: got %v, want Retryable %v", reply, err, retry)
		}
	}
	bad := &Robot{URL: r.URL, Key: "wrong"}
	if err := bad.Notify(context.Background(), page); err == nil || notify.Retryable(err) || !strings.Contains(err.Error(), "93000") {
		t.Errorf("wrong key: %v, want a not-retryable 93000", err)
	}
	st.status = 502
	if err := r.Notify(context.Background(), page); !notify.Retryable(err) {
		t.Errorf("502: %v, want retryable", err)
	}
	srv.Close()
	if err := r.Notify(context.Background(), page); !notify.Retryable(err) || strings.Contains(err.Error(), "key=k") {
		t.Errorf("unreachable: %v, want retryable and without the key", err)
	}
}
