// Package manifest is hookhost's declarative configuration: a directory of
// YAML files that declares automations, webhooks, secrets, schedules and
// published subscriptions, applied to
// the catalog in one transaction (Applier.Apply), written back out from
// the current state (Export), and, with `hookhost serve --manifests DIR`,
// applied at start and on every change of the directory (Watch).
//
// # Files
//
// The manifests are the directory's *.yaml and *.yml files (not those whose
// name starts with a dot, and not those of subdirectories: a Kubernetes
// ConfigMap's ..data link and its timestamped directories are skipped). A
// file may hold several YAML documents; each is a mapping of up to three
// lists (and schedules: and subscriptions:, below):
//
//	automations:
//	  - name: shop.orders                 # required; letters, digits, . _ -
//	    extension_id: cerb.trigger.webhook.respond   # the default
//	    description: Answers the shop's order hooks
//	    script: |                         # or script_file: orders.kata
//	      start:
//	        return:
//	          body: ok
//	    policy_kata: ""                   # or policy_kata_file: orders.policy.kata
//	webhooks:
//	  - name: Orders                      # required, unique among the manifests
//	    event_kata: |                     # or event_kata_file: orders.event.kata
//	      automation/orders:
//	        uri: cerb:automation:shop.orders
//	    enabled: true                     # the default
//	    debug: false                      # the default
//	    expires_at: 2027-01-01T00:00:00Z  # or null (the default): never
//	    token_secret: ORDERS_TOKEN        # optional: the secret holding the token
//	secrets:
//	  - name: ORDERS_TOKEN
//	    from_env: ORDERS_TOKEN            # or from_file: /run/secrets/orders
//	  - name: GITHUB_SECRET               # no source: set elsewhere, must exist
//
// Schedules and published subscriptions (with Applier.WithExtras):
//
//	schedules:
//	  - name: nightly                     # required
//	    cron: "0 3 * * *"                 # or "@every 10m"
//	    time_zone: Europe/Paris           # UTC by default
//	    automation: shop.report           # a webhook.respond automation
//	    inputs: {env: production}         # its fixed inputs
//	    enabled: true                     # the default
//	    missed_runs: skip                 # or run_once
//	    job: {max_attempts: 3, timeout_ms: 60000, concurrency: 1, callback_url: https://...}
//	subscriptions:
//	  - name: ops                         # required, identifies it
//	    url: https://ops.example.com/events
//	    events: [job.failed]
//	    webhook: Orders                   # optional: that webhook's events only
//
// They are written in the same transaction as the rest, through
// store.RecordChange, with their audit entries.
//
// A *_file path is relative to the directory and must stay inside it; a
// secret's from_file may be absolute (a mounted secret). A value read from
// a file loses one trailing newline, as `hookhost secret set` does. The
// value of a secret never appears in a manifest, a plan, a diff, a log
// line or the audit log.
//
// Every problem of every file is reported at once, with its file, line and
// column; a problem in an inline script or event KATA points into the YAML
// file, one in a .kata file into that file.
//
// # Identity and ownership
//
// Automations are matched by name, webhooks by name, secrets by name. A
// record that a manifest declares is owned by it: its owner is
// "manifest:<source>/<file>" (catalog.ManifestOwner; the source is the
// directory applied, Options.Source), the admin API refuses to change it
// (409 naming the file) unless forced, and the audit log names the file as
// the actor. An apply keeps or prunes only the records of its own source;
// records without a source ("manifest:<file>", applied before sources
// were recorded) are adopted by a source that declares them and pruned
// only by applies without a source. A record that exists without an owner and is
// declared by a manifest is adopted (an update of its owner; a webhook
// keeps its ID and token). A record a manifest owned that no file declares
// any more is kept (plan action "keep", with a warning) unless the apply
// prunes, which deletes it, if it is of the apply's source. A secret declared without a source is only
// required to exist: the manifest neither sets its value nor owns it.
//
// # Tokens
//
// A webhook's token is generated when the webhook is created and shown
// once in the plan. With token_secret: the token is the value of that
// secret (declared in the manifests, or set through the admin API), so
// that the webhook's URL survives its re-creation elsewhere; a new value
// of the secret is a new token at the next apply. Such a token must be 20
// to 128 characters of letters, digits, '-', '_', '.' and '~' (openssl
// rand -hex 20 makes one).
package manifest
