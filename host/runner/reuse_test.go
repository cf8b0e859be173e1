package runner_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/hookhost/hookhost/automations"
	"github.com/hookhost/hookhost/templates/dict"
)

// TestRun_ReusedBuffersKeepRunsApart runs the guide's webhook out of
// process from many goroutines at once, each run with inputs of its own
// (a query parameter of its own length), and some of them cancelled while
// they may be on their way: every run answered returns its own inputs. The
// server reuses the buffers of answered runs' inputs and requests for
// later runs, and the decoded results once converted; the extension
// reuses the buffers of the return dictionaries and the results it sent.
// One reused while its run (or result) was still being sent or read would
// give a run another run's inputs, call id or result.
func TestRun_ReusedBuffersKeepRunsApart(t *testing.T) {
	r, _ := startRunner(t, false)
	a := guideAutomation(t)
	const callers, runs = 16, 40
	var wg sync.WaitGroup
	for g := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range runs {
				want := fmt.Sprintf("g%d-r%d-%s", g, i, strings.Repeat("x", (g*runs+i)%97))
				inv := guideInvocation(a)
				inv.Inputs.Value("request_params").(*dict.Map).Set("key", want)
				ctx, cancel := context.WithCancel(context.Background())
				if i%5 == 4 {
					// Cancelled while it is queued, sent or running.
					go cancel()
				}
				res, err := r.Run(ctx, inv)
				cancel()
				if err != nil {
					assert.ErrorIs(t, err, context.Canceled, "run %s", want)
					continue
				}
				if !assert.Equal(t, automations.ExitReturn, res.Exit, "run %s", want) {
					return
				}
				body, _ := res.Return.Value("body").(string)
				assert.Contains(t, body, `"key": "`+want+`"`, "run %s got another run's inputs", want)
				assert.Equal(t, 1, strings.Count(body, `"key": "g`), "run %s", want)
			}
		}()
	}
	wg.Wait()
}
