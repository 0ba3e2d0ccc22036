package paging

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/liftwatch/liftwatch/alerts"
)

// The answers of a link.
var (
	// ErrLinkInvalid is a token unknown, spent or expired: the three are
	// answered alike, so the link says nothing to someone guessing.
	ErrLinkInvalid = errors.New("this link is no longer valid")
)

// LinkInfo is what a link's page shows: the alert and whom it was sent to.
type LinkInfo struct {
	Page  Page
	Alert *alerts.Alert // nil if not open
}

// OpenLink reads what a link is about, without acknowledging anything (a
// GET, a link preview).
func (p *Pager) OpenLink(ctx context.Context, raw string) (*LinkInfo, error) {
	if !validToken(raw) {
		return nil, ErrLinkInvalid
	}
	r, err := p.o.Store.PageByToken(ctx, HashToken(raw))
	if err != nil {
		return nil, err
	}
	now := p.now()
	if r == nil || r.TokenSpent != nil || !now.Before(r.TokenExpires) {
		return nil, ErrLinkInvalid
	}
	a, ok := p.o.Engine.Get(r.AlertID)
	if !ok {
		return nil, ErrLinkInvalid // resolved: its links expired
	}
	return &LinkInfo{Page: *r, Alert: a}, nil
}

// AckLink acknowledges the link's alert as the person paged (their
// account, else their name), once: the token is spent first. An alert that
// someone else acknowledged already is no error: the answer says who.
func (p *Pager) AckLink(ctx context.Context, raw string) (*LinkInfo, error) {
	info, err := p.OpenLink(ctx, raw)
	if err != nil {
		return nil, err
	}
	r := info.Page
	now := p.now()
	ok, err := p.o.Store.SpendToken(ctx, r.TokenHash, now)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrLinkInvalid // spent by a request in between
	}
	actor := r.User
	if actor == "" {
		actor = r.PersonName
	}
	a, err := p.o.Engine.Acknowledge(r.AlertID, alerts.Action{Actor: actor,
		Note: fmt.Sprintf("acknowledged from the link of the page sent by %s", via(&r))})
	var te *alerts.TransitionError
	var nf *alerts.NotFoundError
	switch {
	case errors.As(err, &nf):
		return nil, ErrLinkInvalid
	case errors.As(err, &te):
		cur, _ := p.o.Engine.Get(r.AlertID)
		info.Alert = cur
		return info, nil
	case err != nil:
		return nil, err
	}
	info.Alert = a
	p.mu.Lock()
	defer p.mu.Unlock()
	row := &r
	if live := p.rows[r.ID]; live != nil {
		row = live
	} else if fresh, err := p.o.Store.PageByKey(ctx, r.Key); err == nil && fresh != nil {
		row = fresh
	}
	row.State, row.AckAt, row.AckBy, row.UpdatedAt = Acknowledged, &now, actor, now
	row.TokenSpent = &now
	p.write(ctx, row)
	info.Page = *row
	p.o.Engine.Record(r.AlertID, "page_acknowledged", fmt.Sprintf("%s acknowledged from the link of the page sent by %s",
		who(r.PersonName, r.Role), via(&r)))
	return info, nil
}

func validToken(raw string) bool {
	if len(raw) != 26 {
		return false
	}
	for _, c := range raw {
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// LinkHandler serves GET /k/{token}: a small page for a phone with the
// alert and one button, and POST /k (the button: the token is a form
// field, so it is in no URL a request log or the audit keeps), which
// acknowledges as the person paged. csrf gives the session's CSRF token when the request has one (a
// signed-in browser), for the form.
func (p *Pager) LinkHandler(csrf func(*http.Request) string) http.Handler {
	lim := &misuse{now: p.now, m: map[string][]time.Time{}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw := r.PathValue("token")
		if r.Method == http.MethodPost {
			raw = r.PostFormValue("token")
		}
		lg := pageLang(r, "")
		host := remoteHost(r)
		var info *LinkInfo
		var err error
		done := false
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			info, err = p.OpenLink(r.Context(), raw)
		case http.MethodPost:
			info, err = p.AckLink(r.Context(), raw)
			done = err == nil
		default:
			w.Header().Set("Allow", "GET, HEAD, POST")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if errors.Is(err, ErrLinkInvalid) && lim.blocked(host) {
			// Only invalid links are slowed: a valid one from the same
			// address (a carrier's NAT, a proxy) always works.
			p.log.Warn("acknowledge link: too many invalid links from one address", "remote", host)
			w.Header().Set("Retry-After", "600")
			p.renderLink(w, http.StatusTooManyRequests, lg, linkView{Invalid: true, TooMany: true})
			return
		}
		if errors.Is(err, ErrLinkInvalid) {
			lim.fail(host)
			p.log.Warn("acknowledge link: unknown, spent or expired token", "remote", host, "method", r.Method)
			p.renderLink(w, http.StatusGone, lg, linkView{Invalid: true})
			return
		}
		if err != nil {
			p.log.Error("acknowledge link", "err", err)
			http.Error(w, "cannot answer now: try again", http.StatusInternalServerError)
			return
		}
		lg = pageLang(r, info.Page.Lang)
		v := linkView{Lift: info.Page.Lift, Address: info.Page.Params["address"], Estate: info.Page.Params["estate"],
			Kind: kindText(info.Page.Params["type"], lg), At: info.Page.Params["at"], Person: info.Page.PersonName,
			Token: raw, Done: done}
		if csrf != nil {
			v.CSRF = csrf(r)
		}
		if a := info.Alert; a != nil && a.State != alerts.StateOpen {
			v.AckBy = a.AckBy
			v.Taken = !done
		}
		p.renderLink(w, http.StatusOK, lg, v)
	})
}

// pageLang is the link page's language: the person's if English; else
// the language chosen in liftwatch's pages on this browser (the lw_lang
// cookie); else the browser's first choice if English; else Chinese.
func pageLang(r *http.Request, person string) string {
	if lang(person) == "en" {
		return "en"
	}
	if c, err := r.Cookie("lw_lang"); err == nil && (c.Value == "zh" || c.Value == "en") {
		return c.Value
	}
	first, _, _ := strings.Cut(r.Header.Get("Accept-Language"), ",")
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(first)), "en") {
		return "en"
	}
	return "zh"
}

