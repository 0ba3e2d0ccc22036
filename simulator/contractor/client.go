package contractor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// Client is the HTTP API of liftwatch as a contractor's system calls it:
// every request carries the contractor account's API token (Authorization:
// Bearer), lists follow the Link rel="next" pages, and errors come from the
// API's envelope {"error":{"code","message","field","state"}}.
type Client struct {
	Base  string // e.g. http://127.0.0.1:8080 (the /api/v1 prefix is added)
	Token string // an API token of a contractor account (lwt_…)
	HTTP  *http.Client
}

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// apiError is the API's error envelope.
type apiError struct {
	Error struct {
		Code    string          `json:"code"`
		Message string          `json:"message"`
		Field   string          `json:"field"`
		State   json.RawMessage `json:"state"`
	} `json:"error"`
}

// stateOf reads the envelope's state: a state name, or an object (the
// order) with a "state" field.
func stateOf(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var o struct {
		State string `json:"state"`
	}
	if json.Unmarshal(raw, &o) == nil {
		return o.State
	}
	return ""
}

// StatusError is any other refusal of the server.
type StatusError struct {
	Status  int
	Code    string
	Field   string
	State   string // the current state a 409 carries
	Message string
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("HTTP %d %s", e.Status, e.Code)
	if e.Field != "" {
		s += " (" + e.Field + ")"
	}
	return s + ": " + e.Message
}

// do sends one request and decodes a 2xx JSON answer into out; it returns
// the response's next-page URL, if any.
func (c *Client) do(ctx context.Context, method, path string, body, out any) (next string, err error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return "", err
		}
		rd = bytes.NewReader(b)
	}
	u := path
	if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		u = strings.TrimSuffix(c.Base, "/") + "/api/v1" + path
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e apiError
		_ = json.Unmarshal(data, &e)
		if e.Error.Message == "" {
			e.Error.Message = strings.TrimSpace(string(data))
		}
		return "", &StatusError{Status: resp.StatusCode, Code: e.Error.Code, Field: e.Error.Field,
			State: stateOf(e.Error.State), Message: e.Error.Message}
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return "", fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return nextLink(resp.Header.Get("Link")), nil
}

var nextRE = regexp.MustCompile(`<([^>]*)>\s*;\s*rel="?next"?`)

// nextLink is the rel="next" target of a Link header, "" if none.
func nextLink(h string) string {
	if m := nextRE.FindStringSubmatch(h); m != nil {
		return m[1]
	}
	return ""
}

// resolve makes a Link target absolute against the base.
func (c *Client) resolve(link string) string {
	base, err := url.Parse(strings.TrimSuffix(c.Base, "/") + "/api/v1/")
	if err != nil {
		return link
	}
	ref, err := url.Parse(link)
	if err != nil {
		return link
	}
	return base.ResolveReference(ref).String()
}

// WorkOrders lists the contractor's work orders in any of states, every
// page (one listing per state).
func (c *Client) WorkOrders(ctx context.Context, contractor string, states ...string) ([]WorkOrder, error) {
	var all []WorkOrder
	for _, st := range states {
		ws, err := c.workOrders(ctx, contractor, st)
		if err != nil {
			return all, err
		}
		all = append(all, ws...)
	}
	return all, nil
}

func (c *Client) workOrders(ctx context.Context, contractor, state string) ([]WorkOrder, error) {
	q := url.Values{"state": {state}, "limit": {"1000"}}
	if contractor != "" {
		q.Set("contractor", contractor)
	}
	var all []WorkOrder
	path := "/work-orders?" + q.Encode()
	for pages := 0; path != ""; pages++ {
		if pages > 10000 {
			return all, fmt.Errorf("work orders: more than 10000 pages, the server's next links go round")
		}
		var page []WorkOrder
		next, err := c.do(ctx, http.MethodGet, path, nil, &page)
		if err != nil {
			return all, err
		}
		all = append(all, page...)
		path = ""
		if next != "" {
			path = c.resolve(next)
		}
	}
	return all, nil
}

// Checklist lists the items of a level.
func (c *Client) Checklist(ctx context.Context, level string) ([]Item, error) {
	var items []Item
	_, err := c.do(ctx, http.MethodGet, "/checklist?level="+url.QueryEscape(level), nil, &items)
	return items, err
}

func (c *Client) action(ctx context.Context, id int64, action string, body any) (*WorkOrder, error) {
	var w WorkOrder
	_, err := c.do(ctx, http.MethodPost, "/work-orders/"+strconv.FormatInt(id, 10)+"/"+action, body, &w)
	var se *StatusError
	if errors.As(err, &se) {
		switch se.Status {
		case http.StatusConflict:
			return nil, &ConflictError{ID: id, Action: action, Current: se.State, Message: se.Message}
		case http.StatusNotFound:
			return nil, fmt.Errorf("work order %d: %w", id, ErrNotFound)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("work order %d %s: %w", id, action, err)
	}
	return &w, nil
}

// Start sends technician to the order.
func (c *Client) Start(ctx context.Context, id int64, technician string) (*WorkOrder, error) {
	return c.action(ctx, id, "start", map[string]string{"technician": technician})
}

// RecordChecklist records the checklist results.
func (c *Client) RecordChecklist(ctx context.Context, id int64, results []Result) (*WorkOrder, error) {
	return c.action(ctx, id, "checklist", map[string]any{"results": results})
}

// Complete signs the work done.
func (c *Client) Complete(ctx context.Context, id int64, cm Completion) (*WorkOrder, error) {
	return c.action(ctx, id, "complete", cm)
}
