package dispatch

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/host/catalog"
	"github.com/hookhost/hookhost/host/reqlog"
	"github.com/hookhost/hookhost/host/runner"
)

// TestExchangeReuse checks the pool of exchanges: an exchange comes back
// cleared, and one whose run the runner may still hold (lent) never comes
// back.
func TestExchangeReuse(t *testing.T) {
	for _, tt := range []struct {
		name   string
		lent   bool
		reused bool
	}{
		{"answered", false, true},
		{"run failed", true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := &Dispatcher{}
			x := d.exchange()
			x.h, x.start, x.entry = &catalog.Hook{}, time.Now(), &reqlog.Entry{ID: "r"}
			x.req = automations.HTTPRequest{Method: "POST", Headers: [][2]string{{"Host", "h"}}}
			x.inv = runner.Invocation{RunID: "run"}
			x.ans = Answer{Status: 200}
			x.answer = &x.ans
			x.run.run.ID = "run"
			x.lent = tt.lent
			d.reuse(x)
			got := d.exchange()
			if !tt.reused {
				require.NotSame(t, x, got)
			}
			// Whatever the pool gives (it may drop what it holds), it is
			// a clear exchange.
			require.Equal(t, exchange{}, *got)
		})
	}
}
