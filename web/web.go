// Package web is liftwatch's browser app: static HTML shells and vanilla ES
// modules embedded in the binary (no build step), served beside the JSON API
// by the same server. The pages read and act only through /api/v1, so the
// server's guards decide what anyone may see or do; the pages merely hide
// what a role cannot use (docs/web.md).
package web

import (
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/liftwatch/liftwatch/api"
	"github.com/liftwatch/liftwatch/identity"
)

//go:embed pages/*.html assets
var files embed.FS

// Router is where the pages are registered: the API server's Handle, so
// they share its conventions (404 and 405 in the envelope) and its guards.
type Router interface {
	Handle(pattern string, g api.Guard, h http.Handler)
}

// Clocks are an estate's two legal clocks of a rescue: notify the
// maintainer (acknowledge) within Ack, someone on site within OnSite; a
// critical fault's technician on site within CriticalOnSite (its notify
// clock is Ack); and StillReported, after which a condition still reported
// after a rescue was resolved becomes a rescue again.
type Clocks struct {
	Ack, OnSite, CriticalOnSite, StillReported time.Duration
}

// Deps are what the pages' own routes read.
type Deps struct {
	// Now is the time of the alert clocks (the engine's clock, fake in
	// tests): the board counts its SLA clocks down from it, not from the
	// browser's clock.
	Now func() time.Time
	// Clocks gives an estate's rescue clocks (the alert policy).
	Clocks func(estate string) Clocks
	// Estates lists the estates of the register (for per-estate clocks).
	Estates func() []string
}

// Page is one HTML shell and the path it is served at.
type Page struct {
	Pattern string // http.ServeMux pattern
	File    string // under pages/
}

// Pages are the pages the binary serves.
var Pages = []Page{
	{"GET /{$}", "board.html"},
	{"GET /login", "login.html"},
	{"GET /fleet", "fleet.html"},
	{"GET /lifts/{id}", "lift.html"},
	{"GET /work-orders", "workorders.html"},
	{"GET /work-orders/{id}", "workorder.html"},
	{"GET /supervision", "supervision.html"},
	{"GET /owner", "owner.html"},
	{"GET /inbox", "inbox.html"},
	{"GET /users", "users.html"},
}

// Register adds the pages, their assets and the board's clock to r. The
// shells and assets are public (they hold no data); every datum comes from
// a guarded API route, and a page whose /api/v1/me answers 401 goes to
// /login.
func Register(r Router, d Deps) {
	for _, p := range Pages {
		body, err := files.ReadFile("pages/" + p.File)
		if err != nil {
			panic("web: missing page " + p.File) // embedded at build time: a programming error
		}
		r.Handle(p.Pattern, api.Guard{Public: true}, shell(body))
	}
	assets, _ := fs.Sub(files, "assets")
	r.Handle("GET /assets/{path...}", api.Guard{Public: true}, assetHandler(assets))
	r.Handle("GET /web/clock", api.Guard{Action: identity.ReadAlert}, clockHandler(d))
	if nf, ok := r.(notFoundRouter); ok {
		page, err := files.ReadFile("pages/notfound.html")
		if err != nil {
			panic("web: missing page notfound.html") // embedded at build time
		}
		nf.HandleNotFound(NotFound(page))
	}
}

// notFoundRouter is a Router that can answer a browser's unknown path with
// a page (the API server: unknown /api/ paths stay JSON).
type notFoundRouter interface {
	HandleNotFound(h http.Handler)
}

// NotFound answers 404 with the "page not found" page: two languages (it
// runs no script), a link home.
func NotFound(page []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		headers(w)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write(page)
	})
}

// headers are the security headers of every page and asset. The server's
// middleware sets its own (AUTH); these hold when it does not, and say the
// same thing.
func headers(w http.ResponseWriter) {
	h := w.Header()
	if h.Get("Content-Security-Policy") == "" {
		h.Set("Content-Security-Policy", CSP)
	}
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
}

// CSP is the content security policy the pages are written for: no inline
// script, handler or style, nothing from elsewhere.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func shell(body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		headers(w)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(body)
	})
}

var types = map[string]string{
	".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml",
	".wav": "audio/wav", ".json": "application/json",
}

func assetHandler(assets fs.FS) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.PathValue("path")
		ct, ok := types[path.Ext(p)]
		if !ok || strings.Contains(p, "..") {
			http.Error(w, `{"error":{"code":"not_found","message":"no such asset"}}`, http.StatusNotFound)
			return
		}
		b, err := fs.ReadFile(assets, p)
		if err != nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":{"code":"not_found","message":"no such asset"}}` + "\n"))
			return
		}
		headers(w)
		w.Header().Set("Content-Type", ct)
		// Assets change with the binary; revalidate rather than guess.
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(b)
	})
}

// ClockView is the board's clock: the server's time now and the rescue
// clocks of the default policy and of estates that differ from it.
type ClockView struct {
	Now     string                `json:"now"`
	Default ClocksView            `json:"default"`
	Estates map[string]ClocksView `json:"estates"`
}

// ClocksView is an estate's alert clocks in seconds (Clocks).
type ClocksView struct {
	AckWithinS            int64 `json:"ack_within_s"`
	OnSiteWithinS         int64 `json:"on_site_within_s"`
	CriticalOnSiteWithinS int64 `json:"critical_on_site_within_s"`
	StillReportedAfterS   int64 `json:"still_reported_after_s"`
}

func clocksView(c Clocks) ClocksView {
	return ClocksView{int64(c.Ack / time.Second), int64(c.OnSite / time.Second), int64(c.CriticalOnSite / time.Second), int64(c.StillReported / time.Second)}
}

func clockHandler(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		now := time.Now
		if d.Now != nil {
			now = d.Now
		}
		v := ClockView{Now: now().UTC().Format(api.TimeFormat), Estates: map[string]ClocksView{}}
		if d.Clocks != nil {
			v.Default = clocksView(d.Clocks(""))
			if d.Estates != nil {
				for _, e := range d.Estates() {
					if c := clocksView(d.Clocks(e)); c != v.Default {
						v.Estates[e] = c
					}
				}
			}
		} else {
			v.Default = ClocksView{300, 1800, 7200, 600}
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(v)
	})
}

var i18nKey = regexp.MustCompile(`'([a-z_]+\.[a-z_.]+)':`)

// Labels are the keys of the pages' strings in Simplified Chinese and in
// English (web/assets/js/i18n.js), for tests elsewhere that check every
// code the Go code defines (alert types, fault codes, door and mode
// values) has a label in both languages.
func Labels() (zh, en map[string]bool) {
	src, _ := files.ReadFile("assets/js/i18n.js")
	s := string(src)
	zhAt, enAt := strings.Index(s, "\n  zh: {"), strings.Index(s, "\n  en: {")
	if zhAt < 0 || enAt < zhAt {
		return map[string]bool{}, map[string]bool{}
	}
	keys := func(part string) map[string]bool {
		out := map[string]bool{}
		for _, m := range i18nKey.FindAllStringSubmatch(part, -1) {
			out[m[1]] = true
		}
		return out
	}
	return keys(s[zhAt:enAt]), keys(s[enAt:])
}
