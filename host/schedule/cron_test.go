package schedule_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/host/schedule"
)

func TestParseCron(t *testing.T) {
	t.Parallel()
	from := time.Date(2027, 3, 27, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name, expr, tz string
		want           []string // the next ticks after from, RFC 3339
		err            string
	}{
		{name: "FiveFields", expr: "*/20 * * * *", want: []string{"2027-03-27T12:20:00Z", "2027-03-27T12:40:00Z"}},
		{name: "SixFieldsWithSeconds", expr: "30 0 12 * * *", want: []string{"2027-03-27T12:00:30Z", "2027-03-28T12:00:30Z"}},
		{name: "Every", expr: "@every 90m", want: []string{"2027-03-27T13:30:00Z", "2027-03-27T15:00:00Z"}},
		{name: "Daily", expr: "@daily", want: []string{"2027-03-28T00:00:00Z", "2027-03-29T00:00:00Z"}},
		// Paris moves to summer time on 28 March 2027: 09:00 is 08:00Z, then 07:00Z.
		{name: "TimeZoneAcrossDST", expr: "0 9 * * *", tz: "Europe/Paris", want: []string{"2027-03-28T09:00:00+02:00", "2027-03-29T09:00:00+02:00"}},
		{name: "Weekdays", expr: "0 9 * * 1-5", tz: "America/New_York", want: []string{"2027-03-29T09:00:00-04:00", "2027-03-30T09:00:00-04:00"}},
		{name: "Empty", expr: " ", err: "a cron expression is required"},
		{name: "TimeZoneInExpression", expr: "CRON_TZ=Europe/Paris 0 9 * * *", err: "give the time zone with time_zone"},
		{name: "TooFewFields", expr: "* * *", err: `"* * *" is not a cron expression`},
		{name: "OutOfRange", expr: "61 * * * *", err: "is not a cron expression"},
		{name: "EveryTooShort", expr: "@every 500ms", err: "@every must be at least 1s"},
		{name: "UnknownTimeZone", expr: "@daily", tz: "Mars/Olympus", err: `unknown time zone "Mars/Olympus"`},
		{name: "LocalTimeZone", expr: "@daily", tz: "Local", err: "not Local"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := schedule.ParseCron(tt.expr, tt.tz)
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			var got []string
			for _, n := range c.NextN(from, len(tt.want)) {
				got = append(got, n.Format(time.RFC3339))
			}
			require.Equal(t, tt.want, got)
		})
	}
}
