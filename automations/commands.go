package automations

import (
	"slices"
	"strings"

	"github.com/hookhost/hookhost/automations/kata"
	"github.com/hookhost/hookhost/templates/dict"
)

// This file is the command table: every name a script or a policy may use
// is one entry of commandTable, with its parameters, whether the policy
// checks it, how it compiles and how it runs. Adding a command is adding an
// entry here (and its implementation, in this file or a commands_*.go file);
// then `make docs` regenerates docs/reference.md from the same table. For an
// action command the entry is, e.g.:
//
//	{
//		CommandInfo: CommandInfo{Name: "example.echo", Form: FormAction, Supported: true, Policy: true,
//			Summary: "Returns its inputs.",
//			Inputs:  []ParamInfo{{Name: "text", Type: "text", Required: true, Summary: "the text"}}},
//		run: func(r *runner, n *node, in *dict.Map) (any, error) { return in, nil },
//	},

// CommandForm is how a command is written in a script.
type CommandForm string

// Command forms.
const (
	// FormFlow is a flow node (decision, outcome, repeat, while): its keys
	// are fixed and it holds other commands.
	FormFlow CommandForm = "flow"
	// FormValue is a command whose own value is its argument: `return:`,
	// `set:`, `log: text`.
	FormValue CommandForm = "value"
	// FormAction is a command written with `inputs:`, `output:`,
	// `on_success:` and `on_error:` (spec §2.5).
	FormAction CommandForm = "action"
)

// ParamInfo describes one key a command takes: a key of `inputs:` for an
// action command, or a key of a flow node.
type ParamInfo struct {
	Name     string
	Type     string // what the engine accepts, as the reference shows it
	Required bool   // compiling fails without it
	Summary  string
	// Refused, when not empty, makes the key a compile error: the key is
	// Cerb's but hookhost does not support it, and Refused says why (it
	// follows "`name:` " in the message).
	Refused string
	// Ignored keys are accepted and have no effect.
	Ignored bool
}

// CommandInfo describes one command or flow node of the language. It is the
// public view of the engine's command table (see Commands).
type CommandInfo struct {
	Name    string
	Form    CommandForm
	Summary string
	// Keys are the keys of a flow node (FormFlow); the flow node's compiler
	// checks them.
	Keys []ParamInfo
	// Inputs are the keys of `inputs:` of an action command (FormAction);
	// nil means any key (function:, extension commands).
	Inputs []ParamInfo
	// OutputRequired: compiling an action command fails without `output:`.
	OutputRequired bool
	// URI: the action command requires `uri:` (function:); the policy's
	// command dictionary then has `uri` too.
	URI bool
	// Policy: the policy gate checks the command before it runs (spec §6,
	// Cerb's list of side-effect commands).
	Policy bool
	// Supported is false for Cerb commands hookhost does not run: a script
	// that uses one fails to compile (unless an extension provides it), but
	// a policy may name it.
	Supported bool
}

// commandDef is one entry of the command table: the public description and
// the engine's functions. Entries are never modified.
type commandDef struct {
	CommandInfo

	// flow is the node kind of a flow node; kCommand for commands.
	flow nodeKind
	// keyAnnotation allows `name@key:` on the command key (return@key).
	keyAnnotation bool
	// deny is the policy's denial message; "" gives "The automation policy
	// does not allow this command (<name>)."
	deny string
	// refused, when set, makes a script that uses the command fail to
	// compile with this reason (Cerb refuses it when saved).
	refused string

	// compile compiles a FormValue command (its own value, checks); nil for
	// FormAction commands, which compileAction compiles from CommandInfo.
	compile func(c *compiler, n *node, k *kata.Node)
	// exec runs a FormValue command; it returns true when the run ended.
	exec func(r *runner, n *node) bool
	// run runs a FormAction command with its rendered inputs; the result is
	// stored in `output:`, and an error goes to `on_error:`.
	run func(r *runner, n *node, in *dict.Map) (any, error)
}

// keyInput is the key: input of the var.* and storage.* commands.
func keyInput(summary string) ParamInfo {
	return ParamInfo{Name: "key", Type: "text", Required: true, Summary: summary}
}

// delimiterInput is the delimiter: input of the var.* commands.
func delimiterInput() ParamInfo {
	return ParamInfo{Name: "delimiter", Type: "text", Summary: "separator of the key path (default `:`)"}
}

