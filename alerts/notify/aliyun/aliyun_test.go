package aliyun

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/alerts/notify"
)

// standInSign is the stand-in's own implementation of signature v1.0, written
// from Aliyun's "Signature mechanism" page the way its Java sample does it
// (URLEncoder, then + → %20, * → %2A, %7E → ~), not by calling the code under
// test.
func standInSign(method string, form url.Values, secret string) string {
	enc := func(s string) string {
		e := url.QueryEscape(s)
		e = strings.ReplaceAll(e, "+", "%20")
		e = strings.ReplaceAll(e, "*", "%2A")
		return strings.ReplaceAll(e, "%7E", "~")
	}
	var keys []string
	for k := range form {
		if k != "Signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var pairs []string
	for _, k := range keys {
		pairs = append(pairs, enc(k)+"="+enc(form.Get(k)))
	}
	sts := method + "&" + enc("/") + "&" + enc(strings.Join(pairs, "&"))
	mac := hmac.New(sha1.New, []byte(secret+"&"))
	mac.Write([]byte(sts))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// The worked example of Aliyun's signature documentation (DescribeRegions,
// AccessKeyId testid, secret testsecret, GET).
var docExample = map[string]string{
	"AccessKeyId": "testid", "Action": "DescribeRegions", "Format": "XML", "SignatureMethod": "HMAC-SHA1",
	"SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf", "SignatureVersion": "1.0",
	"Timestamp": "2016-02-23T12:46:24Z", "Version": "2014-05-26",
}

const docSignature = "OLeaidS1JvxuMvnyHOwuJ+uX5qY="

// TestSignatureKnownAnswer: the signer, and the stand-in's checker, both give
// the documented signature for the documented example.
func TestSignatureKnownAnswer(t *testing.T) {
	if got := Sign("GET", Canonical(docExample), "testsecret"); got != docSignature {
		t.Errorf("Sign = %s, want the documented %s", got, docSignature)
	}
	form := url.Values{}
	for k, v := range docExample {
		form.Set(k, v)
	}
	if got := standInSign("GET", form, "testsecret"); got != docSignature {
		t.Errorf("stand-in's signature = %s, want the documented %s", got, docSignature)
	}
	for in, want := range map[string]string{"a b*c~d": "a%20b%2Ac~d", "2016-02-23T12:46:24Z": "2016-02-23T12%3A46%3A24Z", "电梯": "%E7%94%B5%E6%A2%AF", "/": "%2F"} {
		if got := PercentEncode(in); got != want {
			t.Errorf("PercentEncode(%q) = %q, want %q", in, got, want)
		}
	}
}

// standIn is a local Dysmsapi/Dyvmsapi: it verifies the signature with its
// own implementation and the secret it knows, records the form, and answers
// with the next scripted reply (default OK).
type standIn struct {
	secret  string
	mu      sync.Mutex
	forms   []url.Values
	replies []reply
}

type reply struct {
	status int
	body   string
}

func (s *standIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		http.Error(w, `{"Code":"UnsupportedHTTPMethod"}`, http.StatusBadRequest)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, `{"Code":"MalformedRequest"}`, http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forms = append(s.forms, r.PostForm)
	w.Header().Set("Content-Type", "application/json")
	if got, want := r.PostForm.Get("Signature"), standInSign(r.Method, r.PostForm, s.secret); got != want {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"Code":"SignatureDoesNotMatch","Message":"Specified signature is not matched with our calculation.","RequestId":"r0"}`)
		return
	}
	rep := reply{200, `{"Code":"OK","Message":"OK","RequestId":"r1","BizId":"b1"}`}
	if len(s.replies) > 0 {
		rep, s.replies = s.replies[0], s.replies[1:]
	}
	w.WriteHeader(rep.status)
	fmt.Fprint(w, rep.body)
}

var fixedNow = time.Date(2026, 12, 8, 2, 30, 5, 0, time.UTC)

func account(url string) Account {
	return Account{Endpoint: url, AccessKeyID: "LTAI-test", AccessKeySecret: "s3cret", Now: func() time.Time { return fixedNow }}
}

var page = notify.Message{
	Key: "page-42-1", AlertID: 42, To: "13800138000", Subject: "困人", Text: "JW-0042 困人",
	Params: map[string]string{"lift": "JW-0042", "address": "逸仙路 25 弄 3 号", "kind": "困人 * ~", "link": "https://lw.example/a/Xy_z-9"},
}

func checkCommon(t *testing.T, f url.Values, action string) {
	t.Helper()
	for k, want := range map[string]string{
		"Action": action, "AccessKeyId": "LTAI-test", "Format": "JSON", "RegionId": "cn-hangzhou", "SignatureMethod": "HMAC-SHA1",
		"SignatureVersion": "1.0", "Timestamp": "2026-12-08T02:30:05Z", "Version": "2017-05-25", "OutId": "page-42-1",
	} {
		if got := f.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if len(f.Get("SignatureNonce")) < 16 {
		t.Errorf("SignatureNonce %q: want a random value", f.Get("SignatureNonce"))
	}
}

func checkParams(t *testing.T, key, raw string) {
	t.Helper()
	var got map[string]string
	if err := json.Unmarshal([]byte(raw), &got); err != nil {
		t.Fatalf("%s %q: %v", key, raw, err)
	}
	if fmt.Sprint(got) != fmt.Sprint(page.Params) {
		t.Errorf("%s = %v, want %v", key, got, page.Params)
	}
}

// TestSMSRequest: SendSms carries the documented parameters, signed so the
// stand-in's own check accepts it; each request has a fresh nonce.
func TestSMSRequest(t *testing.T) {
	st := &standIn{secret: "s3cret"}
	srv := httptest.NewServer(st)
	defer srv.Close()
	sms := &SMS{Account: account(srv.URL), SignName: "电梯卫士", TemplateCode: "SMS_123456"}
	for range 2 {
		if err := sms.Notify(context.Background(), page); err != nil {
			t.Fatal(err)
		}
	}
	f := st.forms[0]
	checkCommon(t, f, "SendSms")
	for k, want := range map[string]string{"PhoneNumbers": "13800138000", "SignName": "电梯卫士", "TemplateCode": "SMS_123456"} {
		if got := f.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	checkParams(t, "TemplateParam", f.Get("TemplateParam"))
	if st.forms[0].Get("SignatureNonce") == st.forms[1].Get("SignatureNonce") {
		t.Error("two requests with the same SignatureNonce")
	}
}

// TestVoiceRequest: SingleCallByTts carries the documented parameters.
func TestVoiceRequest(t *testing.T) {
	st := &standIn{secret: "s3cret", replies: []reply{{200, `{"Code":"OK","Message":"OK","RequestId":"r2","CallId":"c1"}`}}}
	srv := httptest.NewServer(st)
	defer srv.Close()
	v := &Voice{Account: account(srv.URL), CalledShowNumber: "02150000000", TtsCode: "TTS_9876", PlayTimes: 2}
	if err := v.Notify(context.Background(), page); err != nil {
		t.Fatal(err)
	}
	f := st.forms[0]
	checkCommon(t, f, "SingleCallByTts")
	for k, want := range map[string]string{"CalledNumber": "13800138000", "CalledShowNumber": "02150000000", "TtsCode": "TTS_9876", "PlayTimes": "2"} {
		if got := f.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	checkParams(t, "TtsParam", f.Get("TtsParam"))
}

// TestTemplateParamsSelected: with the template's variables named, only
// they are sent; a page lacking one is refused before any request.
func TestTemplateParamsSelected(t *testing.T) {
	st := &standIn{secret: "s3cret"}
	srv := httptest.NewServer(st)
	defer srv.Close()
	v := &Voice{Account: account(srv.URL), CalledShowNumber: "021", TtsCode: "TTS_1", Params: []string{"lift", "address"}}
	if err := v.Notify(context.Background(), page); err != nil {
		t.Fatal(err)
	}
	if got, want := st.forms[0].Get("TtsParam"), `{"address":"逸仙路 25 弄 3 号","lift":"JW-0042"}`; got != want {
		t.Errorf("TtsParam %s, want %s", got, want)
	}
	sms := &SMS{Account: account(srv.URL), SignName: "s", TemplateCode: "t", Params: []string{"lift", "unit"}}
	err := sms.Notify(context.Background(), page)
	if err == nil || notify.Retryable(err) || !strings.Contains(err.Error(), "template variable unit: the page has no such parameter (it has address, kind, lift, link)") {
		t.Errorf("missing variable: %v", err)
	}
	if len(st.forms) != 1 {
		t.Errorf("%d requests, want none for the refused page", len(st.forms)-1)
	}
}

// TestWrongSecretIsRejectedAndNotRetried: the stand-in really checks the
// signature; a bad one is not worth a retry.
func TestWrongSecretIsRejectedAndNotRetried(t *testing.T) {
	st := &standIn{secret: "another"}
	srv := httptest.NewServer(st)
	defer srv.Close()
	err := (&SMS{Account: account(srv.URL), SignName: "s", TemplateCode: "t"}).Notify(context.Background(), page)
	var ne *notify.Error
	if !errors.As(err, &ne) || ne.Retryable || ne.Status != 400 || !strings.Contains(err.Error(), "SignatureDoesNotMatch") {
		t.Fatalf("got %v, want a not-retryable SignatureDoesNotMatch", err)
	}
}

// TestErrorClasses: which failures are worth a retry.
func TestErrorClasses(t *testing.T) {
	cases := []struct {
		status int
		body   string
		retry  bool
	}{
		{200, `{"Code":"isv.BUSINESS_LIMIT_CONTROL","Message":"触发分钟级流控Permits:1"}`, true},
		{400, `{"Code":"Throttling.User","Message":"Request was denied due to user flow control."}`, true},
		{503, `{"Code":"ServiceUnavailable","Message":"busy"}`, true},
		{200, `{"Code":"isp.SYSTEM_ERROR","Message":"isp.SYSTEM_ERROR"}`, true},
		{502, `<html>bad gateway</html>`, true},
		{429, ``, true},
		{200, `{"Code":"isv.MOBILE_NUMBER_ILLEGAL","Message":"非法手机号"}`, false},
		{200, `{"Code":"isv.SMS_TEMPLATE_ILLEGAL","Message":"模板不合法"}`, false},
		{200, `{"Code":"isv.SMS_SIGNATURE_ILLEGAL","Message":"签名不合法"}`, false},
		{200, `{"Code":"isv.AMOUNT_NOT_ENOUGH","Message":"余额不足"}`, false},
		{404, `{"Code":"InvalidAccessKeyId.NotFound","Message":"Specified access key is not found."}`, false},
		{403, `{"Code":"isp.RAM_PERMISSION_DENY","Message":"no permission"}`, false},
		{400, `{"Code":"InvalidTimeStamp.Expired","Message":"clock"}`, false},
		{400, `not json`, false},
	}
	st := &standIn{secret: "s3cret"}
	srv := httptest.NewServer(st)
	defer srv.Close()
	sms := &SMS{Account: account(srv.URL), SignName: "s", TemplateCode: "t"}
	for _, c := range cases {
		st.replies = []reply{{c.status, c.body}}
		err := sms.Notify(context.Background(), page)
		var ne *notify.Error
		if !errors.As(err, &ne) || ne.Retryable != c.retry || ne.Status != c.status || notify.Retryable(err) != c.retry {
			t.Errorf("%d %s: got %v (%+v), want an *notify.Error with Retryable %v", c.status, c.body, err, ne, c.retry)
		}
	}
	srv.Close()
	if err := sms.Notify(context.Background(), page); !notify.Retryable(err) {
		t.Errorf("provider unreachable: %v, want retryable", err)
	}
	if err := sms.Notify(context.Background(), notify.Message{Key: "k"}); err == nil || notify.Retryable(err) {
		t.Errorf("no number: %v, want a not-retryable error", err)
	}
}
