package listen

import (
	"strings"
	"testing"
)

func TestTakenPortSaysHowToChoose(t *testing.T) {
	l, err := TCP("127.0.0.1:0", "http.listen", "LIFTWATCH_HTTP_LISTEN")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	err = Check(l.Addr().String(), "http.listen", "LIFTWATCH_HTTP_LISTEN")
	if err == nil || !strings.Contains(err.Error(), "already in use") || !strings.Contains(err.Error(), "--http.listen") || !strings.Contains(err.Error(), "LIFTWATCH_HTTP_LISTEN") {
		t.Fatalf("unhelpful error: %v", err)
	}
}