// logCommand is the entry of a log command writing at level: `log: text`,
// or `log:` with a `message:` key (Cerb's schema allows it). Empty text,
// and "0" (PHP's empty()), is skipped.
func logCommand(name string, level int, summary string) commandDef {
	return commandDef{
		CommandInfo: CommandInfo{Name: name, Form: FormValue, Supported: true, Summary: summary},
		compile: func(c *compiler, n *node, k *kata.Node) {
			if k.Kind == kata.Object {
				for _, ch := range k.Children {
					if ch.Key != "message" {
						c.errorf(ch.Pos, "Unexpected key `%s:` in `%s`; expected `message:`", ch.Key, n.id)
					}
				}
				if m := k.Child("message"); m != nil {
					n.val = c.vc.compile(m, false)
				}
				return
			}
			n.val = c.vc.compile(k, false)
		},
		exec: func(r *runner, n *node) bool {
			if msg := toString(r.eval(n.val)); msg != "" && msg != "0" {
				r.log(level, n.id, msg)
			}
			return r.done
		},
	}
}

// cerbOnly is the entry of a Cerb command hookhost does not run.
func cerbOnly(name string, policy bool, summary string) commandDef {
	return commandDef{CommandInfo: CommandInfo{Name: name, Form: FormAction, Policy: policy, Summary: summary}}
}

// compileValue compiles the command's own value.
func compileValue(c *compiler, n *node, k *kata.Node) { n.val = c.vc.compile(k, false) }

// compileReturn compiles return:. In a webhook.respond script a literal
// status_code that no HTTP answer can have (outside 200–599, text that is
// not a number, empty: Cerb's PHP crashes on those) is refused when saved;
// a templated one that renders invalid is answered 500 and logged.
func compileReturn(c *compiler, n *node, k *kata.Node) {
	n.val = c.vc.compile(k, false)
	if !c.webhook || n.val == nil || !n.val.object {
		return
	}
	for _, ch := range n.val.children {
		if ch.key != "status_code" {
			continue
		}
		if ch.object && !ch.raw {
			c.errorf(ch.node.Pos, "`status_code:` must be a number from 200 to 599, not a dictionary (`%s`)", n.id)
			continue
		}
		if !ch.folded || !ch.konstKeep || ch.konst == nil {
			continue
		}
		if _, ok := statusCode(ch.konst); !ok {
			c.errorf(valuePos(ch.node), "`status_code:` must be a number from 200 to 599, not %q (`%s`)", toString(ch.konst), n.id)
		}
	}
}

