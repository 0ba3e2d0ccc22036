package main

import (
	"bytes"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// The API needs a signed-in user. Tests that run serve make an admin in
// its data directory first (liftwatch user add) and an API token for it
// (liftwatch user token), and send it on every API request.

// dirTokens maps a data directory to the admin token made in it.
var dirTokens sync.Map

// adminToken creates the admin "test-admin" in dataDir and returns an API
// token of theirs (the same one again for a data directory that has it: a
// restarted serve keeps its accounts and tokens).
func adminToken(t testing.TB, dataDir string) string {
	t.Helper()
	if tok, ok := dirTokens.Load(dataDir); ok {
		return tok.(string)
	}
	add := exec.Command(binary, "user", "add", "--data.dir", dataDir, "--name", "test-admin", "--role", "admin", "--password-stdin")
	add.Stdin = strings.NewReader("correct horse battery staple\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	cmd := exec.Command(binary, "user", "token", "--data.dir", dataDir, "--name", "test-admin", "--for", "tests")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("user token: %v\n%s", err, stderr.String())
	}
	tok := strings.TrimSpace(stdout.String())
	dirTokens.Store(dataDir, tok)
	return tok
}

// tokens maps a server's base URL to the token its requests send.
var tokens sync.Map

// authGet is http.Get with the token of the server at base.
func authGet(base, path string) (*http.Response, error) {
	return authDo("GET", base, path, "")
}

// authDo sends a request with the token of the server at base (if any).
func authDo(method, base, path, body string) (*http.Response, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		return nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok, ok := tokens.Load(base); ok {
		req.Header.Set("Authorization", "Bearer "+tok.(string))
	}
	return http.DefaultClient.Do(req)
}
