package host

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookhost/hookhost/internal/pgtest"
)

// scheduleJobs lists a schedule's jobs through the admin API, in full
// (inputs, output), oldest first.
func (b *testBundle) scheduleJobs(t *testing.T, name, state string) []map[string]any {
	t.Helper()
	r := b.admin(t, "GET", "/schedules/"+name+"/jobs?limit=500&state="+state, "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var list struct{ Jobs []struct{ ID string } }
	require.NoError(t, json.Unmarshal(r.Body, &list))
	out := make([]map[string]any, 0, len(list.Jobs))
	for i := len(list.Jobs) - 1; i >= 0; i-- {
		out = append(out, b.job(t, list.Jobs[i].ID))
	}
	return out
}

// waitScheduleJobs polls until a schedule has n completed jobs (a bounded
// number of times) and returns them.
func (b *testBundle) waitScheduleJobs(t *testing.T, name string, n int) []map[string]any {
	t.Helper()
	for range 600 {
		r := b.admin(t, "GET", "/schedules/"+name+"/jobs?limit=500&state=completed", "", "")
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		var list struct{ Jobs []any }
		require.NoError(t, json.Unmarshal(r.Body, &list))
		if len(list.Jobs) >= n {
			return b.scheduleJobs(t, name, "completed")
		}
		time.Sleep(50 * time.Millisecond)
	}
	require.FailNow(t, "the schedule did not run its jobs", "want %d completed jobs of %s", n, name)
	return nil
}

// TestSchedules_EverySecond creates a schedule that ticks every second
// through the admin API and checks the jobs it produces: records of the
// schedule's handler with its inputs, run by the automation, one per tick.
func TestSchedules_EverySecond(t *testing.T) {
	t.Parallel()
	for _, be := range jobBackends(t) {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			b := setupJobs(t, be)
			b.createAutomation(t, "tick", "inputs:\n  text/env:\n    required@bool: yes\nstart:\n  return:\n    body: {{inputs.env}} at {{schedule_time}}\n", "")

			r := b.admin(t, "POST", "/schedules", "application/json",
				`{"name":"every-second","cron":"@every 1s","automation":"tick","inputs":{"env":"prod"},"job":{"max_attempts":2}}`)
			require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
			require.Equal(t, "/api/v1/schedules/every-second", r.Header.Get("Location"))
			sc := r.json(t)
			require.Equal(t, "UTC", sc["time_zone"])
			require.Equal(t, "skip", sc["missed_runs"])
			require.Len(t, sc["next_runs"], 5)

			got := b.waitScheduleJobs(t, "every-second", 2)
			ticks := map[string]bool{}
			for _, j := range got {
				require.Equal(t, "schedule/every-second", j["handler"])
				require.NotContains(t, j, "webhook_id")
				require.Equal(t, "tick", j["automation"])
				require.Equal(t, float64(2), j["max_attempts"])
				in := j["inputs"].(map[string]any)
				require.Equal(t, map[string]any{"env": "prod"}, in["inputs"])
				require.Equal(t, "every-second", in["schedule_name"])
				require.Equal(t, false, in["schedule_catch_up"])
				tick := in["schedule_time"].(string)
				require.False(t, ticks[tick], "tick %s ran twice", tick)
				ticks[tick] = true
				require.Equal(t, "prod at "+tick, j["response"].(map[string]any)["body"])
			}

			r = b.admin(t, "GET", "/schedules/every-second", "", "")
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
			require.NotEmpty(t, r.json(t)["last_job_id"])
			r = b.admin(t, "GET", "/schedules", "", "")
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
			require.Len(t, r.json(t)["schedules"], 1)

			r = b.admin(t, "POST", "/schedules/every-second/pause", "", "")
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
			require.Nil(t, r.json(t)["next_run_at"])
			r = b.admin(t, "PATCH", "/schedules/every-second", "application/json", `{"cron":"0 9 * * 1-5","time_zone":"Europe/Paris","enabled":true}`)
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
			next := r.json(t)["next_run_at"].(string)
			require.True(t, strings.HasSuffix(next, "T09:00:00+01:00") || strings.HasSuffix(next, "T09:00:00+02:00"), next)

			r = b.admin(t, "DELETE", "/schedules/every-second", "", "")
			require.Equal(t, http.StatusNoContent, r.Status, "%s", r.Body)
			r = b.admin(t, "GET", "/schedules/every-second", "", "")
			require.Equal(t, http.StatusNotFound, r.Status, "%s", r.Body)
		})
	}
}

