// Package dingtalk posts pages to a DingTalk (钉钉) group robot: POST
// …/robot/send?access_token=TOKEN with {"msgtype":"markdown","markdown":
// {"title","text"}}. When the robot's security setting is "加签" (sign), each
// request carries &timestamp=<ms>&sign=<url-encoded base64 HMAC-SHA256,
// keyed by the secret, of "<timestamp>\n<secret>">. The robot answers
// {"errcode":0,"errmsg":"ok"}.
package dingtalk

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/liftwatch/liftwatch/alerts/notify"
)

// Endpoint is DingTalk's robot URL, without the token.
const Endpoint = "https://oapi.dingtalk.com/robot/send"

// MaxText bounds the markdown text, in bytes of UTF-8.
const MaxText = 18000

// Robot is one group robot.
type Robot struct {
	URL         string // Endpoint unless set
	AccessToken string
	// Secret is the robot's signing secret ("SEC…"); empty when the robot
	// is secured by keyword or IP range instead.
	Secret string
	Client *http.Client
	Now    func() time.Time // the clock of the signed timestamp (nil: time.Now)
}

// Sign is the robot's signature of timestamp (milliseconds) with secret,
// before URL encoding: base64(HMAC-SHA256(secret, timestamp + "\n" + secret)).
func Sign(timestamp int64, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(timestamp, 10) + "\n" + secret))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Notify posts the page as markdown; a mobile number in Message.To is
// @-mentioned.
func (r *Robot) Notify(ctx context.Context, m notify.Message) error {
	fail := func(status int, retry bool, err error) error {
		return &notify.Error{Channel: "dingtalk", Status: status, Retryable: retry, Err: err}
	}
	title := m.Subject
	if title == "" {
		title, _, _ = strings.Cut(m.Text, "\n")
	}
	text := m.Text
	if m.Subject != "" {
		text = "#### " + m.Subject + "\n\n" + m.Text
	}
	body := map[string]any{"msgtype": "markdown"}
	if m.To != "" {
		text += "\n\n@" + m.To
		body["at"] = map[string]any{"atMobiles": []string{m.To}, "isAtAll": false}
	}
	body["markdown"] = map[string]string{"title": title, "text": fit(text, m.Link, MaxText)}
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
	q.Set("access_token", r.AccessToken)
	if r.Secret != "" {
		now := time.Now
		if r.Now != nil {
			now = r.Now
		}
		ts := now().UnixMilli()
		q.Set("timestamp", strconv.FormatInt(ts, 10))
		q.Set("sign", Sign(ts, r.Secret)) // Encode URL-encodes it
	}
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
		var ue *url.Error
		if errors.As(err, &ue) { // keep the token out of the error
			err = &url.Error{Op: ue.Op, URL: "(robot webhook)", Err: ue.Err}
		}
		return fail(0, true, err)
	}
	defer res.Body.Close()
	return notify.RobotAnswer("dingtalk", res, Retryable)
}

// Retryable: 130101 and 410100 (sending too fast: 20 a minute per robot)
// and -1 (system busy) are worth a retry; 310000 (signature, keyword or IP
// not accepted), 300001 (bad token), 400102 (robot stopped) and the rest
// are not.
func Retryable(errcode int) bool { return errcode == 130101 || errcode == 410100 || errcode == -1 }

// fit keeps text within max bytes, cut at a character boundary, ending
// with the acknowledge link when it had to be cut.
func fit(text, link string, max int) string { return notify.Fit(text, link, "\n\n", max) }
