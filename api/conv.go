package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/liftwatch/liftwatch/alerts"
)

// The API's conventions, in one place:
//   - every error is {"error": {"code", "message", "field"?}} (field names the
//     request field or query parameter at fault);
//   - every timestamp is RFC 3339 in UTC with milliseconds (TimeFormat),
//     formatted by the view types (view.go) and nowhere else;
//   - request bodies are one JSON object of known fields, at most maxBody;
//   - lists are [] when empty, never null.

// TimeFormat is the one timestamp format of every response.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

const maxBody = 16 << 10

// ErrorBody is the error envelope's content.
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	// State is an alert's current state, on a 409 for an action it cannot take.
	State alerts.State `json:"state,omitempty"`
	// Alert is the alert as it is now, on a 409 for a stale or impossible
	// action: with its version, to act again on what is really there.
	Alert *AlertView `json:"alert,omitempty"`
}

type apiError struct {
	Error ErrorBody `json:"error"`
}

// fieldError is a bad value of one request field or query parameter.
type fieldError struct{ field, msg string }

func (e *fieldError) Error() string { return e.msg }

func badField(field, format string, args ...any) *fieldError {
	return &fieldError{field: field, msg: fmt.Sprintf(format, args...)}
}

var codes = map[int]string{
	http.StatusBadRequest: "bad_request", http.StatusNotFound: "not_found", http.StatusMethodNotAllowed: "method_not_allowed",
	http.StatusConflict: "conflict", http.StatusRequestEntityTooLarge: "body_too_large", http.StatusInternalServerError: "internal",
	http.StatusNotImplemented: "not_implemented", http.StatusServiceUnavailable: "unavailable",
}

func errorCode(status int) string {
	if c, ok := codes[status]; ok {
		return c
	}
	return strings.ReplaceAll(strings.ToLower(http.StatusText(status)), " ", "_")
}

func writeError(w http.ResponseWriter, code int, msg string) int {
	return writeJSON(w, code, apiError{Error: ErrorBody{Code: errorCode(code), Message: msg}})
}

// WriteError answers status with the API's error envelope, for handlers
// outside this package (the demo's): field names the request field or query
// parameter at fault ("" for none). It returns status.
func WriteError(w http.ResponseWriter, status int, field, msg string) int {
	return writeJSON(w, status, apiError{Error: ErrorBody{Code: errorCode(status), Message: msg, Field: field}})
}

// WriteJSON answers status with v as indented JSON. It returns status.
func WriteJSON(w http.ResponseWriter, status int, v any) int { return writeJSON(w, status, v) }

// writeBad answers 400, naming the field if err is a fieldError.
func writeBad(w http.ResponseWriter, err error) int {
	b := ErrorBody{Code: errorCode(http.StatusBadRequest), Message: err.Error()}
	var fe *fieldError
	if errors.As(err, &fe) {
		b.Field = fe.field
	}
	return writeJSON(w, http.StatusBadRequest, apiError{Error: b})
}

func writeJSON(w http.ResponseWriter, code int, v any) int {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		b = []byte(`{"error": {"code": "internal", "message": "encoding the response failed"}}`)
		code = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
	return code
}