func TestSchedules_RefusedWhenSaved(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.createAutomation(t, "plain", "start:\n  return:\n    body: ok\n", "")
	tests := []struct {
		name, body string
		status     int
		fields     []string
	}{
		{"Invalid", `{"name":"x","cron":"@every 1ms","automation":"nope","time_zone":"UTC","missed_runs":"never"}`, 400,
			[]string{"cron", "missed_runs", "automation"}},
		{"UndeclaredInput", `{"name":"x","cron":"@hourly","automation":"plain","inputs":{"a":1}}`, 400, []string{"inputs.a"}},
		{"UnknownField", `{"name":"x","cron":"@hourly","automation":"plain","every":"1h"}`, 400, []string{"every"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := b.admin(t, "POST", "/schedules", "application/json", tt.body)
			require.Equal(t, tt.status, r.Status, "%s", r.Body)
			var fields []string
			for _, it := range r.problem(t).Errors {
				fields = append(fields, it.Field)
			}
			require.Equal(t, tt.fields, fields)
		})
	}
	r := b.admin(t, "POST", "/schedules", "application/json", `{"name":"dup","cron":"@hourly","automation":"plain"}`)
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	r = b.admin(t, "POST", "/schedules", "application/json", `{"name":"dup","cron":"@daily","automation":"plain"}`)
	require.Equal(t, http.StatusConflict, r.Status, "%s", r.Body)
	r = b.admin(t, "GET", "/schedules/dup/signing-secret", "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.True(t, strings.HasPrefix(r.json(t)["signing_secret"].(string), "whsec_"))
	r = b.admin(t, "PATCH", "/schedules/nope", "application/json", `{"description":"x"}`)
	require.Equal(t, http.StatusNotFound, r.Status, "%s", r.Body)

	// The automation a schedule runs is not deleted from under it (its
	// own, since the subtests above run once this function returns).
	b.createAutomation(t, "ticker", "start:\n  return:\n    body: ok\n", "")
	r = b.admin(t, "POST", "/schedules", "application/json", `{"name":"ticks","cron":"@hourly","automation":"ticker"}`)
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	r = b.admin(t, "DELETE", "/automations/ticker", "", "")
	require.Equal(t, http.StatusConflict, r.Status, "%s", r.Body)
	require.Contains(t, r.problem(t).Detail, `used by schedules ticks`)
	r = b.admin(t, "DELETE", "/automations/ticker?force=true", "", "")
	require.Equal(t, http.StatusNoContent, r.Status, "%s", r.Body)
}

// TestScaleOut_ScheduleTicksOnce runs two servers on one PostgreSQL schema,
// both looking for due ticks: every tick of a schedule gets exactly one
// job.
func TestScaleOut_ScheduleTicksOnce(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t, "hh_sched_")
	newServer := func() *testBundle {
		return setup(t, func(c *Config) { c.Database = dsn })
	}
	a, b := newServer(), newServer()
	a.createAutomation(t, "tick", "start:\n  return:\n    body: {{schedule_timestamp}}\n", "")
	r := a.admin(t, "POST", "/schedules", "application/json", `{"name":"shared","cron":"@every 1s","automation":"tick"}`)
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	// B learns of the schedule by looking, not by being told.
	got := b.waitScheduleJobs(t, "shared", 4)
	perTick := map[string]int{}
	for _, j := range got {
		perTick[j["inputs"].(map[string]any)["schedule_time"].(string)]++
	}
	for tick, n := range perTick {
		require.Equal(t, 1, n, "tick %s has %d jobs", tick, n)
	}
	var keys, distinct int
	require.NoError(t, a.srv.Store().DB().QueryRowContext(context.Background(),
		`SELECT COUNT(*), COUNT(DISTINCT job_id) FROM hookhost_job_keys WHERE key LIKE 'schedule:shared:%'`).Scan(&keys, &distinct))
	require.Equal(t, keys, distinct, "one job per tick key")
	r = a.admin(t, "GET", "/schedules/shared/jobs?limit=500", "", "")
	var all struct{ Jobs []any }
	require.NoError(t, json.Unmarshal(r.Body, &all))
	require.Equal(t, keys, len(all.Jobs), "every job has its own tick key")
}

// subscriber is a receiver of events on 127.0.0.1 that keeps what it gets.
type subscriber struct {
	*httptest.Server
	mu  sync.Mutex
	got []delivered
}

type delivered struct {
	header http.Header
	body   []byte
}

