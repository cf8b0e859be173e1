// Package jobs is hookhost's durable job queue: webhook runs handed off to
// River (github.com/riverqueue/river) in the same database as the rest of
// hookhost, on SQLite (riversqlite) or PostgreSQL (riverdatabasesql with a
// pgx listener), through one river.Client[*sql.Tx] code path.
//
// # Tables
//
// Besides River's own tables (migrated with rivermigrate at start-up;
// on PostgreSQL without River's indexes on river_job's args, metadata and
// kind, which hookhost does not query: see migration 7), the package keeps
// tables of its own, migrated by goose with the version table
// goose_db_version_jobs:
//
//   - hookhost_jobs: one row per job, keyed by a time-ordered UUID (the id users
//     see) and holding the River job id, the webhook, the automation and
//     the revision that ran, the state, attempts, timestamps, the inputs
//     with secrets redacted, and once finished the response, the return
//     dictionary, the run log and the last error.
//   - hookhost_job_keys: idempotency keys (Idempotency-Key, webhook-id,
//     X-GitHub-Delivery) per webhook, unique, valid 24 hours.
//   - hookhost_job_slots: concurrency leases, one row per (handler, slot).
//   - hookhost_signing_secrets: the per-webhook (and per-schedule) secrets
//     that sign completion callbacks, sealed with Config.Box (secrets.go).
//   - hookhost_subscriptions and hookhost_deliveries: receivers of published
//     events and their delivery log (subscriptions.go).
//   - hookhost_schedules: the schedules of host/schedule, migrated here
//     because every scheduled run is a job of this queue.
//
// # Hand-off and group commit
//
// Enqueue hands a job to an inserter goroutine, which collects concurrent
// requests for up to Config.BatchDelay (or BatchSize of them) and writes
// them in one transaction: idempotency keys, River's InsertManyTx and the
// hookhost_jobs rows. Enqueue returns only after the commit, so a job id is
// never shown before it is on disk, and one fsync serves the whole batch.
// On PostgreSQL that transaction is a native pgx one on a connection of
// the store's pool, with a second, insert-only River client (riverpgxv5):
// through riverdatabasesql, River's array parameters were encoded as text
// and parsed again by pgx, about a fifth of the CPU of a 202. Everything
// else keeps the one database/sql code path.
// On SQLite, River's statements are replaced where hookhost's jobs allow
// (sqliteinsert.go, sqlitecomplete.go, sqlitefetch.go): a batch of jobs is
// inserted as one multi-row INSERT of bound values instead of a JSON
// document taken apart by json_extract (the hand-off's run jobs without
// River's client, their args encoded by Enqueue's callers), River's
// completer completes running jobs with one UPDATE instead of one per job,
// and River's fetch is River's statement whose rows are decoded without
// checking the args twice; unique jobs, and anything else those
// statements do not cover, go to River's driver.
//
// A run job's real inputs (the request, its body twice) are written once,
// raw, in hookhost_job_inputs beside River's row, and never updated: River
// rewrites its row at the fetch and the completion, which on SQLite
// rewrote the inputs each time (inputs.go). The fetch reads them for the
// run jobs it takes (fetched.go), and the completer's statements return
// no args (nothing reads them). Jobs queued before jobs schema version 10
// keep their inputs in River's args, in base64: the fetch takes them out of
// River's copy of the args and the worker takes them back.
// Workers' state changes go through a second group-commit writer. On
// PostgreSQL a batch of them that are plain statements (a job marked
// running, an outcome that queues no callback or delivery) is sent as one
// pgx pipeline with a single Sync: one implicit transaction in one round
// trip instead of BEGIN, a round trip per statement and COMMIT.
//
// # Running
//
// A River worker marks the job running, takes a concurrency slot if the
// handler has a concurrency limit (snoozing when none is free), runs the
// automation through Config.Runner with the job's time limit, and writes
// the outcome. Waiters in the same process (wait_ms) learn of the end
// through Queue.Wait, not by polling River. Local running jobs touch
// River's attempted_at every RescueAfter/4, so River's rescuer re-runs the
// jobs of a crashed process after RescueAfter whatever their time limit. On
// PostgreSQL every working process also queues such jobs again itself at
// its heartbeat, without waiting for River's leader (writes.go, rescueSQL).
//
// River also ends jobs by itself: it discards one whose last attempt ended
// without an outcome (its process died, or the outcome, the start or the
// concurrency slot could not be written), its rescuer cancels one whose
// cancellation was asked for while it ran (a process that dies then does
// not queue it again: rescueSQL and requeueOnStart leave it to River), and
// Cancel of a queued job cancels River's row before it writes the
// record. Each prune pass ends such records as a worker would (Failed,
// or Stopped, with the callback and deliveries), and those whose River
// row is gone, once no worker of the job can still run: not in this
// process, and River's end longer ago than the job's time limit, its
// outcome's write retries and a minute (RepairRecords, repair.go).
//
// A run job whose stored River args (or row) cannot be read never reaches
// its worker: River fails the attempt, and its error handler ends the
// record Failed at once, with an error saying so, through the same write
// as a worker's end (unreadable.go): every attempt would read the same
// bytes.
//
// Real inputs (with secrets) live in hookhost_job_inputs (in River's args
// for jobs queued before schema version 10) and are deleted with the River
// job's row, which River's cleaner deletes after Config.Retention (or the
// prune pass); hookhost_jobs keeps the redacted copy shown by the API.
//
// # Events
//
// When a job ends, the transaction that records its end also queues its
// completion callback (callback.go) and one delivery per subscription to
// its event (job.completed, job.failed, job.stopped); other parts publish
// their events with Publish (webhook.request.rejected). Callbacks and
// deliveries are River jobs of the callbacks' queue, sent by one function
// (post): signed the Standard Webhooks way, through the outbound guard,
// retried with backoff. Their workers (Settings.CallbackWorkers) are
// guarded per destination: a cap on the sends in flight to one, and a
// circuit breaker for one that stops answering (destinations.go).
//
// # Bytes
//
// Inputs, response headers and bodies, return dictionaries and errors may
// hold any bytes (a gzip body, a NUL in a query): hookhost_jobs keeps them
// in bytea columns on PostgreSQL (whose text refuses NUL and invalid UTF-8)
// and as BLOBs on SQLite, and River's args carry them in base64 (River's
// args are jsonb on PostgreSQL). River's own copy of an attempt's error
// has NUL and invalid UTF-8 replaced by U+FFFD. Webhook IDs, handlers,
// automation names and callback URLs are names: Enqueue refuses ones that
// are not valid UTF-8 or hold a NUL (store.ErrInvalid).
//
// # Retention
//
// River deletes its finished rows after Settings.Retention. The job records
// of finished jobs go after Settings.RecordRetention, or earlier, oldest
// first, when together they pass Settings.RecordMaxBytes; idempotency keys
// after IdempotencyWindow. Each process prunes every Config.PruneInterval
// (PruneRecords), in batches of Config.PruneBatch rows per statement, then
// repairs the records of jobs River ended without them (RepairRecords).
//
// # Running twice
//
// An automation's attempt runs once per River attempt, and an attempt whose
// outcome is recorded never runs again: markRunning refuses a job whose
// record is final, and the outcome write changes only a record that is not
// final, so writing it twice is harmless. When writing the outcome fails
// (the database unreachable, a connection dropped, even after COMMIT), it
// is written again with backoff, Config.OutcomeRetries times (about 17 s
// by default), while the job's heartbeat keeps others from taking it.
//
// The automation does run again (a new attempt, from the start) when:
//
//   - the outcome could not be written through every retry: River then
//     retries the job, as for an extension crash;
//   - the process died between the automation's end and the outcome's
//     commit (River's rescuer runs the job again after RescueAfter);
//   - the process's heartbeat could not be written for RescueAfter while
//     the automation still ran (PostgreSQL: another process takes it);
//   - the attempt ended for a reason River retries (an error of the
//     runner, a time limit with max_attempts set).
//
// An automation whose effects must not repeat guards them with an
// idempotency key that is the same on every attempt: the job ID
// (Attempt.JobID; Attempt.Attempt counts the attempts), for example as the
// Idempotency-Key of the HTTP requests it makes.
package jobs