// decodeBody reads the request body, one JSON object, into dst. It answers
// the client itself on error (413 over maxBody, else 400 naming the field),
// returning that status; 0 means dst is filled.
func decodeBody(w http.ResponseWriter, r *http.Request, dst any) int {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		return writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body is larger than %d KiB", maxBody>>10))
	}
	if err != nil {
		return writeBad(w, errors.New("reading the body failed"))
	}
	if !utf8.Valid(body) {
		// The decoder would turn the bad bytes into U+FFFD silently: a note
		// kept is then not what was sent.
		return writeBad(w, errors.New("body is not valid UTF-8"))
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err = dec.Decode(dst)
	if err == nil {
		var extra json.RawMessage
		if dec.Decode(&extra) != io.EOF {
			return writeBad(w, errors.New("body: unexpected data after the JSON object"))
		}
		// null decodes into a struct as nothing at all.
		if t := bytes.TrimLeft(body, " \t\r\n"); len(t) == 0 || t[0] != '{' {
			return writeBad(w, errors.New("body must be a JSON object, not null"))
		}
		// The decoder keeps the last of a repeated key (matched without
		// regard to case): which one the client meant is a guess.
		if key := duplicateKey(json.NewDecoder(bytes.NewReader(body)), ""); key != "" {
			return writeBad(w, badField(key, "body gives %s more than once; give each field once", key))
		}
		if key, why := badText(json.NewDecoder(bytes.NewReader(body)), ""); key != "" {
			return writeBad(w, badField(key, "field %s %s", key, why))
		}
		return 0
	}
	var (
		se  *json.SyntaxError
		ute *json.UnmarshalTypeError
	)
	switch {
	case errors.Is(err, io.EOF):
		return writeBad(w, errors.New("body is empty; want a JSON object with "+strings.Join(jsonFields(dst), ", ")))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return writeBad(w, errors.New("body ends before its JSON object does"))
	case errors.As(err, &se):
		return writeBad(w, fmt.Errorf("body is not valid JSON (at byte %d)", se.Offset))
	case errors.As(err, &ute):
		if ute.Field == "" {
			return writeBad(w, fmt.Errorf("body must be a JSON object, not %s", jsonKind(ute.Value)))
		}
		return writeBad(w, badField(ute.Field, "field %s: want %s, not %s", ute.Field, wantKind(ute.Type), jsonKind(ute.Value)))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		return writeBad(w, badField(name, "unknown field %q; fields: %s", name, strings.Join(jsonFields(dst), ", ")))
	}
	return writeBad(w, errors.New("body is not a valid JSON object"))
}

// badText reads one JSON value (already known to be valid) and returns the
// first field whose text a person would be misled by, as a dotted path
// under prefix, and why: a NUL or another control character (tab and line
// breaks are text), a bidirectional control that reorders what is shown
// (U+202E makes "exe.txt" read "txt.exe"), or a lone surrogate escape.
func badText(dec *json.Decoder, prefix string) (string, string) {
	tok, err := dec.Token()
	if err != nil {
		return "", ""
	}
	switch t := tok.(type) {
	case string:
		for _, r := range t {
			switch {
			case r == 0:
				return prefixOr(prefix), "contains a NUL character"
			case r < 0x20 && r != '\t' && r != '\n' && r != '\r', r == 0x7f, r >= 0x80 && r < 0xa0:
				return prefixOr(prefix), fmt.Sprintf("contains the control character U+%04X", r)
			case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
				return prefixOr(prefix), fmt.Sprintf("contains the bidirectional control U+%04X, which reorders the text shown", r)
			case r == utf8.RuneError:
				return prefixOr(prefix), "contains U+FFFD: a lone surrogate or a replacement character, not text"
			}
		}
	case json.Delim:
		if t == '{' {
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return "", ""
				}
				k, _ := kt.(string)
				name := k
				if prefix != "" {
					name = prefix + "." + k
				}
				if key, why := badText(dec, name); key != "" {
					return key, why
				}
			}
			_, _ = dec.Token()
		} else if t == '[' {
			for dec.More() {
				if key, why := badText(dec, prefix); key != "" {
					return key, why
				}
			}
			_, _ = dec.Token()
		}
	}
	return "", ""
}

func prefixOr(p string) string {
	if p == "" {
		return "body"
	}
	return p
}

// duplicateKey reads one JSON value (already known to be valid) and returns
// the first key an object of it repeats, case-insensitively as the decoder
// matches fields, as a dotted path under prefix; "" if none.
func duplicateKey(dec *json.Decoder, prefix string) string {
	tok, err := dec.Token()
	if err != nil {
		return ""
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return ""
			}
			k, _ := kt.(string)
			name := k
			if prefix != "" {
				name = prefix + "." + k
			}
			if seen[strings.ToLower(k)] {
				return name
			}
			seen[strings.ToLower(k)] = true
			if d := duplicateKey(dec, name); d != "" {
				return d
			}
		}
		_, _ = dec.Token()
	case json.Delim('['):
		for dec.More() {
			if d := duplicateKey(dec, prefix); d != "" {
				return d
			}
		}
		_, _ = dec.Token()
	}
	return ""
}

func wantKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "an object"
}

// jsonKind names a JSON value as UnmarshalTypeError describes it.
func jsonKind(v string) string {
	switch {
	case strings.HasPrefix(v, "number"):
		return "a number"
	case v == "string":
		return "a string"
	case v == "bool":
		return "true or false"
	case v == "array":
		return "an array"
	case v == "object":
		return "an object"
	}
	return v
}

// jsonFields lists the JSON names of a struct's fields.
func jsonFields(v any) []string {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var out []string
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" && t.Field(i).Tag.Get("api") != "refused" {
			out = append(out, name)
		}
	}
	return out
}

// params checks a query string: only allowed names; single-valued ones at
// most once. Repeated values of the others are alternatives (OR).
func params(q url.Values, multi []string, single []string) error {
	for k, vs := range q {
		switch {
		case slices.Contains(multi, k):
		case slices.Contains(single, k):
			if len(vs) > 1 {
				return badField(k, "%s is given %d times; give it once", k, len(vs))
			}
		default:
			all := append(append([]string(nil), multi...), single...)
			slices.Sort(all)
			return badField(k, "unknown query parameter %q; allowed: %s", k, strings.Join(all, ", "))
		}
	}
	return nil
}

// values returns a parameter's non-empty values, each checked by ok.
func values(q url.Values, name string, ok func(string) bool, want string) ([]string, error) {
	var out []string
	for _, v := range q[name] {
		if v == "" {
			continue
		}
		if ok != nil && !ok(v) {
			return nil, badField(name, "%s must be %s, not %q", name, want, v)
		}
		out = append(out, v)
	}
	return out, nil
}

func intParam(r *http.Request, name string, def, lo, hi int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, badField(name, "%s must be an integer from %d to %d, not %q", name, lo, hi, v)
	}
	return n, nil
}

func timeParam(q url.Values, name string) (time.Time, error) {
	v := q.Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, badField(name, "%s must be an RFC 3339 time such as 2026-11-24T10:00:00.000Z, not %q", name, v)
	}
	return t, nil
}

// boolParams parses repeated true/false values; nil means either.
func boolParam(q url.Values, name string) (*bool, error) {
	seen := map[bool]bool{}
	for _, v := range q[name] {
		if v == "" {
			continue
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, badField(name, "%s must be true or false, not %q", name, v)
		}
		seen[b] = true
	}
	if len(seen) != 1 {
		return nil, nil
	}
	b := seen[true]
	return &b, nil
}

// ServeHTTP applies the conventions the mux alone does not: a path that is
// not clean (//api, /a/../b) is a 404 here rather than a redirect.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect && !isCleanPath(r.URL.Path) {
		code := writeError(w, http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path)
		s.reqs.WithLabelValues("unmatched", strconv.Itoa(code)).Inc()
		return
	}
	s.mux.ServeHTTP(w, r)
}

func isCleanPath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	c := path.Clean(p)
	return c == p || c+"/" == p && p != "//"
}

// unmatched answers a request no route took: 405 with Allow if the path
// exists under other methods, else 404.
func (s *Server) unmatched(w http.ResponseWriter, r *http.Request) int {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pat := s.mux.Handler(probe); pat != "" && pat != "/" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		return writeError(w, http.StatusMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path+"; allowed: "+strings.Join(allow, ", "))
	}
	if s.notFound != nil && wantsPage(r) {
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		s.notFound.ServeHTTP(rec, r)
		return rec.code
	}
	return writeError(w, http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path)
}

// wantsPage says whether an unknown path is a browser's page: a GET or HEAD
// outside /api/ that accepts HTML. API clients (and any path under /api/)
// keep the JSON envelope.
func wantsPage(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if r.URL.Path == "/api" || strings.HasPrefix(r.URL.Path, "/api/") {
		return false
	}
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}
