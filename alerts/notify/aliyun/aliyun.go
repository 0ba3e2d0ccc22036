// Package aliyun pages through Alibaba Cloud's SMS (Dysmsapi SendSms) and
// voice notification (Dyvmsapi SingleCallByTts) services, over their
// documented RPC API with signature version 1.0 (HMAC-SHA1 over the
// canonicalised, percent-encoded request). The sign name, SMS template and
// voice TTS template must be approved in Aliyun's console before use; the
// template's variables are filled from notify.Message.Params.
package aliyun

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/liftwatch/liftwatch/alerts/notify"
)

// Version is the API version of both Dysmsapi and Dyvmsapi.
const Version = "2017-05-25"

// The services' public endpoints.
const (
	SMSEndpoint   = "https://dysmsapi.aliyuncs.com/"
	VoiceEndpoint = "https://dyvmsapi.aliyuncs.com/"
)

// Account is what every call needs: where, and whose keys.
type Account struct {
	// Endpoint is the service's URL (SMSEndpoint or VoiceEndpoint unless
	// set; tests point it at a stand-in).
	Endpoint        string
	AccessKeyID     string
	AccessKeySecret string
	RegionID        string // default cn-hangzhou
	// Client makes the requests (nil: a client with a 10 s timeout).
	Client *http.Client
	// Now is the clock of the signed Timestamp (nil: time.Now).
	Now func() time.Time
	// Nonce makes SignatureNonce (nil: 16 random bytes, hex).
	Nonce func() string
}

// SMS sends the approved template TemplateCode, signed SignName, to
// Message.To, with Message.Params as TemplateParam and Message.Key as OutId.
type SMS struct {
	Account
	SignName     string
	TemplateCode string
	// Params are the template's variables, taken from Message.Params (a
	// page without one of them is refused, not sent with a blank); empty:
	// all of Message.Params.
	Params []string
}

// Notify sends one SMS.
func (s *SMS) Notify(ctx context.Context, m notify.Message) error {
	if m.To == "" {
		return &notify.Error{Channel: "aliyun_sms", Err: errors.New("no mobile number to send to")}
	}
	params, err := templateParam(m.Params, s.Params)
	if err != nil {
		return &notify.Error{Channel: "aliyun_sms", Err: err}
	}
	return s.call(ctx, "aliyun_sms", SMSEndpoint, map[string]string{
		"Action":        "SendSms",
		"PhoneNumbers":  m.To,
		"SignName":      s.SignName,
		"TemplateCode":  s.TemplateCode,
		"TemplateParam": params,
		"OutId":         m.Key,
	})
}

// Voice calls Message.To from CalledShowNumber and reads the approved TTS
// template TtsCode with Message.Params as TtsParam, PlayTimes times.
type Voice struct {
	Account
	CalledShowNumber string
	TtsCode          string
	PlayTimes        int      // 1 to 3; 0: the provider's default
	Params           []string // the TTS template's variables, as SMS.Params
}

// Notify places one voice notification call.
func (v *Voice) Notify(ctx context.Context, m notify.Message) error {
	if m.To == "" {
		return &notify.Error{Channel: "aliyun_voice", Err: errors.New("no phone number to call")}
	}
	params, err := templateParam(m.Params, v.Params)
	if err != nil {
		return &notify.Error{Channel: "aliyun_voice", Err: err}
	}
	p := map[string]string{
		"Action":           "SingleCallByTts",
		"CalledNumber":     m.To,
		"CalledShowNumber": v.CalledShowNumber,
		"TtsCode":          v.TtsCode,
		"TtsParam":         params,
		"OutId":            m.Key,
	}
	if v.PlayTimes > 0 {
		p["PlayTimes"] = strconv.Itoa(v.PlayTimes)
	}
	return v.call(ctx, "aliyun_voice", VoiceEndpoint, p)
}

// templateParam is the JSON of the template's variables: names of p, or
// all of p when names is empty.
func templateParam(p map[string]string, names []string) (string, error) {
	if p == nil {
		p = map[string]string{}
	}
	if len(names) > 0 {
		sel := make(map[string]string, len(names))
		for _, n := range names {
			v, ok := p[n]
			if !ok {
				have := make([]string, 0, len(p))
				for k := range p {
					have = append(have, k)
				}
				sort.Strings(have)
				return "", fmt.Errorf("template variable %s: the page has no such parameter (it has %s)", n, strings.Join(have, ", "))
			}
			sel[n] = v
		}
		p = sel
	}
	b, err := json.Marshal(p) // keys sorted: the same page gives the same request
	if err != nil {
		return "", fmt.Errorf("template parameters: %w", err)
	}
	return string(b), nil
}

