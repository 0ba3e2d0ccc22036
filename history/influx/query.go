package influx

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/liftwatch/liftwatch/history"
)

// reader answers history queries from InfluxDB with InfluxQL over
// the /query endpoint. That endpoint is native in InfluxDB 1.8 (whose Flux
// endpoint is off by default) and exists in 2.x as the v1-compatible API
// (it needs a DBRP mapping for the bucket). The bucket is "db/retention".
type reader struct {
	url    string // .../query
	db, rp string
	token  string
	client *http.Client
}

func newReader(cfg Config) *reader {
	db, rp, _ := strings.Cut(cfg.Bucket, "/")
	return &reader{url: strings.TrimRight(cfg.URL, "/") + "/query", db: db, rp: rp, token: cfg.Token,
		client: &http.Client{Timeout: 30 * time.Second}}
}

// Query answers a history query with InfluxQL (see reader).
func (s *Influx) Query(ctx context.Context, q history.Query) (history.Page, error) {
	return s.reader.query(ctx, q)
}

// query runs one SELECT per kind (InfluxQL orders and limits each
// measurement on its own), all in one request, and merges the results.
func (h *reader) query(ctx context.Context, q history.Query) (history.Page, error) {
	if err := q.Validate(); err != nil {
		return history.Page{}, err
	}
	kinds := q.SortedKinds()
	stmts := make([]string, 0, len(kinds))
	for _, k := range kinds {
		conds := []string{`"lift" = ` + influxString(q.Lift)}
		if !q.Since.IsZero() {
			conds = append(conds, "time >= "+strconv.FormatInt(q.Since.UnixNano(), 10))
		}
		if !q.Until.IsZero() {
			conds = append(conds, "time < "+strconv.FormatInt(q.Until.UnixNano(), 10))
		}
		if c := q.After; c != nil {
			op := "<"
			if k > c.Kind { // same time, later kind: still after the cursor
				op = "<="
			}
			conds = append(conds, "time "+op+" "+strconv.FormatInt(c.TimeNS, 10))
		}
		stmts = append(stmts, fmt.Sprintf(`SELECT * FROM %s WHERE %s ORDER BY time DESC LIMIT %d`,
			influxIdent(k), strings.Join(conds, " AND "), q.Limit+1))
	}
	form := url.Values{"q": {strings.Join(stmts, "; ")}, "db": {h.db}, "epoch": {"ns"}}
	if h.rp != "" {
		form.Set("rp", h.rp)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, strings.NewReader(form.Encode()))
	if err != nil {
		return history.Page{}, fmt.Errorf("influx query: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if h.token != "" {
		req.Header.Set("Authorization", "Token "+h.token)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return history.Page{}, fmt.Errorf("influx query: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return history.Page{}, fmt.Errorf("influx query: read: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return history.Page{}, fmt.Errorf("influx query: %s: %.300s", resp.Status, body)
	}
	var out struct {
		Error   string `json:"error"`
		Results []struct {
			Error  string `json:"error"`
			Series []struct {
				Name    string   `json:"name"`
				Columns []string `json:"columns"`
				Values  [][]any  `json:"values"`
			} `json:"series"`
		} `json:"results"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		return history.Page{}, fmt.Errorf("influx query: decode: %w", err)
	}
	if out.Error != "" {
		return history.Page{}, fmt.Errorf("influx query: %s", out.Error)
	}
	var pts []history.Point
	for _, r := range out.Results {
		if r.Error != "" {
			return history.Page{}, fmt.Errorf("influx query: %s", r.Error)
		}
		for _, s := range r.Series {
			for _, row := range s.Values {
				p := history.Point{Kind: s.Name}
				for i, col := range s.Columns {
					if i >= len(row) || row[i] == nil {
						continue
					}
					switch col {
					case "time":
						n, ok := row[i].(json.Number)
						ns, err := n.Int64()
						if !ok || err != nil {
							return history.Page{}, fmt.Errorf("influx query: time %v is not epoch ns", row[i])
						}
						p.TimeNS, p.Time = ns, time.Unix(0, ns).UTC()
					case "lift":
						p.Lift, _ = row[i].(string)
					case "estate":
					default:
						if err := p.Set(col, row[i]); err != nil {
							return history.Page{}, fmt.Errorf("influx query: %s: %w", s.Name, err)
						}
					}
				}
				pts = append(pts, p)
			}
		}
	}
	return history.FinishPage(pts, q.Limit), nil
}

// influxString quotes an InfluxQL string literal.
func influxString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// influxIdent quotes an InfluxQL identifier.
func influxIdent(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
