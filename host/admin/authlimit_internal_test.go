package admin

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestAuthThrottle(t *testing.T) {
	t.Parallel()
	const (
		burst = 3
		every = 6 * time.Second
	)
	t0 := time.Date(2026, 12, 7, 4, 0, 0, 0, time.UTC)
	failN := func(a *authThrottle, client string, n int, at time.Time) {
		for range n {
			a.fail(client, at)
		}
	}
	tests := []struct {
		name string
		max  int
		run  func(t *testing.T, a *authThrottle)
	}{
		{"BurstThenWait", 10, func(t *testing.T, a *authThrottle) {
			failN(a, "a", burst-1, t0)
			require.Zero(t, a.wait("a", t0), "within the burst")
			a.fail("a", t0)
			require.Equal(t, every, a.wait("a", t0))
			require.Equal(t, every/2, a.wait("a", t0.Add(every/2)), "the wait runs down")
			require.Zero(t, a.wait("a", t0.Add(every)), "one more try once it has passed")
			a.fail("a", t0.Add(every))
			require.Equal(t, every, a.wait("a", t0.Add(every)), "and one only")
			require.Zero(t, a.wait("a", t0.Add(every+burst*every)), "the window passes")
		}},
		{"PerClient", 10, func(t *testing.T, a *authThrottle) {
			failN(a, "a", burst, t0)
			require.Positive(t, a.wait("a", t0))
			require.Zero(t, a.wait("b", t0), "an unknown client")
			a.fail("b", t0)
			require.Zero(t, a.wait("b", t0), "b has its own count")
		}},
		{"BoundedUnderSpray", 100, func(t *testing.T, a *authThrottle) {
			for i := range 100_000 {
				a.fail(strconv.Itoa(i), t0)
			}
			require.Equal(t, 100, a.size())
			require.Zero(t, a.wait("0", t0), "the table keeps what it holds")
			require.Positive(t, a.wait("99999", t0), "the others share one allowance")
			require.Positive(t, a.wait("new", t0), "which a new client waits on too")
		}},
		{"HeldClientsNotDropped", 2, func(t *testing.T, a *authThrottle) {
			failN(a, "a", burst, t0)
			a.fail("b", t0.Add(time.Second))
			a.fail("c", t0.Add(2*time.Second)) // the table is full: overflow
			require.Equal(t, 2, a.size())
			require.Positive(t, a.wait("a", t0.Add(2*time.Second)), "a is still held")
			require.Zero(t, a.wait("c", t0.Add(2*time.Second)), "c is within the overflow's burst")
			failN(a, "c", burst-1, t0.Add(2*time.Second))
			require.Positive(t, a.wait("c", t0.Add(2*time.Second)), "c waits on the overflow")
			require.Positive(t, a.wait("d", t0.Add(2*time.Second)), "and so does any client the table lacks")
		}},
		{"RefilledClientDropped", 2, func(t *testing.T, a *authThrottle) {
			a.fail("b", t0)
			failN(a, "a", burst, t0.Add(time.Second))
			later := t0.Add(every) // b has its whole allowance back, a not
			a.fail("c", later)     // drops b
			require.Equal(t, 2, a.size())
			require.Positive(t, a.wait("a", later), "a is still held")
			require.Zero(t, a.wait("b", later), "b has its allowance")
			failN(a, "c", burst-1, later)
			require.Positive(t, a.wait("c", later), "c has its own count")
		}},
		// A client cycling through more addresses than the table holds is
		// throttled as max+1 clients would be: before, each was dropped
		// before it came round again, and none ever waited.
		{"SprayPastTheTable", 100, func(t *testing.T, a *authThrottle) {
			const rounds, keys = 20, 101
			now, checked, refused := t0, 0, 0
			for range rounds {
				for k := range keys {
					key := strconv.Itoa(k)
					if a.wait(key, now) > 0 {
						refused++
						continue
					}
					checked++ // a guess answered
					a.fail(key, now)
				}
				now = now.Add(every / 2)
			}
			// Each of keys allowances: burst, then one per every.
			elapsed := time.Duration(rounds-1) * every / 2
			allowed := keys * (burst + int(elapsed/every))
			require.Positive(t, refused)
			require.LessOrEqual(t, checked, allowed)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, newAuthThrottle(burst, every, tt.max))
		})
	}
}

func TestClientKey(t *testing.T) {
	t.Parallel()
	tests := []struct{ ip, want string }{
		{"198.51.100.7", "198.51.100.7"},
		{"::ffff:198.51.100.7", "198.51.100.7"},
		{"2001:db8:1:2::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"},
		{"2001:db8:1:3::1", "2001:db8:1:3::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"::1", "::/64"},
		{"not an address", "not an address"},
	}
	for _, tt := range tests {
		t.Run(tt.ip, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, clientKey(tt.ip))
		})
	}
}
