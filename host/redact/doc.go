// Package redact keeps secrets out of everything hookhost writes or shows:
// logs, run and job records, problem answers, API views.
//
// A Redactor knows the secret values (stored secrets, the admin token) and
// recognises webhook tokens in URLs; Redact, Value and RawJSON apply it to
// text, dictionary values and stored JSON. Credentials are also recognised
// by where they travel, whatever their value: request headers such as
// Authorization or a signature header (CredentialHeader, with the headers
// a webhook's verify blocks read added per webhook), parameters and body
// fields named like a password or token (CredentialParam). Headers, Params
// and Inputs replace those with "[redacted]". What a request's record keeps
// of its automation's answer, output, log and error is redacted with
// CallerRedaction: besides the secret values, the values the caller sent
// in those credential headers, wherever the automation echoed them (the
// caller's own answer is the automation's, whole).
package redact
