package rule_test

import (
	"testing"

	"github.com/liftwatch/liftwatch/alerts/rule"
)

func TestOffline(t *testing.T) {
	table(t, func() rule.Rule { return rule.Offline{} }, []tcase{
		{"offline raises, online clears", []step{transition(false), transition(true)},
			[]string{"raise offline major sustained", "clear offline"}},
		{"messages say nothing", []step{status(0, nil)}, nil},
	})
}
