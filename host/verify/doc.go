// Package verify compiles the verify/<name>: blocks of a webhook's event
// KATA and checks incoming requests against them: provider signatures
// (GitHub, GitLab, Stripe, Slack, Standard Webhooks), a generic HMAC scheme,
// HTTP Basic and Bearer authentication, a static header token and a client
// address allow-list.
//
// Blocks come before the handlers of the event KATA:
//
//	verify/github:
//	  type: github
//	  secret: {{secrets.github_hook}}
//	verify/ip:
//	  type: ip_allow
//	  cidrs@list:
//	    140.82.112.0/20
//	    192.30.252.0/22
//
// # Credentials
//
// A secret:, token: or password: value is either written literally or names
// a stored secret with a {{secrets.NAME}} placeholder (NAME is 1 to 64
// letters, digits and underscores). Placeholders are resolved through
// Options.Secret on every request, so a rotated secret takes effect at once.
// The plural form (secrets@list:, tokens@list:, passwords@list:) lists
// several values, one per line; a request signed with any of them passes,
// which is how a key is rotated without downtime:
//
//	secrets@list:
//	  {{secrets.github_hook}}
//	  {{secrets.github_hook_old}}
//
// Stored secrets that are not set are skipped as long as one value remains.
//
// # Types
//
// Every block has a type: and the keys of its type; any other key is an
// error. tolerance_secs@int: (1 to 86400) overrides Options.ReplayWindow
// (default 300s) for the types that sign a timestamp; timestamps older or
// further in the future than the window are refused.
//
//	type: github             secret | secrets@list
//	    X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>
//	type: gitlab             token | tokens@list
//	    X-Gitlab-Token: <token>
//	type: stripe             secret | secrets@list, tolerance_secs
//	    Stripe-Signature: t=<ts>,v1=<hex HMAC-SHA256(secret, "<ts>.<body>")>[,v1=...]
//	type: slack              secret | secrets@list, tolerance_secs
//	    X-Slack-Request-Timestamp: <ts>
//	    X-Slack-Signature: v0=<hex HMAC-SHA256(secret, "v0:<ts>:<body>")>
//	type: standard_webhooks  secret | secrets@list (whsec_<base64>),
//	                         public_key | public_keys@list (whpk_<base64>), tolerance_secs
//	    webhook-id, webhook-timestamp (or svix-id, svix-timestamp) and
//	    webhook-signature: space-separated v1,<base64 HMAC-SHA256(key, "<id>.<ts>.<body>")>
//	    and v1a,<base64 Ed25519 signature of "<id>.<ts>.<body>">
//	type: hmac               header (required), secret | secrets@list,
//	                         algorithm (sha1, sha256 (default), sha512),
//	                         encoding (hex (default), base64), prefix (e.g. "sha256="),
//	                         timestamp_header, signed_payload (default "{body}", or
//	                         "{timestamp}.{body}" with a timestamp_header), tolerance_secs
//	type: basic              username, password | passwords@list
//	    Authorization: Basic <base64(username:password)>
//	type: bearer             token | tokens@list
//	    Authorization: Bearer <token>
//	type: header             header (required), token | tokens@list
//	    <header>: <token>
//	type: ip_allow           cidrs@list (or cidrs@csv:, or one inline cidrs: value);
//	                         a bare address means a single host
//
// # Errors
//
// Compile reports every problem of every block at once as kata.Errors with
// Source "event" and the line:col of the offending key or value.
//
// Verify returns nil, a *Error (answer its Status: 401, or 403 for
// ip_allow; the message names the block and the reason, never the expected
// value, a secret or the received signature), or any other error when a
// stored secret cannot be used (ErrSecretUnavailable: not set, not usable,
// or the lookup failed). The last case is a server-side failure: answer 500
// and do not run the automation.
//
// Every signature and token is compared in constant time.
package verify