// response is the body of every answer, success or failure.
type response struct {
	Code      string `json:"Code"`
	Message   string `json:"Message"`
	RequestID string `json:"RequestId"`
}

// call signs params with the common parameters and POSTs them as a form.
func (a *Account) call(ctx context.Context, channel, defaultEndpoint string, params map[string]string) error {
	endpoint := a.Endpoint
	if endpoint == "" {
		endpoint = defaultEndpoint
	}
	now, nonce, client := time.Now, a.Nonce, a.Client
	if a.Now != nil {
		now = a.Now
	}
	if nonce == nil {
		nonce = randomNonce
	}
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	region := a.RegionID
	if region == "" {
		region = "cn-hangzhou"
	}
	params["AccessKeyId"] = a.AccessKeyID
	params["Format"] = "JSON"
	params["RegionId"] = region
	params["SignatureMethod"] = "HMAC-SHA1"
	params["SignatureNonce"] = nonce()
	params["SignatureVersion"] = "1.0"
	params["Timestamp"] = now().UTC().Format("2006-01-02T15:04:05Z")
	params["Version"] = Version
	query := Canonical(params)
	body := query + "&Signature=" + PercentEncode(Sign(http.MethodPost, query, a.AccessKeySecret))

	fail := func(status int, retry bool, err error) error {
		return &notify.Error{Channel: channel, Status: status, Retryable: retry, Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(body))
	if err != nil {
		return fail(0, false, fmt.Errorf("endpoint %q: %w", endpoint, err))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	res, err := client.Do(req)
	if err != nil {
		return fail(0, true, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if err != nil {
		return fail(res.StatusCode, true, fmt.Errorf("reading the answer: %w", err))
	}
	var r response
	if err := json.Unmarshal(b, &r); err != nil || r.Code == "" {
		retry := res.StatusCode >= 500 || res.StatusCode == http.StatusTooManyRequests
		return fail(res.StatusCode, retry, fmt.Errorf("answer without a Code: %.200q", b))
	}
	if r.Code == "OK" && res.StatusCode == http.StatusOK {
		return nil
	}
	return fail(res.StatusCode, Retryable(r.Code, res.StatusCode),
		fmt.Errorf("%s: %s (RequestId %s)", r.Code, r.Message, r.RequestID))
}

// Retryable says whether an answer's Code is worth a retry: throttling
// and flow control, the provider's own faults (isp.*, 5xx); not bad keys,
// a bad signature, a bad number or an unapproved template or sign name,
// nor an account out of money or permission. An unknown code is judged by
// the HTTP status: 5xx and 429 retryable.
func Retryable(code string, status int) bool {
	switch code {
	case "isv.BUSINESS_LIMIT_CONTROL", "ServiceUnavailable", "InternalError", "isp.SYSTEM_ERROR", "isv.SYSTEM_ERROR":
		return true
	case "isp.RAM_PERMISSION_DENY":
		return false
	}
	switch {
	case strings.HasPrefix(code, "Throttling"), strings.HasPrefix(code, "isp."):
		return true
	case strings.HasPrefix(code, "InvalidAccessKeyId"), strings.HasPrefix(code, "Signature"),
		strings.HasPrefix(code, "isv."), strings.HasPrefix(code, "Forbidden"),
		strings.HasPrefix(code, "InvalidTimeStamp"), strings.HasPrefix(code, "MissingParameter"),
		strings.HasPrefix(code, "InvalidParameter"), code == "IncompleteSignature":
		return false
	}
	return status >= 500 || status == http.StatusTooManyRequests
}

// Canonical is the canonicalised query string: the parameters sorted by
// name, each name and value percent-encoded, joined name=value with &.
func Canonical(params map[string]string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "Signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(PercentEncode(k))
		b.WriteByte('=')
		b.WriteString(PercentEncode(params[k]))
	}
	return b.String()
}

// Sign is signature v1.0: base64(HMAC-SHA1(secret + "&", method + "&" +
// PercentEncode("/") + "&" + PercentEncode(canonical))).
func Sign(method, canonical, secret string) string {
	mac := hmac.New(sha1.New, []byte(secret+"&"))
	mac.Write([]byte(method + "&" + PercentEncode("/") + "&" + PercentEncode(canonical)))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// PercentEncode is RFC 3986 encoding as Aliyun wants it: unreserved
// characters (A-Z a-z 0-9 - _ . ~) as they are, every other byte of the
// UTF-8 form as %XY in upper case (a space is %20, never +).
func PercentEncode(s string) string {
	const hexdig = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexdig[c>>4])
		b.WriteByte(hexdig[c&15])
	}
	return b.String()
}

func randomNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}
