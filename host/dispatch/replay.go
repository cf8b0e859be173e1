package dispatch

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/host/api"
	"github.com/hookhost/hookhost/host/catalog"
	"github.com/hookhost/hookhost/host/reqlog"
)

// Replayed is what a replay did: the new record and the answer (or the
// problem) the webhook's current configuration gave.
type Replayed struct {
	// RecordID names the replay's own request record (ReplayOf the
	// original).
	RecordID string
	Answer   *Answer
	Problem  *api.Problem
}

// Replay sends a recorded request again through its webhook's current
// configuration, as an admin asks: the webhook's limits and verify blocks
// (which check the caller) are skipped, everything else applies, and the
// new record says it is a replay. The request is the one recorded: its
// credentials (redacted when it was recorded) stay redacted.
func (d *Dispatcher) Replay(ctx context.Context, recordID string) (*Replayed, error) {
	// The new record keeps the ID after the call (written later, by the
	// recorder): never a string of Fiber's reused buffers.
	recordID = strings.Clone(recordID)
	run, err := d.Run(ctx, recordID)
	if err != nil {
		return nil, catalog.NotFound(err, "request", recordID)
	}
	h, err := d.cat.HookByID(ctx, run.WebhookID)
	if err != nil {
		return nil, err
	}
	req, err := recordedRequest(run.Inputs)
	if err != nil {
		return nil, api.Errorf(http.StatusConflict, "request %q cannot be replayed: %v", recordID, err)
	}
	e := &reqlog.Entry{ID: "replay-" + newRunID(), WebhookID: h.Webhook.ID}
	x := &exchange{h: h, req: req, start: time.Now(), entry: e, replayOf: recordID}
	out := &Replayed{}
	if err := d.process(ctx, x); err != nil {
		var p *api.Problem
		if !errors.As(err, &p) {
			return nil, err
		}
		out.Problem = p
	}
	out.RecordID, out.Answer = e.RunID, x.answer
	return out, nil
}

// recordedRequest rebuilds a request from a record's stored inputs
// (decodeRecord); a record whose body was cut cannot be replayed.
func recordedRequest(inputs []byte) (automations.HTTPRequest, error) {
	req, cut, err := decodeRecord(inputs)
	if err == nil && cut {
		err = fmt.Errorf("its body was cut when it was recorded")
	}
	return req, err
}