// commandTable is every command and flow node, in the reference's order. It
// is never modified.
var commandTable = [...]commandDef{
	// Flow nodes (spec §2.3). Their compilers are structural (compile.go).
	{
		CommandInfo: CommandInfo{Name: "decision", Form: FormFlow, Supported: true,
			Summary: "Runs the `then:` of the first `outcome/*` child whose `if:` is absent or true, then continues after the decision; when none matches, nothing runs.",
			Keys: []ParamInfo{
				{Name: "outcome/<name>", Type: "outcome", Summary: "the branches, tested in order; any other child is an error"},
			}},
		flow: kDecision,
	},
	{
		CommandInfo: CommandInfo{Name: "outcome", Form: FormFlow, Supported: true,
			Summary: "A branch of a decision; outside a decision, a plain if: runs `then:` when `if:` is absent or true.",
			Keys: []ParamInfo{
				{Name: "if", Type: "bool", Summary: "the condition, PHP truthiness (write `if@bool:`: without it `no` and `false` are true)"},
				{Name: "then", Type: "commands", Summary: "the commands to run"},
			}},
		flow: kOutcome,
	},
	{
		CommandInfo: CommandInfo{Name: "repeat", Form: FormFlow, Supported: true,
			Summary: "Runs `do:` once per item of `each:`; the `as:` variables are removed afterwards.",
			Keys: []ParamInfo{
				{Name: "each", Type: "list or dictionary", Required: true, Summary: "the items (usually `each@csv:`, `@json`, `@list` or `@key`); anything else means no pass"},
				{Name: "as", Type: "text", Required: true, Summary: "`item` sets `item` and `item__index`; `k, v` sets the key and the value"},
				{Name: "do", Type: "commands", Required: true, Summary: "the commands to run for each item"},
			}},
		flow: kRepeat,
	},
	{
		CommandInfo: CommandInfo{Name: "while", Form: FormFlow, Supported: true,
			Summary: "Runs `do:` while `if:` is true; `if:` is checked again before every command of `do:` (Cerb), and only the time and step limits bound the loop.",
			Keys: []ParamInfo{
				{Name: "if", Type: "bool or text", Required: true, Summary: "the condition; any other type ends the run in error"},
				{Name: "do", Type: "commands", Required: true, Summary: "the commands to run"},
			}},
		flow: kWhile,
	},

	// Exit and state commands (spec §2.4).
	{
		CommandInfo: CommandInfo{Name: "return", Form: FormValue, Supported: true,
			Summary: "Ends the run in `return` with its rendered value as the output (text becomes `{\"\": text}`); `return@key: path` returns the dictionary value at a `:` path. For webhooks the output's `status_code`, `headers` and `body` are the response."},
		keyAnnotation: true,
		compile:       compileReturn,
		exec:          (*runner).doReturn,
	},
	{
		CommandInfo: CommandInfo{Name: "error", Form: FormValue, Supported: true,
			Summary: "Ends the run in `error`: `error: message`, or `_message:` plus extra keys that become the output (default message `An unexpected error occurred.`)."},
		compile: compileValue,
		exec:    (*runner).doError,
	},
	{
		CommandInfo: CommandInfo{Name: "await", Form: FormValue, Supported: true,
			Summary: "Ends the run in `await` with its value as the output. hookhost never resumes a run: a webhook.respond automation is answered from that output as from `return:` (as Cerb's webhook controller answers from it)."},
		compile: compileReturn,
		exec: func(r *runner, n *node) bool {
			v := r.eval(n.val)
			if r.done {
				return true
			}
			r.done = true
			r.res.Exit = ExitAwait
			r.res.Return = asReturn(v)
			return true
		},
	},

	// Data and logging commands (spec §2.4).
	{
		CommandInfo: CommandInfo{Name: "set", Form: FormValue, Supported: true,
			Summary: "Sets each child key as a top-level key of the dictionary, in order (a later key sees the earlier ones); `a.b` is a literal key name."},
		compile: func(c *compiler, n *node, k *kata.Node) {
			if k.Kind != kata.Object {
				c.errorf(k.Pos, "`%s` must hold the keys to set", n.id)
				return
			}
			n.val = c.vc.compile(k, false)
		},
		exec: (*runner).set,
	},
	{
		CommandInfo: CommandInfo{Name: "var.set", Form: FormAction, Supported: true,
			Summary: "Writes `value` at the key path, creating missing levels on the way; the output is the value, or false when the path runs into a text or number before its end (nothing is written then, as in Cerb).",
			Inputs: []ParamInfo{
				keyInput("the key path, e.g. `order:items:0`"),
				{Name: "value", Type: "text, number, list or dictionary", Required: true, Summary: "the value to write (Cerb refuses a boolean: `'inputs:value:' must be a string or array (boolean).`)"},
				delimiterInput(),
			}},
		run: (*runner).varSet,
	},
	{
		CommandInfo: CommandInfo{Name: "var.push", Form: FormAction, Supported: true,
			Summary: "Appends `value` to the list at the key path (`:` separated; a text or number there becomes a one-item list; a dictionary value is merged into it key by key, as Cerb's setPush); the output is the new list.",
			Inputs: []ParamInfo{
				keyInput("the key path of the list"),
				{Name: "value", Type: "any", Summary: "the value to append"},
			}},
		run: (*runner).varPush,
	},
	{
		CommandInfo: CommandInfo{Name: "var.unset", Form: FormAction, Supported: true,
			Summary: "Removes one key path (`:` separated) or a list of them; the output says whether it was removed (for a list, a dictionary of key → whether it was).",
			Inputs: []ParamInfo{
				{Name: "key", Type: "text or list", Required: true, Summary: "the key path, or a list of key paths"},
			}},
		run: (*runner).varUnset,
	},
	{
		CommandInfo: CommandInfo{Name: "var.expand", Form: FormAction, Supported: true,
			Summary: "Loads lazy record keys in Cerb; hookhost has none, so it does nothing (its inputs are checked as Cerb checks them when saved).",
			Inputs: []ParamInfo{
				{Name: "key", Type: "text", Summary: "the key holding the records (default: the whole dictionary)"},
				{Name: "paths", Type: "text or list", Required: true, Summary: "the keys to load"},
			}},
		run: func(*runner, *node, *dict.Map) (any, error) { return noOutput{}, nil },
	},
	logCommand("log", 7, "Writes the rendered text to the run log at level 7 (debug); empty text is skipped."),
	logCommand("log.warn", 4, "Writes the rendered text to the run log at level 4 (warning); empty text is skipped."),
	logCommand("log.error", 3, "Writes the rendered text to the run log at level 3 (error); empty text is skipped."),
	{
		CommandInfo: CommandInfo{Name: "log.alert", Form: FormValue,
			Summary: "Cerb's runtime has it (level 1), but Cerb 10.4 refuses a script that uses it when saved (its script schema has no `log.alert:`); use `log.error:`."},
		refused: "is refused by Cerb 10.4 when saved (its script schema has no `log.alert:`); use `log.error:`",
	},
	{
		CommandInfo: CommandInfo{Name: "kata.parse", Form: FormAction, Supported: true, OutputRequired: true,
			Summary: "Parses KATA text as generic KATA (`.` key paths), rendering it with `dict:` as placeholders; the output is the tree.",
			Inputs: []ParamInfo{
				{Name: "kata", Type: "text or dictionary", Required: true, Summary: "the KATA text (at most 1,024,000 characters; write `kata@raw:` to keep placeholders for `dict:`), or a tree, returned as it is"},
				{Name: "dict", Type: "dictionary", Summary: "the placeholders' values"},
				{Name: "schema", Type: "any", Summary: "accepted; hookhost does not validate against it"},
			}},
		run: (*runner).kataParse,
	},

	// Side-effect commands: the policy checks them (spec §2.4, §6).
	{
		CommandInfo: CommandInfo{Name: "http.request", Form: FormAction, Supported: true, Policy: true, OutputRequired: true,
			Summary: "Sends an HTTP request; the output is `{status_code, content_type, headers, body, url}` as Cerb builds it (content_type is the media type in lower case; headers in the server's order over plain HTTP; a binary body as a `data:` URI with `is_data_uri`). A transport failure or a status of 400 or more is a command error, worded as Cerb's (`Client error: `GET <url>` resulted in a `404 Not Found` response: ...`).",
			Inputs: []ParamInfo{
				{Name: "url", Type: "text", Required: true, Summary: "an http or https URL, at most 2048 characters"},
				{Name: "method", Type: "text", Summary: "GET (default), PUT, POST, PATCH, DELETE, OPTIONS or HEAD"},
				{Name: "headers", Type: "dictionary or text", Summary: "a dictionary, or `Name: value` lines; at most 8192 characters"},
				{Name: "body", Type: "text, list or dictionary", Summary: "a list or dictionary is sent as Cerb sends it: pretty-printed JSON when Content-Type is application/json, else form-encoded as PHP's http_build_query (the default Content-Type)"},
				{Name: "timeout", Type: "number", Summary: "seconds, 0–60 (0: the run's time limit)"},
				{Name: "authentication", Refused: "(Cerb connected accounts) is not supported; send credentials with `headers:` instead"},
				{Name: "response", Ignored: true, Summary: "Cerb's response options; accepted and ignored"},
			}},
		run: (*runner).httpRequest,
	},
	{
		CommandInfo: CommandInfo{Name: "function", Form: FormAction, Supported: true, Policy: true, URI: true,
			Summary: "Runs the automation.function automation named by `uri: cerb:automation:<name>` with `inputs:`; the output is its return dictionary, and a function that ends in error is a command error."},
		deny: "The automation policy does not allow the `function:` command.",
		run:  (*runner).function,
	},
	{
		CommandInfo: CommandInfo{Name: "storage.get", Form: FormAction, Supported: true, Policy: true,
			Summary: "Reads a key of the automation key/value store; a missing key gives `default`, or the error `Failed to load the key (<key>)`.",
			Inputs: []ParamInfo{
				keyInput("the key"),
				{Name: "default", Type: "any", Summary: "the output when the key is missing"},
			}},
		run: (*runner).storageGet,
	},
	{
		CommandInfo: CommandInfo{Name: "storage.set", Form: FormAction, Supported: true, Policy: true,
			Summary: "Stores `value` under a key of the automation key/value store; the output is true.",
			Inputs: []ParamInfo{
				keyInput("the key"),
				{Name: "value", Type: "any", Summary: "the value to store"},
				{Name: "expires", Type: "date", Summary: "when the key expires: a Unix time or a date such as `+1 hour`"},
			}},
		run: (*runner).storageSet,
	},
	{
		CommandInfo: CommandInfo{Name: "storage.delete", Form: FormAction, Supported: true, Policy: true,
			Summary: "Deletes a key of the automation key/value store; the output says whether the key existed.",
			Inputs: []ParamInfo{
				keyInput("the key"),
			}},
		run: (*runner).storageDelete,
	},

	// Cerb commands hookhost does not run: policies may name them.
	cerbOnly("api.command", true, "Cerb: runs an API command."),
	cerbOnly("data.query", true, "Cerb: runs a data query."),
	cerbOnly("decrypt.pgp", true, "Cerb: decrypts a PGP message."),
	cerbOnly("email.parse", true, "Cerb: parses an email message."),
	cerbOnly("encrypt.pgp", true, "Cerb: encrypts a PGP message."),
	cerbOnly("file.read", true, "Cerb: reads an attachment or automation resource."),
	cerbOnly("file.write", true, "Cerb: writes an automation resource."),
	cerbOnly("metric.increment", true, "Cerb: increments a metric."),
	cerbOnly("queue.pop", true, "Cerb: pops items from a queue."),
	cerbOnly("queue.push", true, "Cerb: pushes items to a queue."),
	cerbOnly("record.create", true, "Cerb: creates a record."),
	cerbOnly("record.delete", true, "Cerb: deletes a record."),
	cerbOnly("record.get", true, "Cerb: reads a record."),
	cerbOnly("record.search", true, "Cerb: searches records."),
	cerbOnly("record.update", true, "Cerb: updates a record."),
	cerbOnly("record.upsert", true, "Cerb: creates or updates a record."),

	// Simulation (spec §2.5): only inside on_simulate:, which only a
	// simulated run (a dry run) runs.
	{
		CommandInfo: CommandInfo{Name: "simulate.success", Form: FormValue, Supported: true,
			Summary: "Only inside `on_simulate:`: sets the output of the command whose `on_simulate:` it is to its rendered value and runs that command's `on_success:`; the run then continues after the command. Only a simulated run (a dry run) runs `on_simulate:`."},
		compile: compileSimulated,
		exec:    func(r *runner, n *node) bool { return r.simulated(n, true) },
	},
	{
		CommandInfo: CommandInfo{Name: "simulate.error", Form: FormValue, Supported: true,
			Summary: "Only inside `on_simulate:`: sets the output of the command whose `on_simulate:` it is to its rendered value and runs that command's `on_error:` (when it has none, nothing fails, as in Cerb); the run then continues after the command. Only a simulated run (a dry run) runs `on_simulate:`."},
		compile: compileSimulated,
		exec:    func(r *runner, n *node) bool { return r.simulated(n, false) },
	},
}

