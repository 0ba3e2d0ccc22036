package app

import (
	"strings"
	"sync"
	"testing"

	"github.com/liftwatch/liftwatch/internal/testrig"
)

// storeURLs maps the name of a test run by onEachStore to its --store.url.
var storeURLs sync.Map

// onEachStore runs f as subtests "sqlite" and "postgres" (a fresh schema of
// its own, testrig.ForEachStore); testConfig inside f, or inside a subtest
// of it, sets that subtest's --store.url.
func onEachStore(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	testrig.ForEachStore(t, func(t *testing.T, url string) {
		storeURLs.Store(t.Name(), url)
		t.Cleanup(func() { storeURLs.Delete(t.Name()) })
		f(t)
	})
}

// testStoreURL is the --store.url of the onEachStore subtest t is (or is
// inside); "" (the embedded SQLite database) outside one.
func testStoreURL(t *testing.T) string {
	for name := t.Name(); name != ""; {
		if u, ok := storeURLs.Load(name); ok {
			return u.(string)
		}
		i := strings.LastIndexByte(name, '/')
		if i < 0 {
			break
		}
		name = name[:i]
	}
	return ""
}
