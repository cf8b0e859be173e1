package schedule

import (
	"errors"
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // time zones on hosts without a zoneinfo database

	"github.com/robfig/cron/v3"
)

// DefaultTimeZone is the time zone of a schedule that names none.
const DefaultTimeZone = "UTC"

// minEvery is the shortest @every interval.
const minEvery = time.Second

// Cron is a parsed schedule expression in its time zone: when its ticks
// fall.
type Cron struct {
	sched cron.Schedule
	loc   *time.Location
}

// cronParser reads 5 fields (minute hour day-of-month month day-of-week),
// 6 with seconds first, and the descriptors (@every <duration>, @hourly,
// @daily, @midnight, @weekly, @monthly, @yearly, @annually).
func cronParser() cron.Parser {
	return cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
}

// ParseCron parses a schedule expression in an IANA time zone ("" is
// UTC). The expression is 5 cron fields (minute hour day-of-month month
// day-of-week), or 6 with seconds first, or a descriptor: @every <Go
// duration> (at least 1s), @hourly, @daily (@midnight), @weekly, @monthly,
// @yearly (@annually). The time zone is given apart, not as CRON_TZ=.
func ParseCron(expr, timeZone string) (*Cron, error) {
	loc, err := LoadTimeZone(timeZone)
	if err != nil {
		return nil, err
	}
	expr = strings.TrimSpace(expr)
	switch {
	case expr == "":
		return nil, errors.New(`a cron expression is required, such as "*/15 * * * *" or "@every 1h"`)
	case strings.HasPrefix(expr, "CRON_TZ=") || strings.HasPrefix(expr, "TZ="):
		return nil, errors.New("give the time zone with time_zone, not in the expression")
	}
	s, err := cronParser().Parse(expr)
	if err != nil {
		return nil, fmt.Errorf("%q is not a cron expression (5 fields, 6 with seconds, or @every <duration>, @hourly, @daily, …): %s",
			expr, strings.TrimPrefix(err.Error(), "failed to parse "))
	}
	switch s := s.(type) {
	case *cron.SpecSchedule:
		s.Location = loc
	case cron.ConstantDelaySchedule:
		if d, _ := time.ParseDuration(strings.TrimSpace(strings.TrimPrefix(expr, "@every"))); d < minEvery {
			return nil, fmt.Errorf("@every must be at least %s", minEvery)
		}
	}
	return &Cron{sched: s, loc: loc}, nil
}

// LoadTimeZone loads an IANA time zone ("" is UTC). "Local" is refused:
// servers sharing a database may not share a local zone.
func LoadTimeZone(name string) (*time.Location, error) {
	if name == "" {
		name = DefaultTimeZone
	}
	if name == "Local" {
		return nil, errors.New(`name an IANA time zone such as "Europe/Paris" or "UTC", not Local`)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q: name an IANA time zone such as \"Europe/Paris\" or \"UTC\"", name)
	}
	return loc, nil
}

// Next is the first tick strictly after t, in the schedule's time zone.
func (c *Cron) Next(t time.Time) time.Time { return c.sched.Next(t.In(c.loc)) }

// NextN lists the n ticks strictly after t.
func (c *Cron) NextN(t time.Time, n int) []time.Time {
	out := make([]time.Time, 0, n)
	for range n {
		t = c.Next(t)
		if t.IsZero() {
			break
		}
		out = append(out, t)
	}
	return out
}

// Location is the schedule's time zone.
func (c *Cron) Location() *time.Location { return c.loc }
