package notify

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"unicode/utf8"
)

// RobotAnswer reads the answer of a group robot's webhook (WeCom and
// DingTalk both answer {"errcode": 0, "errmsg": "ok"}): nil for errcode 0;
// else an *Error of channel whose Retryable is retryable(errcode). A status
// other than 200 is retryable when 5xx or 429; an answer without an errcode
// is not. It reads at most 64 KiB of the body; the caller closes it.
func RobotAnswer(channel string, res *http.Response, retryable func(errcode int) bool) error {
	fail := func(retry bool, err error) error {
		return &Error{Channel: channel, Status: res.StatusCode, Retryable: retry, Err: err}
	}
	rb, err := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if err != nil {
		return fail(true, fmt.Errorf("reading the answer: %w", err))
	}
	if res.StatusCode != http.StatusOK {
		return fail(res.StatusCode >= 500 || res.StatusCode == http.StatusTooManyRequests, fmt.Errorf("answer %.200q", rb))
	}
	var a struct {
		ErrCode *int   `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	if err := json.Unmarshal(rb, &a); err != nil || a.ErrCode == nil {
		return fail(false, fmt.Errorf("answer without an errcode: %.200q", rb))
	}
	if *a.ErrCode == 0 {
		return nil
	}
	return fail(retryable(*a.ErrCode), fmt.Errorf("errcode %d: %s", *a.ErrCode, a.ErrMsg))
}

// Fit keeps text within max bytes: a longer text is cut at a character
// boundary, marked "…", and ends with sep and the link, so the acknowledge
// link is never the part cut off.
func Fit(text, link, sep string, max int) string {
	if len(text) <= max {
		return text
	}
	tail := "…"
	if link != "" {
		tail += sep + link
	}
	cut := max - len(tail)
	if cut < 0 {
		cut = 0
	}
	for cut > 0 && !utf8.RuneStart(text[cut]) {
		cut--
	}
	return text[:cut] + tail
}
