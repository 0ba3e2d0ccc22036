// Package wecom posts pages to a WeCom (企业微信) group robot: POST
// …/cgi-bin/webhook/send?key=KEY with {"msgtype":"markdown"|"text", …}; the
// robot answers {"errcode":0,"errmsg":"ok"}. The webhook key is the
// robot's credential: it comes from configuration.
package wecom

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/liftwatch/liftwatch/alerts/notify"
)

// Endpoint is WeCom's webhook URL, without the key.
const Endpoint = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"

// Content limits of the robot, in bytes of UTF-8.
const (
	MaxMarkdown = 4096
	MaxText     = 2048
)

// Robot is one group robot.
type Robot struct {
	URL     string // Endpoint unless set
	Key     string
	MsgType string // "markdown" (default) or "text"
	Client  *http.Client
}

// Notify posts the page to the group. With msgtype text and a mobile number
// in Message.To, the robot @-mentions that member.
func (r *Robot) Notify(ctx context.Context, m notify.Message) error {
	fail := func(status int, retry bool, err error) error {
		return &notify.Error{Channel: "wecom", Status: status, Retryable: retry, Err: err}
	}
	var body any
	switch r.MsgType {
	case "", "markdown":
		content := m.Text
		if m.Subject != "" {
			content = "**" + m.Subject + "**\n" + m.Text
		}
		body = map[string]any{"msgtype": "markdown", "markdown": map[string]string{"content": Fit(content, m.Link, MaxMarkdown)}}
	case "text":
		content := m.Text
		if m.Subject != "" {
			content = m.Subject + "\n" + m.Text
		}
		text := map[string]any{"content": Fit(content, m.Link, MaxText)}
		if m.To != "" {
			text["mentioned_mobile_list"] = []string{m.To}
		}
		body = map[string]any{"msgtype": "text", "text": text}
	default:
		return fail(0, false, fmt.Errorf("msgtype %q: want markdown or text", r.MsgType))
	}
	b, err := json.Marshal(body)
	if err != nil {
		return fail(0, false, err)
	}
	base := r.URL
	if base == "" {
		base = Endpoint
	}
	u, err := url.Parse(base)
	if err != nil {
		return fail(0, false, fmt.Errorf("url %q: %w", base, err))
	}
	q := u.Query()
	q.Set("key", r.Key)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(b))
	if err != nil {
		return fail(0, false, err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	client := r.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	res, err := client.Do(req)
	if err != nil {
		return fail(0, true, redact(err, r.Key))
	}
	defer res.Body.Close()
	return notify.RobotAnswer("wecom", res, Retryable)
}

// Retryable: 45009 (API rate limit) and -1 (system busy) are worth a retry;
// anything else (93000 invalid webhook key, 40008 bad message type,
// 40058 bad field …) is not.
func Retryable(errcode int) bool { return errcode == 45009 || errcode == -1 }

// Fit keeps content within max bytes: a longer content is cut at a
// character boundary, marked "…", and ends with the link, so the
// acknowledge link is never the part cut off.
func Fit(content, link string, max int) string { return notify.Fit(content, link, "\n", max) }

// redact keeps the webhook key out of an error (url.Error quotes the URL).
func redact(err error, key string) error {
	var ue *url.Error
	if key != "" && errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: "(webhook)", Err: ue.Err}
	}
	return err
}
