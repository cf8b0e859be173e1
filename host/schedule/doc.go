// Package schedule runs automations on a schedule: each tick of a cron
// expression queues the schedule's automation as a durable job (host/jobs),
// with the same records, retries, limits and callbacks as a job a webhook
// hands off.
//
// # What runs
//
// A schedule names a webhook.respond automation (the trigger the job
// runner runs) and its fixed inputs, a JSON object checked when the
// schedule is saved against the script's inputs: block, as a webhook
// handler's fixed inputs are. A tick's job gets the dictionary
//
//	inputs:              the fixed inputs (absent when there are none)
//	schedule_name:       the schedule's name
//	schedule_time:       the tick, RFC 3339 in the schedule's time zone
//	schedule_timestamp:  the tick, unix seconds
//	schedule_catch_up:   true for the one run of ticks found late (run_once)
//
// and no request_* or webhook_* keys. Its job record has no webhook ID and
// the handler "schedule/<name>" (jobs.ScheduleHandler); a completion
// callback (job.callback_url) is signed with the schedule's own signing
// secret (jobs.SigningKey).
//
// # Ticks, once
//
// Expressions are robfig/cron's: 5 fields, 6 with seconds first, or
// @every <duration> (at least 1s), @hourly, @daily, @weekly, @monthly,
// @yearly, read in the schedule's IANA time zone (UTC by default).
//
// River's periodic jobs are not used: River keeps their schedule in the
// memory of its elected leader and starts it afresh after every election
// or restart, so it cannot tell a missed tick, and schedules made through
// the API on one server would have to be pushed to every other. Instead
// each schedule's row keeps the tick it waits for (next_run_at), and every
// server looks for due ticks (Scheduler.RunDue: when the earliest tick it
// knows comes due, at once after a change made through it, and at least
// every Config.PollInterval). A due tick is handled in two steps:
//
//  1. its job is queued with an idempotency key made of the schedule and
//     the tick (the job queue answers every later queuing of the same key,
//     for 24 hours, with the first job);
//  2. next_run_at moves on to the next tick with a compare-and-set on the
//     tick just handled.
//
// Servers that see the same tick at once queue one job between them, and
// only one of them moves the schedule on; a server that dies between the
// two steps leaves the tick due, and whoever looks next queues nothing new
// and moves it on. So each tick queues exactly one job, once the database
// has it.
//
// # Missed runs
//
// A tick found more than Config.MissedAfter (1 minute) late, after
// downtime, follows the schedule's policy: skip (no job), or run_once (one
// job for all the ticks missed, with schedule_catch_up: true, timed as the
// first of them). Either way the schedule goes on from its first tick
// after now, and MissedCount counts the ticks that got no job of their own.
// A schedule that falls behind while running (ticks closer together than
// the time a look takes) runs at most one job per look the same way. A
// paused schedule that is resumed starts from its first tick after now.
package schedule
