package admin

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/live"
)

func (a *Admin) eventRoutes() []route {
	return []route{
		{fiber.MethodGet, "/events", a.events},
	}
}

// eventHeartbeat is how often an idle stream sends a comment line, so that
// proxies and clients see it is alive.
const eventHeartbeat = 15 * time.Second

// events streams what happens on this server as server-sent events:
// "request" (a request record was written: the record as GET /requests
// lists it) and "job" (a job started or ended here). ?webhook= and
// ?types=request,job filter. A stream lasts until the client goes, the
// server stops, or --write-timeout passes without an event to send; the
// client reconnects (EventSource does by itself).
func (a *Admin) events(c *fiber.Ctx) error {
	// Copied: the filter outlives the handler (the hub matches every
	// event against it while the stream lasts), and c.Query is a view of
	// fasthttp's request buffer.
	f := live.Filter{WebhookID: strings.Clone(c.Query("webhook"))}
	if t := c.Query("types"); t != "" {
		for _, typ := range strings.Split(t, ",") {
			switch typ = strings.TrimSpace(typ); typ {
			case "request", "job":
				f.Types = append(f.Types, strings.Clone(typ))
			default:
				return api.InvalidField("types", fmt.Sprintf("types must list request and/or job, e.g. types=request,job (got %q)", typ))
			}
		}
	}
	w, ok := a.cfg.Live.Watch(f)
	if !ok {
		c.Set(fiber.HeaderRetryAfter, "5")
		return api.NewProblem(http.StatusTooManyRequests, "too many event streams are open; try again later")
	}
	c.Set(fiber.HeaderContentType, "text/event-stream")
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set("X-Accel-Buffering", "no")
	conn := c.Context().Conn()
	writeTimeout := c.App().Config().WriteTimeout
	c.Context().SetBodyStreamWriter(func(out *bufio.Writer) {
		defer w.Stop()
		extend := func() {
			if writeTimeout > 0 && conn != nil {
				_ = conn.SetWriteDeadline(time.Now().Add(writeTimeout))
			}
		}
		extend()
		// The first line tells the client the stream is open.
		if _, err := out.WriteString(": hookhost events\n\n"); err != nil || out.Flush() != nil {
			return
		}
		tick := time.NewTicker(eventHeartbeat)
		defer tick.Stop()
		for {
			select {
			case ev, open := <-w.C:
				if !open {
					return
				}
				data, err := json.Marshal(ev)
				if err != nil {
					continue
				}
				extend()
				fmt.Fprintf(out, "event: %s\ndata: %s\n\n", ev.Type, data)
				if out.Flush() != nil {
					return
				}
			case <-tick.C:
				extend()
				if _, err := out.WriteString(": ping\n\n"); err != nil || out.Flush() != nil {
					return
				}
			}
		}
	})
	return nil
}
