// Package jobs is hookhost's durable job queue: webhook runs handed off to
// River (github.com/riverqueue/river) in the same database as the rest of
// hookhost, on SQLite (riversqlite) or PostgreSQL (riverdatabasesql with a
// pgx listener), through one river.Client[*sql.Tx] code path.
//
// # Tables
//
// Besides River's own tables (migrated with rivermigrate at start-up),
// the package keeps four tables of its own, migrated by goose with the
// version table goose_db_version_jobs:
//
//   - hookhost_jobs: one row per job, keyed by a random UUID (the id users
//     see) and holding the River job id, the webhook, the automation and
//     the revision that ran, the state, attempts, timestamps, the inputs
//     with secrets redacted, and once finished the response, the return
//     dictionary, the run log and the last error.
//   - hookhost_job_keys: idempotency keys (Idempotency-Key, webhook-id,
//     X-GitHub-Delivery) per webhook, unique, valid 24 hours.
//   - hookhost_job_slots: concurrency leases, one row per (handler, slot).
//   - hookhost_signing_secrets: the per-webhook secrets that sign completion
//     callbacks.
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
// Workers' state changes go through a second group-commit writer.
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
// Real inputs (with secrets) live only in the River job's args, which River
// deletes after Config.Retention; hookhost_jobs keeps the redacted copy
// shown by the API.
package jobs