// extensionCommand is the entry of every command an extension provides
// (Options.Commands): any inputs, checked by the policy.
var extensionCommand = commandDef{
	CommandInfo: CommandInfo{Form: FormAction, Supported: true, Policy: true,
		Summary: "A command provided by an extension; it runs in the extension's process."},
	run: (*runner).extension,
}

// lookupCommand returns the table entry named name, or nil.
func lookupCommand(name string) *commandDef {
	for i := range commandTable {
		if commandTable[i].Name == name {
			return &commandTable[i]
		}
	}
	return nil
}

// Commands lists the flow nodes and commands of the language, including the
// Cerb commands hookhost does not run (Supported false), in the reference's
// order. Extension commands are not listed: they depend on the extensions
// loaded. The result is a copy.
func Commands() []CommandInfo {
	out := make([]CommandInfo, len(commandTable))
	for i, d := range commandTable {
		out[i] = d.CommandInfo
		out[i].Keys = slices.Clone(d.Keys)
		out[i].Inputs = slices.Clone(d.Inputs)
	}
	return out
}

// inputNames lists the names of the inputs a script may write (neither
// refused nor ignored), for error messages.
func (d *commandDef) inputNames() string {
	names := make([]string, 0, len(d.Inputs))
	for _, p := range d.Inputs {
		if p.Refused == "" && !p.Ignored {
			names = append(names, p.Name)
		}
	}
	return strings.Join(names, ", ")
}

// input returns the input named name, or nil.
func (d *commandDef) input(name string) *ParamInfo {
	for i := range d.Inputs {
		if d.Inputs[i].Name == name {
			return &d.Inputs[i]
		}
	}
	return nil
}

// expectedKeys lists a flow node's keys for error messages: "`if:` or
// `then:`", "`each:`, `as:` or `do:`".
func (d *commandDef) expectedKeys() string {
	var b strings.Builder
	for i, p := range d.Keys {
		switch {
		case i == 0:
		case i == len(d.Keys)-1:
			b.WriteString(" or ")
		default:
			b.WriteString(", ")
		}
		b.WriteString("`" + p.Name + ":`")
	}
	return b.String()
}