type linkView struct {
	Invalid, TooMany, Done, Taken bool
	Lift, Address, Estate, Kind   string
	At, Person, Token, CSRF       string
	AckBy                         string
	T                             map[string]string
	Lang                          string
}

var linkTexts = map[string]map[string]string{
	"zh": {"title": "告警确认", "invalid": "此链接已失效", "invalid_more": "链接已使用、已过期或不存在。请打开值班页面或联系值班台。",
		"toomany": "尝试次数过多，请稍后再试。", "lift": "电梯", "address": "地址", "what": "情况", "at": "报警时间", "to": "发送给",
		"button": "我已收到，马上处理", "done": "已确认，谢谢。告警已记录为由您处理。", "taken": "此告警已由他人确认：",
		"preview": "打开链接不会确认；请按下方按钮确认。"},
	"en": {"title": "Acknowledge alert", "invalid": "This link is no longer valid", "invalid_more": "It was used, has expired or does not exist. Open the duty board or call the duty desk.",
		"toomany": "Too many attempts: try again later.", "lift": "Lift", "address": "Address", "what": "What", "at": "Alarm at", "to": "Sent to",
		"button": "I'm on it", "done": "Acknowledged, thank you. The alert is recorded as yours.", "taken": "Already acknowledged by",
		"preview": "Opening the link acknowledges nothing: press the button."},
}

var linkPage = template.Must(template.New("k").Parse(`<!doctype html>
<html lang="{{if eq .Lang "en"}}en{{else}}zh-CN{{end}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{.T.title}}</title>
<link rel="stylesheet" href="/assets/app.css">
</head>
<body data-page="ack-link">
<main id="main" class="ack-link">
{{if .Invalid}}<h1 id="invalid">{{.T.invalid}}</h1><p>{{if .TooMany}}{{.T.toomany}}{{else}}{{.T.invalid_more}}{{end}}</p>
{{else}}<h1>{{.Kind}}</h1>
<dl>
<dt>{{.T.lift}}</dt><dd id="lift">{{.Lift}}</dd>
<dt>{{.T.address}}</dt><dd id="address">{{.Estate}} {{.Address}}</dd>
<dt>{{.T.at}}</dt><dd>{{.At}}</dd>
<dt>{{.T.to}}</dt><dd>{{.Person}}</dd>
</dl>
{{if .Done}}<p id="done" class="ok">{{.T.done}}</p>
{{else if .Taken}}<p id="taken">{{.T.taken}} {{.AckBy}}</p>
{{else}}<form method="post" action="/k"><input type="hidden" name="token" value="{{.Token}}">{{if .CSRF}}<input type="hidden" name="csrf_token" value="{{.CSRF}}">{{end}}
<button type="submit" id="ack" class="primary">{{.T.button}}</button></form>
<p class="hint">{{.T.preview}}</p>{{end}}
{{end}}
</main>
</body>
</html>
`))

// InvalidLink answers a link when paging is off: as a link that is no
// longer valid.
func InvalidLink(w http.ResponseWriter, r *http.Request) {
	renderLink(w, http.StatusGone, pageLang(r, ""), linkView{Invalid: true}, nil)
}

func (p *Pager) renderLink(w http.ResponseWriter, status int, lg string, v linkView) {
	renderLink(w, status, lg, v, p.log)
}

func renderLink(w http.ResponseWriter, status int, lg string, v linkView, log *slog.Logger) {
	v.Lang, v.T = lg, linkTexts[lg]
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	if err := linkPage.Execute(w, v); err != nil && log != nil {
		log.Error("render link page", "err", err)
	}
}

func remoteHost(r *http.Request) string {
	h, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return h
}

// misuse counts invalid links per client address: 20 in 10 minutes
// blocks the address until the oldest leaves the window.
type misuse struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[string][]time.Time
}

const (
	misuseMax    = 20
	misuseWindow = 10 * time.Minute
)

func (l *misuse) live(host string) []time.Time {
	now := l.now()
	fs := l.m[host]
	i := 0
	for i < len(fs) && !fs[i].After(now.Add(-misuseWindow)) {
		i++
	}
	fs = fs[i:]
	if len(fs) == 0 {
		delete(l.m, host)
	} else {
		l.m[host] = fs
	}
	return fs
}

func (l *misuse) blocked(host string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.live(host)) >= misuseMax
}

func (l *misuse) fail(host string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.m) > 10000 { // many addresses: forget those whose failures aged out
		for h := range l.m {
			l.live(h)
		}
	}
	l.m[host] = append(l.live(host), l.now())
}