func newSubscriber(t *testing.T) *subscriber {
	t.Helper()
	s := &subscriber{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.got = append(s.got, delivered{header: r.Header.Clone(), body: body})
		s.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(s.Close)
	return s
}

// wait polls until the subscriber got n events (a bounded number of times).
func (s *subscriber) wait(t *testing.T, n int) []delivered {
	t.Helper()
	for range 1000 {
		s.mu.Lock()
		got := append([]delivered(nil), s.got...)
		s.mu.Unlock()
		if len(got) >= n {
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
	require.FailNow(t, "the subscriber did not get its events", "want %d", n)
	return nil
}

// TestSubscriptions_API subscribes a receiver through the admin API and
// checks it gets a job's end and a refused request, signed with its
// secret, and nothing once unsubscribed.
func TestSubscriptions_API(t *testing.T) {
	t.Parallel()
	b := setupJobs(t, jobBackends(t)[0])
	b.createAutomation(t, "deploy", "start:\n  return:\n    body: done\n", "")
	id, tok := b.createWebhook(t, "deploys", "automation/deploy:\n  uri: cerb:automation:deploy\n  job:\n    max_attempts@int: 1\n")
	recv := newSubscriber(t)

	for _, bad := range []struct{ body, field string }{
		{`{"url":"` + recv.URL + `","events":["job.exploded"]}`, "events"},
		{`{"url":"ftp://x","events":["job.completed"]}`, "url"},
		{`{"url":"` + recv.URL + `","events":["job.completed"],"webhook_id":"nope"}`, "webhook_id"},
	} {
		r := b.admin(t, "POST", "/subscriptions", "application/json", bad.body)
		require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
		require.Equal(t, bad.field, r.problem(t).Errors[0].Field)
	}

	r := b.admin(t, "POST", "/subscriptions", "application/json",
		`{"url":"`+recv.URL+`/hookhost","events":["job.completed","webhook.request.rejected"],"webhook_id":"`+id+`"}`)
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	sub := r.json(t)
	subID, secret := sub["id"].(string), sub["secret"].(string)
	require.Equal(t, "/api/v1/subscriptions/"+subID, r.Header.Get("Location"))
	require.True(t, strings.HasPrefix(secret, "whsec_"))

	jobID := b.fire(t, tok)
	got := recv.wait(t, 1)
	requireSigned(t, secret, got[0])
	var ev struct {
		Type string
		Data map[string]any
	}
	require.NoError(t, json.Unmarshal(got[0].body, &ev))
	require.Equal(t, "job.completed", ev.Type)
	require.Equal(t, jobID, ev.Data["job_id"])
	require.Equal(t, id, ev.Data["webhook_id"])

	r = b.admin(t, "PATCH", "/webhooks/"+id, "application/json", `{"enabled":false}`)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	r = b.do(t, "POST", "/webhooks/"+tok, "application/json", `{}`)
	require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
	got = recv.wait(t, 2)
	requireSigned(t, secret, got[1])
	ev.Data = nil
	require.NoError(t, json.Unmarshal(got[1].body, &ev))
	require.Equal(t, "webhook.request.rejected", ev.Type)
	require.Equal(t, map[string]any{"webhook_id": id, "request_id": ev.Data["request_id"], "status": float64(400),
		"cause": "disabled", "method": "POST", "client_ip": "0.0.0.0"}, ev.Data)
	require.NotContains(t, string(got[1].body), tok, "no token in an event")

	r = b.admin(t, "GET", "/subscriptions/"+subID+"/deliveries", "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var log struct{ Deliveries []map[string]any }
	require.NoError(t, json.Unmarshal(r.Body, &log))
	require.Len(t, log.Deliveries, 2)
	r = b.admin(t, "GET", "/subscriptions", "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.NotContains(t, string(r.Body), secret, "lists do not show secrets")
	r = b.admin(t, "GET", "/subscriptions/"+subID, "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, secret, r.json(t)["secret"])

	r = b.admin(t, "DELETE", "/subscriptions/"+subID, "", "")
	require.Equal(t, http.StatusNoContent, r.Status, "%s", r.Body)
	for _, path := range []string{"/subscriptions/" + subID, "/subscriptions/" + subID + "/deliveries"} {
		r = b.admin(t, "GET", path, "", "")
		require.Equal(t, http.StatusNotFound, r.Status, "%s", r.Body)
	}
	r = b.admin(t, "DELETE", "/subscriptions/"+subID, "", "")
	require.Equal(t, http.StatusNotFound, r.Status, "%s", r.Body)
}

// requireSigned verifies a delivery's Standard Webhooks signature from the
// specification: base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>"
// keyed with the secret's bytes after "whsec_".
func requireSigned(t *testing.T, secret string, d delivered) {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	require.NoError(t, err)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(d.header.Get("webhook-id") + "." + d.header.Get("webhook-timestamp") + "."))
	m.Write(d.body)
	require.Equal(t, "v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil)), d.header.Get("webhook-signature"))
}

// TestSchedules_CallbackSignedWithScheduleSecret checks that the completion
// callback of a schedule's job is signed with the schedule's own secret.
func TestSchedules_CallbackSignedWithScheduleSecret(t *testing.T) {
	t.Parallel()
	b := setupJobs(t, jobBackends(t)[0])
	b.createAutomation(t, "tick", "start:\n  return:\n    body: ok\n", "")
	recv := newSubscriber(t)
	r := b.admin(t, "POST", "/schedules", "application/json",
		`{"name":"called-back","cron":"@every 1s","automation":"tick","job":{"callback_url":"`+recv.URL+`/done"}}`)
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	got := recv.wait(t, 1)
	r = b.admin(t, "POST", "/schedules/called-back/pause", "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	r = b.admin(t, "GET", "/schedules/called-back/signing-secret", "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	requireSigned(t, r.json(t)["signing_secret"].(string), got[0])
	var n struct {
		Type string
		Data map[string]any
	}
	require.NoError(t, json.Unmarshal(got[0].body, &n))
	require.Equal(t, "job.completed", n.Type)
	require.Equal(t, "schedule/called-back", n.Data["handler"])
	require.Equal(t, "", n.Data["webhook_id"])
}

// TestManifests_SchedulesAndSubscriptionsOwned applies a manifest that
// declares a schedule and a published subscription through the admin API:
// the admin API then refuses to change them (409 naming the file) unless
// forced, and the export declares them.
func TestManifests_SchedulesAndSubscriptionsOwned(t *testing.T) {
	t.Parallel()
	b := setup(t)
	manifest := "automations:\n  - name: nightly.report\n    script: |\n      start:\n        return:\n          body: ok\n" +
		"schedules:\n  - name: nightly\n    cron: \"0 3 * * *\"\n    automation: nightly.report\n" +
		"subscriptions:\n  - name: ops\n    url: http://127.0.0.1:9/events\n    events: [job.failed]\n"
	body, err := json.Marshal(map[string]any{"files": map[string]string{"ops.yaml": manifest}})
	require.NoError(t, err)
	r := b.admin(t, "POST", "/manifests/apply", "application/json", string(body))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)

	r = b.admin(t, "GET", "/schedules/nightly", "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, "manifest:ops.yaml", r.json(t)["owner"])
	r = b.admin(t, "GET", "/subscriptions", "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var subs struct {
		Subscriptions []struct{ ID, Name, Owner string }
	}
	require.NoError(t, json.Unmarshal(r.Body, &subs))
	require.Len(t, subs.Subscriptions, 1)
	require.Equal(t, "ops", subs.Subscriptions[0].Name)
	require.Equal(t, "manifest:ops.yaml", subs.Subscriptions[0].Owner)

	for _, c := range []struct{ method, path, body string }{
		{"PATCH", "/schedules/nightly", `{"cron":"0 4 * * *"}`},
		{"POST", "/schedules/nightly/pause", ""},
		{"DELETE", "/schedules/nightly", ""},
		{"DELETE", "/subscriptions/" + subs.Subscriptions[0].ID, ""},
	} {
		ct := ""
		if c.body != "" {
			ct = "application/json"
		}
		r := b.admin(t, c.method, c.path, ct, c.body)
		require.Equal(t, http.StatusConflict, r.Status, "%s %s: %s", c.method, c.path, r.Body)
		require.Contains(t, r.problem(t).Detail, "managed by the manifest file ops.yaml")
	}
	r = b.admin(t, "GET", "/manifests/export", "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var exp struct{ Files map[string]string }
	require.NoError(t, json.Unmarshal(r.Body, &exp))
	require.Contains(t, exp.Files["ops.yaml"], "schedules:\n  - name: nightly\n")
	require.Contains(t, exp.Files["ops.yaml"], "subscriptions:\n  - name: ops\n")

	r = b.admin(t, "POST", "/schedules/nightly/pause?force=true", "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	r = b.admin(t, "DELETE", "/subscriptions/"+subs.Subscriptions[0].ID+"?force=true", "", "")
	require.Equal(t, http.StatusNoContent, r.Status, "%s", r.Body)
	r = b.admin(t, "GET", "/audit?kind=schedule", "", "")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Contains(t, string(r.Body), `"actor":"manifest:ops.yaml"`)
}
