// Package packages imports Cerb-style JSON packages into hookhost.
//
// A package (spec/cerb.md §5) is a JSON document with a "package" header and
// a "records" array. [Import] decodes it strictly, checks its requirements,
// resolves the configure prompts and placeholders, renders the package
// placeholders of every record, validates the content, and returns a [Plan]
// that the host applies in one transaction. Import itself has no side
// effects: it touches neither the store nor any global state.
//
// # Accepted input
//
// Import takes either the package JSON as pasted, or an import request
// wrapping it with prompt answers:
//
//	{"package": {"package": {...}, "records": [...]}, "prompts": {"key": "answer"}}
//
// The two forms are told apart by the value of the "package" key: in a
// wrapper it is itself a package (an object holding "package" or "records").
//
// Only "package" and "records" are accepted at the top level. Cerb's other
// top-level arrays (bots, events, toolbars, workspaces, ...) are refused as
// not supported by hookhost, and any other key is refused as unknown.
//
// # Requirements
//
// requires.cerb_version is accepted and ignored: hookhost does not claim a
// Cerb version. requires.hookhost_version is compared with Options.Version
// (semver-like: "1.2", "v1.2.3", "1.3.0-rc.1"). requires.plugins and
// requires.extensions name extensions that must be loaded
// (Options.Extensions); "cerb.webhooks" is always satisfied.
//
// # Placeholders
//
// Only strings containing "{{{", "{{%" or "{{#" are rendered, with the
// package lexer: {{{ expr }}}, {{% tag %}} and {{# comment #}}. Everything
// else, including a script's own {{ ... }} and {% ... %}, is copied byte for
// byte. As in Cerb, the package syntax is Twig on other delimiters: it is
// rendered by the templates package (Options.Templates) exactly as scripts
// are, with the same filters and functions ({{{ key|lower }}},
// {{{ list|join(', ') }}}), the same printing rules (true prints 1, 0.1 +
// 0.2 prints 0.3), the same sandbox and the same limits. As in Twig, the
// first line feed after a {{% %}} tag or a {{# #}} comment is dropped.
//
// The values are the prompt keys, the placeholder keys, default.base_url
// (Options.BaseURL) and uid.<uid>, the hookhost id of the record with that
// uid: an automation's name, or a webhook's pre-generated UUIDv7 (the ID
// it already has, on an upgrade: Options.WebhookIDs). A uid that
// is not an identifier can be reached as uid["my-uid"].
//
// Prompt and placeholder keys must be identifiers; "default", "uid" and keys
// starting with "__" are reserved.
//
// A record whose rendered "_exclude" is not empty, "0" or "false" (ignoring
// case and surrounding spaces; a false comparison prints nothing) is
// dropped, and its uid.* value is empty.
//
// Records are rendered in this order: "_exclude" of every record (without
// uid.* values), then the names of automations (with uid.* of webhooks only),
// then every other field (with all uid.* values).
//
// # Export
//
// [Export] writes records back out in Cerb's format, without prompts or
// placeholders and with package markup in the text escaped
// ([EscapeMarkup]), so that importing it gives the same records.
package packages
